"""Static checks of template.yaml after the SAM transform (run by .ci/run with
the SAM CLI's venv): what cfn-lint cannot know about this product's intent.

    .venv-tools/bin/python tests/template/check_template.py
"""
import json
import os
import sys

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "template.yaml")


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
check(function["Timeout"] * 1000 > 5000 + 3000, "function timeout exceeds the default upstream timeout plus a secret read")
check(set(env) == {"CAS_URL", "SECRET_ID", "ALLOWED_ORIGINS", "UPSTREAM_TIMEOUT_MS", "AIPIX_URL", "AIPIX_STREAMS",
                   "AIPIX_RIGHTS", "AIPIX_MAX_TTL", "AIPIX_DEFAULT_TTL", "AIPIX_ALLOW_UNLIMITED"},
      "environment carries configuration only, no credentials")

role = resources["TokenVendorFunctionRole"]["Properties"]
statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
secret_ref = {"Fn::If": ["CreateSecret", {"Ref": "CasSecret"}, {"Ref": "ExistingSecretArn"}]}
read = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadTheCasSecretOnly"]
check(len(read) == 1 and read[0]["Action"] == "secretsmanager:GetSecretValue" and read[0]["Resource"] == secret_ref,
      "IAM: GetSecretValue on the one secret only")
check(len(statements) == 2, "IAM: exactly two statements of our own (the secret read, the optional key)")
kms = [s for s in statements if isinstance(s, dict) and "Fn::If" in s]
check(len(kms) == 1 and kms[0]["Fn::If"][0] == "HasKmsKey", "IAM: kms:Decrypt only when a key is given")
check(role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      "IAM: basic execution role, nothing broader")

api = resources["TokenApi"]["Properties"]["Body"]
cors = api["x-amazon-apigateway-cors"]
check(cors.get("allowOrigins") == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]},
      "API CORS origins come from the same AllowedOrigins parameter")
check(cors.get("allowMethods") == ["GET", "POST", "OPTIONS"], "API CORS methods")
check(set(cors.get("allowHeaders", [])) >= {"content-type", "authorization"}, "API CORS headers")
check(env["ALLOWED_ORIGINS"] == {"Ref": "AllowedOrigins"}, "function origins come from AllowedOrigins")
paths = api["paths"]
ROUTES = ["/token", "/streams/{stream}/token"]
check(set(paths) == set(ROUTES) and all(set(paths[p]) == {"get", "post"} for p in ROUTES),
      "routes: GET and POST on %s, no OPTIONS route (preflights never meet the authorizer)" % ROUTES)
for route in ROUTES:
    for method in ("get", "post"):
        operation = paths[route][method]
        check("x-amazon-apigateway-integration" in operation, "%s %s is integrated with the function" % (method.upper(), route))
        check(operation["security"] == {"Fn::If": ["HasAuthorizer", [{"jwt": []}], []]},
              "%s %s uses the JWT authorizer only when JwtIssuer is set" % (method.upper(), route))
check(api["components"]["securitySchemes"]["Fn::If"][0] == "HasAuthorizer", "the authorizer exists only when JwtIssuer is set")

permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
arns = sorted(p["SourceArn"]["Fn::Sub"][0].split("${__Stage__}/", 1)[1] for p in permissions)
check(arns == ["GET/streams/*/token", "GET/token", "POST/streams/*/token", "POST/token"],
      "invoke permission covers exactly the four routes: %s" % arns)

stage = resources["TokenApiApiGatewayDefaultStage"]["Properties"]
check(stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}, "route throttling rate")
check(stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}, "route throttling burst")
check(resources["FunctionLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, "log retention")
check(set(out["Outputs"]) >= {"TokenUrl", "StreamTokenUrl", "FunctionName", "SecretArn"}, "outputs: token URLs, function, secret")

if failures:
    sys.exit("template checks failed: %s" % failures)
print("template checks passed")
