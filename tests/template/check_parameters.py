"""The template refuses what the binary refuses: every parameter that becomes
one of the function's environment variables is given the same values on both
sides, and a value the template would deploy must be one the binary starts
with.

- The template's side is CloudFormation's own checks, evaluated here:
  `AllowedPattern` (whole-string match), `AllowedValues`, `MinLength` and
  `MaxLength`, `Number` (an integer or a decimal, as CloudFormation takes it)
  with `MinValue` and `MaxValue`, and the `Rules`.
- The binary's side is its configuration check itself
  (`examples/check_config.rs`, the code `main` runs at start, fed the
  environment the template would give the function).

Each parameter gets the shared tricky values below, its default, its allowed
values and its own cases, one parameter at a time (the others as in BASE). Two pairs of parameters the template cannot compare
(CloudFormation's rules compare no numbers) are the known exceptions, named in
the parameters' descriptions: see CROSS.

    .venv-tools/bin/python tests/template/check_parameters.py   # run by .ci/run

With `--dump FILE` it also writes every trial (the parameters, the template's
verdict, the binary's) as JSON: the CDK construct's tests hold its props to
both (cdk/test/validation.test.js).
"""
import json
import os
import re
import subprocess
import sys

from samtranslator.yaml_helper import yaml_parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
source = yaml_parse(open(os.path.join(ROOT, "template.yaml")).read())
PARAMS = source["Parameters"]
RULES = source.get("Rules", {})
CONDITIONS = source["Conditions"]
ENV = source["Resources"]["TokenVendorFunction"]["Properties"]["Environment"]["Variables"]

# Values every parameter is given.
SHARED = ["", " ", "0", "1", "-1", "1.5", "60.0", "1e3", "+5", "007", "59", "60", "3600", "86400", "86401",
          "2592000", "2592001", "25000", "25001", "99999999999", "abc", "ABC", "a b", "*", "*,x", "x,", ",x",
          "x,,y", "true", "false", "TRUE", "yes", "caller", "request", "open", "closed", "live", "live,dvr,copy",
          "publish", "publish,data", "https://a.example", "https://a.example/", "https://a.example/p",
          "https://a.example?x", "http://a.example", "wss://a.example", "ws://127.0.0.1:7880", "null",
          "/opt/ca.pem", "é", "https://a\u00a0b", "a\u2003b", "x" * 128, "x" * 129, "x" * 300, "20/1h", "1/8d", "TokenVendor", "AWS/x"]

