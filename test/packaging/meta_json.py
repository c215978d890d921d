"""Packaging conventions: META.json is a valid PGXN Meta Spec 1.0.0 document
for the version the control file installs, and LICENSE is the license it
names. python3 stdlib only; run by scripts/test.sh (part `packaging`).
"""
import json
import os
import re
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "cli", "lib"))
from trajc_tap import Tap  # noqa: E402

t = Tap()
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$")
# The license strings PGXN Meta Spec 1.0.0 knows.
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
            "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
            "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
            "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"}

with open(os.path.join(REPO, "META.json")) as f:
    text = f.read()
try:
    meta = json.loads(text)
    t.ok(True, "META.json is JSON")
except ValueError as e:
    t.bail("META.json is not JSON: %s" % e)

with open(os.path.join(REPO, "trajc.control")) as f:
    control = dict(re.findall(r"^(\w+)\s*=\s*'([^']*)'", f.read(), re.M))

for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    t.ok(key in meta and meta[key], "META.json has %s (required by the spec)" % key)
t.eq(meta.get("meta-spec", {}).get("version"), "1.0.0", "meta-spec version 1.0.0")
t.eq(meta.get("name"), "trajc", "name is trajc")
t.ok(SEMVER.match(str(meta.get("version", ""))), "version is semantic (%s)" % meta.get("version"))
t.eq(meta.get("version"), control.get("default_version"),
     "version is trajc.control's default_version")
t.ok(meta.get("license") in LICENSES, "license is one PGXN knows (%s)" % meta.get("license"))
t.ok(meta.get("release_status", "stable") in ("stable", "testing", "unstable"),
     "release_status is stable, testing or unstable")
ext = meta.get("provides", {}).get("trajc", {})
t.eq(ext.get("version"), control.get("default_version"), "provides.trajc.version matches")
t.ok(ext.get("file") and os.path.exists(os.path.join(REPO, ext["file"])),
     "provides.trajc.file exists (%s)" % ext.get("file"))
t.ok(ext.get("docfile") and os.path.exists(os.path.join(REPO, ext["docfile"])),
     "provides.trajc.docfile exists")
requires = meta.get("prereqs", {}).get("runtime", {}).get("requires", {})
t.ok("15" in str(requires.get("PostgreSQL", "")), "runtime prereq names PostgreSQL 15")
with open(os.path.join(REPO, "LICENSE")) as f:
    t.ok(f.readline().strip() == "PostgreSQL License", "LICENSE is the PostgreSQL License")
