"""Static checks of template.yaml's Serverless Application Repository metadata
(the `AWS::ServerlessRepo::Application` key that `sam package` and
`sam publish` read): each field against AWS's documented rules, and the
version, licence and URLs against Cargo.toml, where they are defined.

The rules, as AWS documents them:
- https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html
  Name, Description and Author are required. Name: 1-140 characters,
  pattern "[a-zA-Z0-9\\-]+". Description: 1-256 characters. Author: 1-127
  characters, pattern "^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$" (lower case,
  no space, no leading, trailing or double hyphen). SpdxLicenseId: a valid
  SPDX identifier. LicenseUrl and ReadmeUrl: a local file before
  `sam package` (which uploads it and writes its S3 URL), at most 5 MB each.
  Labels: at most 10, each 1-127 characters, pattern
  "^[a-zA-Z0-9+\\-_:\\/@]+$". SemanticVersion: per https://semver.org/.
  SemanticVersion and LicenseUrl are needed to share the application
  publicly. Intrinsic functions are not supported in this key.
- https://docs.aws.amazon.com/serverlessrepo/latest/devguide/applications.html
  (CreateApplication): the same lengths and patterns. No length limit is
  documented for HomePageUrl or SourceCodeUrl ("a link to a public
  repository"), so they are checked as https URLs only.

    .venv-tools/bin/python tests/template/check_sar.py
"""
import hashlib
import os
import re
import sys
import tomllib
from urllib.parse import urlsplit

from samtranslator.yaml_helper import yaml_parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TEMPLATE = os.path.join(ROOT, "template.yaml")
CARGO = os.path.join(ROOT, "Cargo.toml")

DOCUMENTED = {"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "Labels",
              "HomePageUrl", "SemanticVersion", "SourceCodeUrl"}
NAME = re.compile(r"[a-zA-Z0-9\-]+")
AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:\/@]+$")
# semver.org's regular expression for SemVer 2.0.0.
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$", re.ASCII)
MAX_FILE_BYTES = 5 * 1000 * 1000  # "5 MB", read as the smaller of 5,000,000 and 5 MiB
# What each licence's text must say, and the repository's file for it.
LICENCES = {
    "Apache-2.0": {"file": "LICENSE-APACHE",
                   "says": ["Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION,"
                            " AND DISTRIBUTION", "END OF TERMS AND CONDITIONS"],
                   # https://www.apache.org/licenses/LICENSE-2.0.txt, byte for byte.
                   "sha256": "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"},
    "MIT": {"file": "LICENSE-MIT",
            "says": ["Permission is hereby granted, free of charge, to any person obtaining a copy",
                     "The above copyright notice and this permission notice shall be included in all",
                     'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND']},
}

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def text(s):
    return isinstance(s, str)


def local_file(value):
    """The path of a local file the metadata names, or None when it is no such thing."""
    if not text(value) or not value or "://" in value or os.path.isabs(value):
        return None
    path = os.path.normpath(os.path.join(ROOT, value))
    return path if path.startswith(ROOT + os.sep) and os.path.isfile(path) else None


def https_url(value):
    if not text(value) or re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and "." in parts.hostname


source = yaml_parse(open(TEMPLATE).read())
meta = source.get("Metadata", {}).get("AWS::ServerlessRepo::Application")
if not isinstance(meta, dict):
    sys.exit("template.yaml has no Metadata: AWS::ServerlessRepo::Application mapping")
with open(CARGO, "rb") as f:
    package = tomllib.load(f)["package"]

check(set(meta) <= DOCUMENTED, "only documented properties (unknown: %s)" % sorted(set(meta) - DOCUMENTED))
check(all(text(v) for k, v in meta.items() if k != "Labels"),
      "every property is a plain string (no intrinsic functions; a version like 1.0 must be quoted)")
check({"Name", "Description", "Author"} <= set(meta), "the required Name, Description and Author are set")
check({"SemanticVersion", "LicenseUrl"} <= set(meta), "SemanticVersion and LicenseUrl are set (needed to share publicly)")

