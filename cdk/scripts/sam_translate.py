"""Prints, as JSON, what the parity test compares the construct with:
template.yaml after the SAM transform (offline: the SAM translator, no
credentials, managed policies left as ARNs), its parameters, and
openapi.yaml's operations.

    ../.venv-tools/bin/python scripts/sam_translate.py > sam.json
"""
import json
import os
import sys

import yaml
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class NoManagedPolicies:
    def load(self, *args, **kwargs):
        return {}


template = yaml_parse(open(os.path.join(ROOT, "template.yaml")).read())
# As the SAM CLI does after uploading the built code.
template["Resources"]["TokenVendorFunction"]["Properties"]["CodeUri"] = "s3://bucket/token-vendor.zip"
parameters = template["Parameters"]
translated = transform(template, {}, NoManagedPolicies())
openapi = yaml.safe_load(open(os.path.join(ROOT, "openapi.yaml")))
operations = sorted("%s %s" % (method.upper(), path) for path, item in openapi["paths"].items()
                    for method in item if method in ("get", "put", "post", "delete", "patch", "options"))
json.dump({"template": translated, "parameters": parameters, "operations": operations}, sys.stdout)