# Each parameter's own cases: values both take, values both refuse, and
# values only the template refuses (it may be stricter, never looser).
CASES = {
    "CasUrl": {"both_take": ["", "https://cas.example.com", "https://cas.example.com/base/"],
               "both_refuse": ["http://cas.example.com", "cas.example.com", "https://", "https://a.example?x=1",
                               "https://a.example#f", "ftp://a.example", "https://a b.example"]},
    "AipixUrl": {"both_take": ["", "https://aipix.example.com"],
                 "both_refuse": ["http://aipix.example.com", "aipix.example.com"]},
    "AipixStreams": {"both_take": ["*", "cam-1", "cam-1,cam.2", "c" * 128],
                     "both_refuse": ["*,cam-1", "cam%2D1", "cam/1", "c" * 129, "cam 1"]},
    "AipixRights": {"both_take": ["live", "live,dvr", "dvr,copy,live"],
                    "both_refuse": ["LIVE", "live,", "record"],
                    # Empty is unset to the binary: its default, live.
                    "template_refuses": [""]},
    "AipixMaxTtl": {"both_take": ["1", "3600", "86400"], "both_refuse": ["0", "-1", "1.5", "abc"]},
    "AipixDefaultTtl": {"both_take": ["", "1", "3600"], "both_refuse": ["0", "1.5", "abc"]},
    "AipixAllowUnlimited": {"both_take": ["true", "false"], "both_refuse": ["yes", "TRUE"]},
    "UpstreamTimeoutMs": {"both_take": ["1", "5000", "25000"],
                          "both_refuse": ["0", "25001", "1.5", "-5", "abc"]},
    "AllowedOrigins": {"both_take": ["*", "https://app.example.com", "http://localhost:5173",
                                     "https://a.example,http://127.0.0.1:3000", "null", "https://a.example:8443",
                                     "http://x:65535"],
                       "both_refuse": ["*,https://a.example", "https://a.example/", "https://App.example.com",
                                       "app.example.com", "https://a.example/path", "ftp://a.example",
                                       "https://a.example:443", "http://a.example:80", "http://a.example:65536",
                                       "https://a.example,http://b.example:80", ""],
                       # API Gateway's CORS list splits on commas only; port 0 is no origin.
                       "template_refuses": ["https://a.example, https://b.example", "http://a.example:0"]},
    "LiveKitUrl": {"both_take": ["", "wss://x.livekit.cloud", "wss://h.example/p"],
                   "both_refuse": ["https://x", "wss://x?y", "wss://a b"],
                   # ws:// is for a LiveKit on loopback, never a deployment.
                   "template_refuses": ["ws://127.0.0.1:7880"]},
    "LiveKitRooms": {"both_take": ["*", "lobby", "party-*,lobby"],
                     "both_refuse": ["", "*,lobby", "a b", "p*x"],
                     # The binary skips the empty name.
                     "template_refuses": ["lobby,"]},
    "LiveKitGrants": {"both_take": ["publish", "publish,subscribe,data"], "both_refuse": ["PUBLISH", "admin"]},
    "LiveKitTtlSeconds": {"both_take": ["60", "600", "86400"], "both_refuse": ["59", "86401", "600.5", "abc"]},
    "LiveKitRoomConfig": {"both_take": ["true", "false"], "both_refuse": ["yes"]},
    "LiveKitIdentity": {"both_take": ["caller", "request"], "both_refuse": ["guest"], "template_refuses": [""]},
    "AgoraAppId": {"both_take": ["", "970ca35de60c44645bbae8a215061b33", "970CA35DE60C44645BBAE8A215061B33"],
                   "both_refuse": ["970ca35de60c44645bbae8a215061b3", "970ca35de60c44645bbae8a215061b333",
                                   "g70ca35de60c44645bbae8a215061b33"]},
    "AgoraChannels": {"both_take": ["*", "lobby", "party *,lobby", "Party #1 (main)", "a|b~c{d}[e]^f@g?h>i=j<k;l:m+n)o(p&q%r$s#t!u",
                                    "c" * 64, "c" * 64 + "*"],
                      "both_refuse": ["", "*,lobby", "a/b", "p*x", "c" * 65, "caf\u00e9", "a'b"],
                      # The binary trims each entry and skips the empty one.
                      "template_refuses": ["lobby,", " lobby", "lobby ,x"]},
    "AgoraRoles": {"both_take": ["publisher", "subscriber,publisher"], "both_refuse": ["PUBLISHER", "host"],
                   "template_refuses": [""]},
    "AgoraTtlSeconds": {"both_take": ["", "60", "3600"], "both_refuse": ["59", "86401", "600.5", "abc"]},
    "AgoraMaxTtlSeconds": {"both_take": ["60", "3600", "86400"], "both_refuse": ["59", "86401", "0", "abc"],
                           # Empty is unset to the binary: its default, 3600.
                           "template_refuses": [""]},
    "AgoraIdentity": {"both_take": ["caller", "request"], "both_refuse": ["guest"], "template_refuses": [""]},
    "TwilioAccountSid": {"both_take": ["", "AC970ca35de60c44645bbae8a215061b33", "AC970CA35DE60C44645BBAE8A215061B33"],
                         "both_refuse": ["ac970ca35de60c44645bbae8a215061b33", "SK970ca35de60c44645bbae8a215061b33",
                                         "AC970ca35de60c44645bbae8a215061b3", "AC970ca35de60c44645bbae8a215061b333",
                                         "ACg70ca35de60c44645bbae8a215061b33", "970ca35de60c44645bbae8a215061b33"]},
    "TwilioRooms": {"both_take": ["*", "lobby", "party-*,lobby", "a.b_c~d-e", "r" * 128, "r" * 128 + "*"],
                    "both_refuse": ["", "*,lobby", "a b", "p*x", "a/b", "r" * 129, "caf\u00e9"],
                    # The binary trims each entry and skips the empty one.
                    "template_refuses": ["lobby,", " lobby", "lobby ,x"]},
    "TwilioTtlSeconds": {"both_take": ["60", "3600", "86400"], "both_refuse": ["59", "86401", "0", "600.5", "abc"],
                         # Empty is unset to the binary: its default, 3600.
                         "template_refuses": [""]},
    "TwilioIdentity": {"both_take": ["caller", "request"], "both_refuse": ["guest", "CALLER"], "template_refuses": [""]},
    "VonageApplicationId": {"both_take": ["", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                                          "0A1B2C3D-4E5F-4a6b-8c7d-9E0F1A2B3C4D"],
                            "both_refuse": ["aaaaaaaabbbb4ccc8dddeeeeeeeeeeee", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee",
                                            "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeeee", "gaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                                            "aaaaaaa-bbbbb-4ccc-8ddd-eeeeeeeeeeee", "{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}"]},
    "VonageRoles": {"both_take": ["subscriber", "publisher", "subscriber,publisher", "moderator",
                                  "publisheronly,moderator", "subscriber,publisher,publisheronly,moderator"],
                    "both_refuse": ["PUBLISHER", "host", "publisher,", "publisher_only", "publisher only"],
                    # Empty is unset to the binary: its default, subscriber,publisher.
                    "template_refuses": [""]},
    "VonageTtlSeconds": {"both_take": ["60", "3600", "86400"], "both_refuse": ["59", "86401", "0", "600.5", "abc"],
                         # Empty is unset to the binary: its default, 3600.
                         "template_refuses": [""]},
    # The binary also reads 1 and 0, and empty as unset (false).
    "VonageData": {"both_take": ["true", "false"], "both_refuse": ["yes", "TRUE"], "template_refuses": ["", "1", "0"]},
    "RoomRefreshMarginSeconds": {"both_take": ["0", "60", "3599"], "both_refuse": ["-1", "1.5", "86401"]},
    "RoomTtlSeconds": {"both_take": ["61", "86400", "2592000"], "both_refuse": ["59", "2592001", "3600.5"]},
    "QuotaPerCaller": {"both_take": ["", "20/1h", "100/7d", "5/168h", "20/604800s", "20/10080m", "1/1s", "3/90m"],
                       "both_refuse": ["5/h", "0/1h", "20/1w", "20 /1h", "1/8d", "20/999999s", "20/169h",
                                       "20/10081m", "20/604801s", "20/0s"],
                       # The binary trims what it reads; the template cannot.
                       "template_refuses": ["20/1h "]},
    "SecretMaxAgeSeconds": {"both_take": ["1", "300", "9999", "10000", "86400"],
                            "both_refuse": ["0", "86401", "300.5", "-1", "abc", "1e3"]},
    "QuotaFail": {"both_take": ["open", "closed"], "both_refuse": ["OPEN", "fail"]},
    "BansFail": {"both_take": ["closed", "open"], "both_refuse": ["CLOSED", "Open", "fail"],
                 # Empty is unset to the binary: its default, closed.
                 "template_refuses": [""]},
    "AdminPrincipals": {"both_take": ["", "arn:aws:iam::123456789012:user/ops", "arn:aws:iam::123456789012:root",
                                      "arn:aws:sts::123456789012:assumed-role/Ops/*",
                                      "arn:aws:iam::123456789012:user/ops,arn:aws:sts::123456789012:assumed-role/Ops/*",
                                      "arn:aws-us-gov:sts::123456789012:assumed-role/Ops/s-1",
                                      "arn:aws:sts::123456789012:*",
                                      "arn:aws:iam::123456789012:user/" + "o" * 1000],
                        "both_refuse": ["*", "ops", "user/ops", "ARN:aws:iam::123456789012:user/ops",
                                        "arn:aws:iam::123456789012:user/o ps",
                                        "arn:aws:sts::123456789012:assumed-role/*/s",
                                        "arn:aws:iam::123456789012:user/ops,ops",
                                        "arn:aws:iam::123456789012:user/" + "o" * 2100],
                        # The binary takes any arn:..., trims each entry and
                        # skips the empty one; the template takes only iam
                        # and sts ARNs of one account, as the caller's ARN is.
                        "template_refuses": ["arn:x", "arn:aws:s3:::bucket", "arn:aws:iam::123:user/ops",
                                             "arn:aws:iam::123456789012:user/ops,",
                                             "arn:aws:iam::123456789012:user/ops, arn:aws:iam::123456789012:root",
                                             "arn:aws:iam::123456789012:user/ops**"]},
    "MetricsNamespace": {"both_take": ["TokenVendor", "Media/Tokens prod", "a.b-c_d#e:f", "n" * 255],
                         "both_refuse": ["AWS/Lambda", "tokens\"", "t\u00e9", "n" * 256],
                         # Blank is unset to the binary: its default, TokenVendor.
                         "template_refuses": ["", "   "]},
}

# Parameters whose variable the binary checks against something the template
# cannot see.
NOT_HERE = {
    # A file on a layer: the binary reads it at start (tests/it/tls.rs); the
    # template takes only absolute paths.
    "ExtraCaCerts": "a file the binary reads at start",
}

# Pairs CloudFormation cannot compare: (what the pair violates, the variable
# the binary names). Both are said in the parameters' descriptions.
def as_int(value):
    try:
        return int(value)
    except ValueError:
        return None


CROSS = [
    (lambda p: None not in (as_int(p["RoomTtlSeconds"]), as_int(p["RoomRefreshMarginSeconds"]))
     and as_int(p["RoomRefreshMarginSeconds"]) >= as_int(p["RoomTtlSeconds"]),
     "ROOM_REFRESH_MARGIN_S", "RoomRefreshMarginSeconds below RoomTtlSeconds"),
    (lambda p: None not in (as_int(p["AipixDefaultTtl"]), as_int(p["AipixMaxTtl"]))
     and as_int(p["AipixDefaultTtl"]) > as_int(p["AipixMaxTtl"]),
     "AIPIX_DEFAULT_TTL", "AipixDefaultTtl at most AipixMaxTtl"),
    (lambda p: None not in (as_int(p["AgoraTtlSeconds"]), as_int(p["AgoraMaxTtlSeconds"]))
     and as_int(p["AgoraTtlSeconds"]) > as_int(p["AgoraMaxTtlSeconds"]),
     "AGORA_TTL_S", "AgoraTtlSeconds at most AgoraMaxTtlSeconds"),
]

# Every provider on, so that each provider's variables are checked.
BASE = {name: str(spec.get("Default", "")) for name, spec in PARAMS.items()}
BASE.update({"CasUrl": "https://cas.example.com", "AipixUrl": "https://aipix.example.com", "AipixStreams": "*",
             "LiveKitUrl": "wss://livekit.example.com", "LiveKitRooms": "*",
             "AgoraAppId": "970ca35de60c44645bbae8a215061b33", "AgoraChannels": "*",
             "TwilioAccountSid": "AC970ca35de60c44645bbae8a215061b33", "TwilioRooms": "*",
             "VonageApplicationId": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
             # Required: it has no default.
             "AllowedOrigins": "https://app.example.com"})

NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parameter_takes(name, value):
    spec = PARAMS[name]
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    if spec["Type"] == "Number":
        if not NUMBER.fullmatch(value):
            return False
        number = float(value)
        return spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)
    # CloudFormation's patterns are Java's, whose \s and \d are ASCII only.
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value, re.ASCII):
        return False
    return spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", len(value))