name = meta.get("Name")
check(text(name) and 1 <= len(name) <= 140 and NAME.fullmatch(name) is not None,
      "Name: 1-140 of a-z A-Z 0-9 - (%r)" % name)
description = meta.get("Description")
check(text(description) and 1 <= len(description) <= 256,
      "Description: 1-256 characters (%s)" % (len(description) if text(description) else description))
author = meta.get("Author")
check(text(author) and 1 <= len(author) <= 127 and AUTHOR.fullmatch(author) is not None,
      "Author: 1-127 of a-z 0-9 and single inner hyphens (%r)" % author)

labels = meta.get("Labels", [])
check(isinstance(labels, list) and len(labels) <= 10, "Labels: at most 10 (%s)" % (len(labels) if isinstance(labels, list) else labels))
for label in labels if isinstance(labels, list) else []:
    check(text(label) and 1 <= len(label) <= 127 and LABEL.fullmatch(label) is not None,
          "Label %r: 1-127 of a-z A-Z 0-9 + - _ : / @" % label)

version = meta.get("SemanticVersion")
check(text(version) and SEMVER.fullmatch(version) is not None, "SemanticVersion is SemVer 2.0.0 (%r)" % version)
check(version == package["version"],
      "SemanticVersion equals Cargo.toml's version (%r, %r): bump both together" % (version, package["version"]))

# Cargo.toml's licence is a choice ("A OR B"): the application may be published under either.
expression = package["license"]
ids = re.split(r"\s+OR\s+", expression.strip())
check(all(re.fullmatch(r"[A-Za-z0-9.+-]+", i) for i in ids),
      "Cargo.toml's license is a choice of plain SPDX ids (%r)" % expression)
spdx = meta.get("SpdxLicenseId")
check(spdx in ids, "SpdxLicenseId %r is one of Cargo.toml's %r" % (spdx, expression))
for i in ids:
    known = LICENCES.get(i)
    path = known and local_file(known["file"])
    body = open(path, encoding="utf-8").read() if path else ""
    check(bool(path) and all(s in body for s in known["says"]),
          "%s: the repository's %s holds its text" % (i, known["file"] if known else "(no known file)"))

licence_path = local_file(meta.get("LicenseUrl"))
check(licence_path is not None, "LicenseUrl names a local file of the repository (%r)" % meta.get("LicenseUrl"))
if licence_path:
    size = os.path.getsize(licence_path)
    check(0 < size <= MAX_FILE_BYTES, "LicenseUrl: at most 5 MB (%d bytes)" % size)
    known = LICENCES.get(spdx, {})
    check(os.path.relpath(licence_path, ROOT) == known.get("file"),
          "LicenseUrl is the file of SpdxLicenseId %r (%s)" % (spdx, known.get("file")))
    # Its text was checked above, with Cargo.toml's licences.
    raw = open(licence_path, "rb").read()
    if "sha256" in known:
        check(hashlib.sha256(raw).hexdigest() == known["sha256"],
              "LicenseUrl is the licence's canonical text, byte for byte")

readme_path = local_file(meta.get("ReadmeUrl"))
check(readme_path is not None and readme_path.endswith(".md"),
      "ReadmeUrl names a local Markdown file of the repository (%r)" % meta.get("ReadmeUrl"))
if readme_path:
    size = os.path.getsize(readme_path)
    check(0 < size <= MAX_FILE_BYTES, "ReadmeUrl: at most 5 MB (%d bytes)" % size)

repository = package.get("repository")
check(https_url(repository), "Cargo.toml's repository is an https URL (%r)" % repository)
for key in ["HomePageUrl", "SourceCodeUrl"]:
    check(https_url(meta.get(key)) and meta.get(key) == repository,
          "%s equals Cargo.toml's repository (%r, %r)" % (key, meta.get(key), repository))

if failures:
    sys.exit("SAR metadata checks failed: %s" % failures)
print("SAR metadata checks passed")
