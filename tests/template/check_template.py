"""Static checks of template.yaml after the SAM transform (run by .ci/run with
the SAM CLI's venv): what cfn-lint cannot know about this product's intent.

    .venv-tools/bin/python tests/template/check_template.py
"""
import json
import os
import re
import sys

import yaml
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "template.yaml")
OPENAPI = os.path.join(HERE, "..", "..", "openapi.yaml")


class NoManagedPolicies:
    def load(self, *args, **kwargs):
        return {}


def transformed():
    template = yaml_parse(open(TEMPLATE).read())
    # The SAM CLI uploads the built code and rewrites CodeUri; do the same.
    template["Resources"]["TokenVendorFunction"]["Properties"]["CodeUri"] = "s3://bucket/token-vendor.zip"
    try:
        return template, transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        sys.exit("template does not transform: %s" % [str(c) for c in e.causes])


failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


source, out = transformed()
resources = out["Resources"]
function = resources["TokenVendorFunction"]["Properties"]
env = function["Environment"]["Variables"]

check(function["Runtime"] == "provided.al2023", "runtime is provided.al2023")
check(function["Architectures"] == ["arm64"], "architecture is arm64")
check(function["Handler"] == "bootstrap", "handler is bootstrap")
check(source["Resources"]["TokenVendorFunction"]["Metadata"]["BuildMethod"] == "rust-cargolambda",
      "built with cargo-lambda")
check(function["Timeout"] == 15, "function timeout 15 s (README, src/deadline.rs LOCAL_BUDGET)")
check(set(env) == {"CAS_URL", "SECRET_ID", "SECRET_MAX_AGE_S", "ALLOWED_ORIGINS", "UPSTREAM_TIMEOUT_MS", "AIPIX_URL", "AIPIX_STREAMS",
                   "AIPIX_RIGHTS", "AIPIX_MAX_TTL", "AIPIX_DEFAULT_TTL", "AIPIX_ALLOW_UNLIMITED",
                   "LIVEKIT_URL", "LIVEKIT_ROOMS", "LIVEKIT_GRANTS", "LIVEKIT_TTL_S", "LIVEKIT_ROOM_CONFIG",
                   "LIVEKIT_IDENTITY", "AGORA_APP_ID", "AGORA_CHANNELS", "AGORA_ROLES", "AGORA_TTL_S",
                   "AGORA_MAX_TTL_S", "AGORA_IDENTITY", "TWILIO_ACCOUNT_SID", "TWILIO_ROOMS", "TWILIO_TTL_S",
                   "TWILIO_IDENTITY", "VONAGE_APPLICATION_ID", "VONAGE_ROLES", "VONAGE_TTL_S", "VONAGE_DATA",
                   "ROOMS_TABLE", "ROOM_REFRESH_MARGIN_S", "ROOM_TTL_S", "EXTRA_CA_CERTS",
                   "QUOTA", "QUOTA_TABLE", "QUOTA_FAIL", "BANS_TABLE", "BANS_FAIL", "ADMIN_PRINCIPALS",
                   "METRICS_NAMESPACE"},
      "environment carries configuration only, no credentials")

role = resources["TokenVendorFunctionRole"]["Properties"]
statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
secret_ref = {"Fn::If": ["CreateSecret", {"Ref": "CasSecret"}, {"Ref": "ExistingSecretArn"}]}
read = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadTheCasSecretOnly"]
check(len(read) == 1 and read[0]["Action"] == "secretsmanager:GetSecretValue" and read[0]["Resource"] == secret_ref,
      "IAM: GetSecretValue on the one secret only")
check(len(statements) == 5,
      "IAM: exactly five statements of our own (the secret, the rooms and bans tables, the optional quota table and key)")
quota = [s for s in statements if isinstance(s, dict) and "Fn::If" in s and s["Fn::If"][0] == "HasQuota"]
check(len(quota) == 1 and quota[0]["Fn::If"][1] == {"Sid": "CountInTheQuotaTableOnly", "Effect": "Allow",
                                                    "Action": "dynamodb:UpdateItem",
                                                    "Resource": {"Fn::GetAtt": ["QuotaTable", "Arn"]}}
      and quota[0]["Fn::If"][2] == {"Ref": "AWS::NoValue"},
      "IAM: UpdateItem on the quota table only, and only with a quota")