def evaluate(node, params):
    """A template expression, as CloudFormation would see it at deploy time."""
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, list):
        return [evaluate(n, params) for n in node]
    (function, argument), = node.items()
    if function == "Ref":
        return params[argument] if argument in params else "%s-physical-id" % argument
    if function == "Condition":
        return evaluate(CONDITIONS[argument], params)
    if function == "Fn::Equals":
        a, b = evaluate(argument, params)
        return a == b
    if function == "Fn::Not":
        return not evaluate(argument[0], params)
    if function == "Fn::And":
        return all(evaluate(a, params) for a in argument)
    if function == "Fn::Or":
        return any(evaluate(a, params) for a in argument)
    if function == "Fn::If":
        condition, then, otherwise = argument
        return evaluate(then if evaluate(CONDITIONS[condition], params) else otherwise, params)
    if function == "Fn::Join":
        separator, parts = argument
        parts = evaluate(parts, params)
        return separator.join(parts if isinstance(parts, list) else parts.split(","))
    raise SystemExit("check_parameters.py cannot evaluate %s" % function)


def template_takes(params):
    if not all(parameter_takes(name, value) for name, value in params.items()):
        return False
    for rule in RULES.values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params):
            continue
        if not all(evaluate(a["Assert"], params) for a in rule["Assertions"]):
            return False
    return True