quota_table = resources["QuotaTable"]
check(quota_table.get("Condition") == "HasQuota", "quota table only with a quota")
check(quota_table["Properties"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
      and quota_table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
      and quota_table["Properties"]["BillingMode"] == "PAY_PER_REQUEST",
      "quota table: partition key pk, TTL on expiresAt, on demand")
check(env["QUOTA"] == {"Ref": "QuotaPerCaller"} and env["QUOTA_TABLE"] == {"Fn::If": ["HasQuota", {"Ref": "QuotaTable"}, ""]},
      "QUOTA and QUOTA_TABLE come from QuotaPerCaller (empty = off)")
check(source["Parameters"]["QuotaPerCaller"]["Default"] == "", "no quota unless asked for")
check(env["QUOTA_FAIL"] == {"Ref": "QuotaFail"} and source["Parameters"]["QuotaFail"]["AllowedValues"] == ["open", "closed"]
      and source["Parameters"]["QuotaFail"]["Default"] == "open", "QUOTA_FAIL from QuotaFail: open (default) or closed")
check(source["Conditions"]["HasQuota"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "QuotaPerCaller"}, ""]}]},
      "HasQuota: QuotaPerCaller is not empty")
rooms = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadAndWriteRoomsOnly"]
# Exactly the actions src/rooms/store.rs calls (get_item, update_item).
check(len(rooms) == 1 and sorted(rooms[0]["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      and rooms[0]["Resource"] == {"Fn::GetAtt": ["RoomsTable", "Arn"]},
      "IAM: GetItem, UpdateItem on the rooms table only")
table = resources["RoomsTable"]["Properties"]
check(table["BillingMode"] == "PAY_PER_REQUEST", "rooms table on demand")
check(table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}, "rooms table TTL on expiresAt")
check(table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, "rooms table point-in-time recovery")
check(table["KeySchema"] == [{"AttributeName": "room", "KeyType": "HASH"}], "rooms table partition key room")
bans = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadAndWriteBansOnly"]
# Exactly the actions src/bans/store.rs calls (get_item, put_item, delete_item).
check(len(bans) == 1 and sorted(bans[0]["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      and bans[0]["Effect"] == "Allow" and bans[0]["Resource"] == {"Fn::GetAtt": ["BansTable", "Arn"]},
      "IAM: GetItem, UpdateItem on the bans table only")
check(sum("BansTable" in json.dumps(s) for s in statements) == 1, "IAM: no other statement names the bans table")
bans_table = resources["BansTable"]
check("Condition" not in bans_table and bans_table["DeletionPolicy"] == "Retain"
      and bans_table["UpdateReplacePolicy"] == "Retain",
      "bans table always exists, and outlives the stack like the rooms table")
table = bans_table["Properties"]
check(table["BillingMode"] == "PAY_PER_REQUEST", "bans table on demand")
check(table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
      and table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}],
      "bans table partition key id (S), as src/bans/store.rs BanStore::KEY")
check(table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}, "bans table TTL on expiresAt")
check(table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, "bans table point-in-time recovery")
check(table["SSESpecification"] == resources["RoomsTable"]["Properties"]["SSESpecification"] == {"SSEEnabled": True},
      "bans table encrypted as the rooms table")
check(env["BANS_TABLE"] == {"Ref": "BansTable"}, "BANS_TABLE is the bans table (bans always on under Lambda)")
check(env["BANS_FAIL"] == {"Ref": "BansFail"} and source["Parameters"]["BansFail"]["AllowedValues"] == ["closed", "open"]
      and source["Parameters"]["BansFail"]["Default"] == "closed", "BANS_FAIL from BansFail: closed (default) or open")
check(env["ADMIN_PRINCIPALS"] == {"Ref": "AdminPrincipals"} and source["Parameters"]["AdminPrincipals"]["Default"] == ""
      and "ADMIN_TOKEN" not in env,
      "ADMIN_PRINCIPALS from AdminPrincipals (empty = any IAM-authorized caller); no ADMIN_TOKEN under Lambda")
kms = [s for s in statements if isinstance(s, dict) and "Fn::If" in s and s["Fn::If"][0] != "HasQuota"]
check(len(kms) == 1 and kms[0]["Fn::If"][0] == "HasKmsKey", "IAM: kms:Decrypt only when a key is given")
# SAM adds X-Ray's write-only policy whenever Tracing is a parameter (it
# cannot know the value); it lets the function send trace segments, nothing else.
check(role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                                    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"],
      "IAM: basic execution role and X-Ray write-only (for TracingMode), nothing broader")

api = resources["TokenApi"]["Properties"]["Body"]
cors = api["x-amazon-apigateway-cors"]
check(cors.get("allowOrigins") == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]},
      "API CORS origins come from the same AllowedOrigins parameter")
check(cors.get("allowMethods") == ["GET", "POST", "PUT", "OPTIONS"], "API CORS methods")
check(set(cors.get("allowHeaders", [])) >= {"content-type", "authorization"}, "API CORS headers")
check(set(cors.get("exposeHeaders", [])) == {"retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"},
      "API CORS exposes the quota headers to pages")
check(env["ALLOWED_ORIGINS"] == {"Ref": "AllowedOrigins"}, "function origins come from AllowedOrigins")
check(env["EXTRA_CA_CERTS"] == {"Ref": "ExtraCaCerts"}, "EXTRA_CA_CERTS comes from ExtraCaCerts")
check(source["Parameters"]["ExtraCaCerts"]["Default"] == "", "no extra CA unless asked for (empty = unset)")
check(function.get("Layers") == {"Fn::If": ["HasCaLayer", [{"Ref": "ExtraCaCertsLayerArn"}], {"Ref": "AWS::NoValue"}]},
      "the CA layer is attached only when ExtraCaCertsLayerArn is set")
paths = api["paths"]
ROUTES = {"/token": {"get", "post"}, "/streams/{stream}/token": {"get", "post"},
          "/rooms": {"post"}, "/rooms/{name}": {"get", "put"}, "/livekit/token": {"post"},
          "/agora/token": {"post"}, "/twilio/token": {"post"}, "/vonage/token": {"post"}}
check(set(paths) == set(ROUTES) and all(set(paths[p]) == m for p, m in ROUTES.items()),
      "routes: %s, no OPTIONS route (preflights never meet the authorizer)" % ROUTES)
for route, methods in ROUTES.items():
    for method in sorted(methods):
        operation = paths[route][method]
        check("x-amazon-apigateway-integration" in operation, "%s %s is integrated with the function" % (method.upper(), route))
        check(operation["security"] == {"Fn::If": ["HasAuthorizer", [{"jwt": []}], []]},
              "%s %s uses the JWT authorizer only when JwtIssuer is set" % (method.upper(), route))
check(api["components"]["securitySchemes"]["Fn::If"][0] == "HasAuthorizer", "the authorizer exists only when JwtIssuer is set")

# The admin routes: a second HTTP API, IAM-authorized, without CORS.
admin = resources["AdminApi"]["Properties"]["Body"]
admin_source = source["Resources"]["AdminApi"]["Properties"]
check("CorsConfiguration" not in admin_source and "x-amazon-apigateway-cors" not in admin,
      "admin API: no CORS configuration (API Gateway answers no preflight, adds no CORS header)")
check("jwt" not in json.dumps(admin) and "HasAuthorizer" not in json.dumps(admin),
      "admin API: no JWT authorizer, whatever JwtIssuer says")
check(admin["components"]["securitySchemes"] == {"AWS_IAM": {"type": "apiKey", "name": "Authorization", "in": "header",
                                                             "x-amazon-apigateway-authtype": "awsSigv4"}},
      "admin API: the one security scheme is IAM (SigV4)")
check(admin_source["Auth"] == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"},
      "admin API: IAM is also the default, for any route added later")
check(not any(s.get("x-amazon-apigateway-endpoint-configuration") for s in admin.get("servers", [])),
      "admin API: its execute-api URL stays on (DisableExecuteApiEndpoint is the token API's)")
ADMIN_ROUTES = {"/admin/bans/{identity}": {"get", "put", "delete"}, "/admin/rooms/{name}": {"delete"}}
admin_paths = admin["paths"]
check(set(admin_paths) == set(ADMIN_ROUTES) and all(set(admin_paths[p]) == m for p, m in ADMIN_ROUTES.items()),
      "admin routes: %s, no OPTIONS route" % ADMIN_ROUTES)
check(not any(p.startswith("/admin") for p in paths), "the token API has no admin route")
integration = paths["/token"]["get"]["x-amazon-apigateway-integration"]
for route, methods in ADMIN_ROUTES.items():
    for method in sorted(methods):
        operation = admin_paths.get(route, {}).get(method, {})
        check(operation.get("security") == [{"AWS_IAM": []}], "%s %s is IAM-authorized" % (method.upper(), route))
        check(operation.get("x-amazon-apigateway-integration") == integration,
              "%s %s goes to the function as the token routes do (payload 2.0, same timeout)" % (method.upper(), route))