def environment(params):
    env = {name: evaluate(value, params) for name, value in ENV.items()}
    # As Lambda starts the function.
    env.update({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_FUNCTION_NAME": "token-vendor",
                "AWS_REGION": "us-east-1"})
    return env


# The parameters behind the function's variables.
mapped = {value["Ref"]: name for name, value in ENV.items() if isinstance(value, dict) and "Ref" in value
          and value["Ref"] in PARAMS}
failures = []


def check(condition, what):
    if not condition:
        print("FAIL " + what)
        failures.append(what)


check(set(mapped) == set(CASES) | set(NOT_HERE),
      "every parameter behind a variable has its cases (missing: %s, stale: %s)"
      % (sorted(set(mapped) - set(CASES) - set(NOT_HERE)), sorted((set(CASES) | set(NOT_HERE)) - set(mapped))))

trials = [("base", None, BASE)]
for name in sorted(set(mapped) & set(CASES)):
    spec, cases = PARAMS[name], CASES[name]
    values = SHARED + [str(spec.get("Default", ""))] + [str(v) for v in spec.get("AllowedValues", [])]
    values += [v for kind in ("both_take", "both_refuse", "template_refuses") for v in cases.get(kind, [])]
    for value in dict.fromkeys(values):
        trials.append((name, value, dict(BASE, **{name: value})))