check(integration["payloadFormatVersion"] == "2.0" and integration["timeoutInMillis"] == 29000,
      "integrations: payload format 2.0, 29 s")

# Every operation of openapi.yaml is routed (preflights aside: API Gateway
# answers them from the CORS configuration), on the API it belongs to.
described = yaml.safe_load(open(OPENAPI))["paths"]
described = {p: {m for m in ops if m in ("get", "put", "post", "delete", "patch", "head")}
             for p, ops in described.items()}
routed = {p: set(m) for p, m in list(paths.items()) + list(admin_paths.items())}
check(described == routed, "openapi.yaml's operations are the template's routes (missing from the template: %s, "
      "not in openapi.yaml: %s)"
      % (sorted((p, m) for p, ms in described.items() for m in ms - routed.get(p, set())),
         sorted((p, m) for p, ms in routed.items() for m in ms - described.get(p, set()))))

permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]


def invoked(api_id):
    return sorted(p["SourceArn"]["Fn::Sub"][0].split("${__Stage__}/", 1)[1] for p in permissions
                  if p["SourceArn"]["Fn::Sub"][1]["__ApiId__"] == {"Ref": api_id})


arns = invoked("TokenApi")
check(arns == ["GET/rooms/*", "GET/streams/*/token", "GET/token", "POST/agora/token", "POST/livekit/token",
              "POST/rooms", "POST/streams/*/token", "POST/token", "POST/twilio/token", "POST/vonage/token",
              "PUT/rooms/*"],
      "invoke permission covers exactly the eleven token routes: %s" % arns)
admin_arns = invoked("AdminApi")
check(admin_arns == ["DELETE/admin/bans/*", "DELETE/admin/rooms/*", "GET/admin/bans/*", "PUT/admin/bans/*"],
      "invoke permission covers exactly the four admin routes: %s" % admin_arns)
check(len(arns) + len(admin_arns) == len(permissions), "no other invoke permission")
params = source["Parameters"]
check(all(env[v] == {"Ref": p} for v, p in [("LIVEKIT_URL", "LiveKitUrl"), ("LIVEKIT_ROOMS", "LiveKitRooms"),
                                            ("LIVEKIT_GRANTS", "LiveKitGrants"), ("LIVEKIT_TTL_S", "LiveKitTtlSeconds"),
                                            ("LIVEKIT_ROOM_CONFIG", "LiveKitRoomConfig"),
                                            ("LIVEKIT_IDENTITY", "LiveKitIdentity")])
      and params["LiveKitUrl"]["Default"] == "" and params["LiveKitIdentity"]["Default"] == "caller"
      and params["LiveKitRoomConfig"]["Default"] == "false",
      "LIVEKIT_* from the LiveKit parameters: off by default, the caller's identity, no room_config")
check(all(env[v] == {"Ref": p} for v, p in [("AGORA_APP_ID", "AgoraAppId"), ("AGORA_CHANNELS", "AgoraChannels"),
                                            ("AGORA_ROLES", "AgoraRoles"), ("AGORA_TTL_S", "AgoraTtlSeconds"),
                                            ("AGORA_MAX_TTL_S", "AgoraMaxTtlSeconds"),
                                            ("AGORA_IDENTITY", "AgoraIdentity")])
      and params["AgoraAppId"]["Default"] == "" and params["AgoraIdentity"]["Default"] == "caller",
      "AGORA_* from the Agora parameters: off by default, the caller's identity")
check(all(env[v] == {"Ref": p} for v, p in [("TWILIO_ACCOUNT_SID", "TwilioAccountSid"), ("TWILIO_ROOMS", "TwilioRooms"),
                                            ("TWILIO_TTL_S", "TwilioTtlSeconds"),
                                            ("TWILIO_IDENTITY", "TwilioIdentity")])
      and params["TwilioAccountSid"]["Default"] == "" and params["TwilioIdentity"]["Default"] == "caller"
      and params["TwilioTtlSeconds"]["Default"] == "3600",
      "TWILIO_* from the Twilio parameters: off by default, the caller's identity, an hour")
check(all(env[v] == {"Ref": p} for v, p in [("VONAGE_APPLICATION_ID", "VonageApplicationId"),
                                            ("VONAGE_ROLES", "VonageRoles"), ("VONAGE_TTL_S", "VonageTtlSeconds"),
                                            ("VONAGE_DATA", "VonageData")])
      and params["VonageApplicationId"]["Default"] == "" and params["VonageData"]["Default"] == "false"
      and params["VonageRoles"]["Default"] == "subscriber,publisher" and params["VonageTtlSeconds"]["Default"] == "3600",
      "VONAGE_* from the Vonage parameters: off by default, subscriber and publisher, an hour, no caller data")
# Each parameter's values against the binary's own check: check_parameters.py.
# SAM moves the property into the definition's servers entry.
endpoint = [s.get("x-amazon-apigateway-endpoint-configuration") for s in api.get("servers", [])]
check(endpoint == [{"disableExecuteApiEndpoint": {"Fn::If": ["ExecuteApiDisabled", True, False]}}]
      and source["Conditions"]["ExecuteApiDisabled"] == {"Fn::Equals": [{"Ref": "DisableExecuteApiEndpoint"}, "true"]}
      and params["DisableExecuteApiEndpoint"]["Default"] == "false",
      "DisableExecuteApiEndpoint: the execute-api URL stays on unless asked (custom domain or CloudFront in front)")
check(function.get("ReservedConcurrentExecutions") == {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"},
                                                                  {"Ref": "AWS::NoValue"}]}
      and params["ReservedConcurrency"]["Default"] == ""
      and not re.match(params["ReservedConcurrency"]["AllowedPattern"], "0"),
      "ReservedConcurrency: reserved only when set, and never 0 (which would throttle every call)")
rules = source["Rules"]
check("LiveKitUrl" in str(rules["SomeProvider"]) and "LiveKitRoomsWithUrl" in rules,
      "rules: some provider (LiveKit counts), and LiveKitRooms with LiveKitUrl")
check("AgoraAppId" in str(rules["SomeProvider"]) and "AgoraChannelsWithAppId" in rules,
      "rules: some provider (Agora counts), and AgoraChannels with AgoraAppId")
check("TwilioAccountSid" in str(rules["SomeProvider"]) and "TwilioRoomsWithAccountSid" in rules,
      "rules: some provider (Twilio counts), and TwilioRooms with TwilioAccountSid")
check("VonageApplicationId" in str(rules["SomeProvider"]),
      "rules: some provider (Vonage counts; VonageRoles has a default, so no rule of its own)")

stage = resources["TokenApiApiGatewayDefaultStage"]["Properties"]
access_log = stage["AccessLogSettings"]["Format"]
check("$context.routeKey" in access_log and "$context.path" not in access_log,
      "access log names the route key, never the path (room names are capabilities)")