# The known exceptions are real: the template takes the pair, the binary
# refuses it, and the parameter's description says so.
CROSS_TRIALS = [("RoomRefreshMarginSeconds", "ROOM_REFRESH_MARGIN_S",
                 dict(BASE, RoomTtlSeconds="120", RoomRefreshMarginSeconds="120")),
                ("AipixDefaultTtl", "AIPIX_DEFAULT_TTL", dict(BASE, AipixMaxTtl="60", AipixDefaultTtl="61")),
                ("AgoraTtlSeconds", "AGORA_TTL_S", dict(BASE, AgoraMaxTtlSeconds="600", AgoraTtlSeconds="601"))]
for name, variable, params in CROSS_TRIALS:
    trials.append(("cross", (name, variable), params))

binary = subprocess.run(["cargo", "run", "--quiet", "--locked", "--example", "check_config"], cwd=ROOT,
                        input="".join(json.dumps(environment(p)) + "\n" for _, _, p in trials),
                        capture_output=True, text=True)
if binary.returncode != 0:
    sys.exit("examples/check_config.rs failed:\n%s" % binary.stderr)
verdicts = binary.stdout.splitlines()
check(len(verdicts) == len(trials), "one verdict per environment")

checked = 0
for (name, value, params), verdict in zip(trials, verdicts):
    template, started = template_takes(params), verdict == "ok"
    what = "%s=%r: template %s, binary %s" % (name, value, "takes" if template else "refuses",
                                              "starts" if started else "refuses %s" % verdict)
    if name == "base":
        check(template and started, "the base deployment (every provider on): " + what)
        continue
    if name == "cross":
        parameter, variable = value
        check(template and verdict == variable, "a pair the template cannot compare: " + what)
        check("checked at start" in PARAMS[parameter]["Description"],
              "%s's description says its pair is checked at start" % parameter)
        continue
    checked += 1
    explained = [why for violated, variable, why in CROSS if violated(params) and verdict == variable]
    if template and not started and not explained:
        check(False, "the template deploys what the binary refuses: " + what)
    cases = CASES[name]
    if value in cases.get("both_take", []):
        check(template and started, "both take it: " + what)
    if value in cases.get("both_refuse", []):
        check(not template and not started, "both refuse it: " + what)
    if value in cases.get("template_refuses", []):
        check(not template and started, "only the template refuses it: " + what)

if failures:
    sys.exit("parameter checks failed: %d of %d values" % (len(failures), checked))

# Written only once every check passed: a failed run leaves no trials for
# the CDK tests to take as current.
if "--dump" in sys.argv:
    dumped = [{"name": name, "value": value if name != "cross" else list(value), "params": params,
               "template": template_takes(params), "binary": verdict}
              for (name, value, params), verdict in zip(trials, verdicts)]
    # The parameters not tried above (no variable carries them: the API's,
    # the alarms', tracing; or the binary checks what the template cannot
    # see, NOT_HERE): only the template's verdict ("binary": "n/a"). The
    # three ARNs are constructs in the CDK props, not strings.
    for name in sorted(set(PARAMS) - (set(mapped) & set(CASES))
                       - {"ExistingSecretArn", "SecretKmsKeyArn", "ExtraCaCertsLayerArn"}):
        spec = PARAMS[name]
        values = SHARED + [str(spec.get("Default", ""))] + [str(v) for v in spec.get("AllowedValues", [])]
        values += ["2", "10", "1000", "100000", "arn:aws:x", "ops@example.com", "a@b", "@b", "https://issuer.example.com"]
        for value in dict.fromkeys(values):
            params = dict(BASE, **{name: value})
            dumped.append({"name": name, "value": value, "params": params, "template": template_takes(params),
                           "binary": "n/a"})
    with open(sys.argv[sys.argv.index("--dump") + 1], "w") as out:
        json.dump(dumped, out)

print("parameter checks passed: %d values over %d parameters, each given to the template and to the binary"
      % (checked, len(CASES)))