check(stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}, "route throttling rate")
check(stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}, "route throttling burst")
check(resources["FunctionLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, "log retention")
admin_stage = resources["AdminApiApiGatewayDefaultStage"]["Properties"]
check(admin_stage["AccessLogSettings"] == {"DestinationArn": {"Fn::GetAtt": ["AdminApiAccessLogGroup", "Arn"]},
                                           "Format": access_log},
      "admin API: its own access log, the token API's format (route key, never the path: it names an identity)")
check(resources["AdminApiAccessLogGroup"]["Properties"] == resources["ApiAccessLogGroup"]["Properties"]
      and resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"},
      "access log retention, both APIs")
check(admin_stage["DefaultRouteSettings"] == stage["DefaultRouteSettings"], "admin API: the same route throttling")
check(set(out["Outputs"]) >= {"TokenUrl", "StreamTokenUrl", "AgoraTokenUrl", "TwilioTokenUrl", "VonageTokenUrl", "RoomsUrl", "RoomsTableName", "FunctionName", "SecretArn"}, "outputs: token URLs, function, secret")
admin_url = out["Outputs"].get("AdminApiUrl", {})
check(admin_url.get("Value") == {"Fn::Sub": "https://${AdminApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/admin"}
      and "SigV4" in admin_url.get("Description", "") and "awscurl" in admin_url.get("Description", ""),
      "outputs: the admin API's URL, saying calls are SigV4-signed")
check(out["Outputs"].get("BansTableName", {}).get("Value") == {"Ref": "BansTable"}, "outputs: the bans table")

# Observability: tracing, the metrics' namespace, alarms, topic, dashboard.
params = source["Parameters"]
check(function.get("TracingConfig") == {"Mode": {"Ref": "TracingMode"}}
      and params["TracingMode"]["Default"] == "PassThrough"
      and params["TracingMode"]["AllowedValues"] == ["PassThrough", "Active"],
      "X-Ray tracing from TracingMode: PassThrough (default) or Active")
check(env["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"} and params["MetricsNamespace"]["Default"] == "TokenVendor",
      "METRICS_NAMESPACE from MetricsNamespace (default TokenVendor); METRICS keeps its Lambda default, emf")
topic = resources["AlarmTopic"]
check(topic["Type"] == "AWS::SNS::Topic" and "Condition" not in topic, "the alarm topic always exists")
subscription = resources["AlarmEmailSubscription"]
check(subscription["Type"] == "AWS::SNS::Subscription" and subscription.get("Condition") == "HasAlarmEmail"
      and subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                         "Endpoint": {"Ref": "AlarmEmail"}}
      and source["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
      and params["AlarmEmail"]["Default"] == "",
      "an e-mail subscription only when AlarmEmail is set")
alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
check(set(alarms) == {"ServerErrorsAlarm", "CredentialsUnavailableAlarm", "FunctionErrorsAlarm",
                      "FunctionThrottlesAlarm", "Api5xxAlarm", "QuotaBypassedAlarm", "BansUnavailableAlarm"},
      "seven alarms: %s" % sorted(alarms))
bypassed = alarms["QuotaBypassedAlarm"]
check(resources["QuotaBypassedAlarm"].get("Condition") == "HasQuota" and bypassed["MetricName"] == "QuotaBypassed"
      and bypassed["Namespace"] == {"Ref": "MetricsNamespace"} and "Dimensions" not in bypassed
      and bypassed["Statistic"] == "Sum" and bypassed["Threshold"] == 1
      and bypassed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
      and bypassed["TreatMissingData"] == "notBreaching",
      "QuotaBypassed: all routes, >= 1 in 5 minutes, only with a quota")
bans_unavailable = alarms["BansUnavailableAlarm"]
check("Condition" not in resources["BansUnavailableAlarm"] and bans_unavailable["MetricName"] == "BansUnavailable"
      and bans_unavailable["Namespace"] == {"Ref": "MetricsNamespace"} and "Dimensions" not in bans_unavailable
      and bans_unavailable["Statistic"] == "Sum" and bans_unavailable["Period"] == 300
      and bans_unavailable["Threshold"] == 1
      and bans_unavailable["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
      and bans_unavailable["TreatMissingData"] == "notBreaching",
      "BansUnavailable: all routes, >= 1 in 5 minutes, always (bans are always on under the template)")
for name, alarm in alarms.items():
    check(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["OKActions"] == [{"Ref": "AlarmTopic"}],
          "%s notifies the topic (alarm and OK)" % name)
    check(alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Statistic"] == "Sum"
          and alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching",
          "%s: a sum at or over its threshold; no data is not an alarm" % name)
# The vendor's records carry the sets [["Route"], []] (src/metrics.rs): an
# alarm on its own metrics must use the dimension-less set, or it never fires.
server = alarms["ServerErrorsAlarm"]
check(server["Namespace"] == {"Ref": "MetricsNamespace"} and server["MetricName"] == "ServerErrors"
      and "Dimensions" not in server and server["Period"] == 300
      and server["Threshold"] == {"Ref": "ServerErrorsThreshold"},
      "ServerErrors: all routes (no dimension), sum over 5 min >= ServerErrorsThreshold")
credentials = alarms["CredentialsUnavailableAlarm"]
check(credentials["Namespace"] == {"Ref": "MetricsNamespace"} and credentials["MetricName"] == "CredentialsUnavailable"
      and "Dimensions" not in credentials and credentials["Threshold"] == 1 and credentials["Period"] == 60,
      "CredentialsUnavailable: all routes, >= 1 in a minute")
function_dims = [{"Name": "FunctionName", "Value": {"Ref": "TokenVendorFunction"}}]
for name, metric in [("FunctionErrorsAlarm", "Errors"), ("FunctionThrottlesAlarm", "Throttles")]:
    check(alarms[name]["Namespace"] == "AWS/Lambda" and alarms[name]["MetricName"] == metric
          and alarms[name]["Dimensions"] == function_dims and alarms[name]["Threshold"] == 1,
          "%s: AWS/Lambda %s of this function, >= 1" % (name, metric))
api5xx = alarms["Api5xxAlarm"]
check(api5xx["Namespace"] == "AWS/ApiGateway" and api5xx["MetricName"] == "5xx"
      and api5xx["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "TokenApi"}}, {"Name": "Stage", "Value": "$default"}]
      and api5xx["Threshold"] == {"Ref": "ServerErrorsThreshold"} and api5xx["Period"] == 300
      and "TokenApiApiGatewayDefaultStage" in resources,
      "Api5xx: the HTTP API's 5xx on its $default stage (the stage SAM creates)")
dashboard = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
body = dashboard[0]
for placeholder, value in [("Ns", "TokenVendor"), ("AWS::Region", "us-east-1"), ("TokenApi", "api123"),
                           ("TokenVendorFunction", "fn")]:
    body = body.replace("${%s}" % placeholder, value)
body = re.sub(r"\$\{(\w+)\.Arn\}", r"arn:aws:cloudwatch:us-east-1:1:alarm:\1", body)
check("${" not in body, "the dashboard's placeholders are all known")
widgets = json.loads(body)["widgets"]
check(dashboard[1] == {"Ns": {"Ref": "MetricsNamespace"}}, "the dashboard reads MetricsNamespace")


def metric_rows(title):
    found = [w["properties"]["metrics"] for w in widgets if w["properties"].get("title") == title]
    check(len(found) == 1, "dashboard widget %r" % title)
    rows, last = [], None
    for row in found[0] if found else []:
        row = [x for x in row if not isinstance(x, dict)]
        if row[0] == "...":
            row = last[:len(last) - len(row) + 1] + row[1:]
        rows.append(row)
        last = row
    return rows


check(metric_rows("Requests per route") == [["TokenVendor", "Requests", "Route", r] for r in
                                             ["token", "stream", "room", "livekit", "agora", "twilio", "vonage",
                                              "admin", "other"]],
      "dashboard: requests per route")
check(metric_rows("Tokens issued per route") == [["TokenVendor", "TokensIssued", "Route", r] for r in
                                                  ["token", "stream", "room", "livekit", "agora", "twilio",
                                                   "vonage"]],
      "dashboard: tokens issued per route")
api_dims = ["ApiId", "api123", "Stage", "$default"]
check({tuple(r) for r in metric_rows("4xx and 5xx answers")} >= {("TokenVendor", "ClientErrors"),
                                                                 ("TokenVendor", "ServerErrors"),
                                                                 tuple(["AWS/ApiGateway", "4xx"] + api_dims),
                                                                 tuple(["AWS/ApiGateway", "5xx"] + api_dims),
                                                                 ("TokenVendor", "Banned"),
                                                                 ("TokenVendor", "BansUnavailable")},
      "dashboard: 4xx and 5xx, the function's over all routes and the API's on its stage; banned, bans unavailable")
latency = [w for w in widgets if w["properties"].get("title") == "Latency and upstream latency (ms)"]
stats = {(m[1], m[2]["stat"]) for m in latency[0]["properties"]["metrics"]} if latency else set()
check(stats == {("Latency", "p50"), ("Latency", "p99"), ("UpstreamLatency", "p50"), ("UpstreamLatency", "p99")},
      "dashboard: latency and upstream latency p50/p99")
check({tuple(r[:2]) for r in metric_rows("Cold starts and init duration (ms)")} >= {("TokenVendor", "ColdStart"),
                                                                                    ("TokenVendor", "InitDuration")},
      "dashboard: cold starts and init duration")
check(all(w["properties"].get("region") == "us-east-1" for w in widgets if w["type"] == "metric"),
      "dashboard widgets are in the stack's region")
shown = [w["properties"]["alarms"] for w in widgets if w["type"] == "alarm"]
always = {name for name in alarms if "Condition" not in resources[name]}
check(len(shown) == 1 and set(shown[0]) == {"arn:aws:cloudwatch:us-east-1:1:alarm:%s" % a for a in always},
      "dashboard: the state of every alarm that always exists")
check(set(out["Outputs"]) >= {"AlarmTopic", "DashboardName"}, "outputs: the alarm topic and the dashboard")

if failures:
    sys.exit("template checks failed: %s" % failures)
print("template checks passed")
