"""Shared pieces of the Supabase-cluster TAP tests (python3 stdlib only):
psql as a given role with the SQLSTATE of a failure, and the mock server's
request log. The cluster comes from test/supabase/cluster.sh (PGHOST/PGPORT)
and the mock from TRAJC_MOCK_URL; run by test/supabase/run.sh.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "cli", "lib"))
from trajc_tap import Tap  # noqa: E402,F401

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MOCK = os.environ["TRAJC_MOCK_URL"]
ROOT = os.environ["TRAJC_SUPABASE_ROOT"]
AFTER_CREATE = os.path.join(REPO, "supabase", "extension-custom-scripts", "trajc",
                            "after-create.sql")


class SqlError(Exception):
    def __init__(self, sqlstate, message):
        super().__init__("%s: %s" % (sqlstate, message))
        self.sqlstate = sqlstate


def sql(text, user="postgres", db="postgres"):
    """Runs text as `user` (one psql session); returns rows as lists of strings."""
    cmd = ["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1",
           "-U", user, "-d", db]
    r = subprocess.run(cmd, input="\\set VERBOSITY verbose\n" + text, capture_output=True,
                       text=True)
    if r.returncode != 0:
        m = re.search(r"ERROR:\s+([0-9A-Z]{5}): (.*)", r.stderr)
        if m:
            raise SqlError(m.group(1), m.group(2))
        raise RuntimeError("psql as %s failed: %s" % (user, r.stderr))
    return [line.split("\t") for line in r.stdout.splitlines() if line != ""]


def one(text, **kw):
    rows = sql(text, **kw)
    return rows[0][0] if rows else None


def sqlstate_of(text, **kw):
    """The SQLSTATE text fails with, or None when it succeeds."""
    try:
        sql(text, **kw)
        return None
    except SqlError as e:
        return e.sqlstate


def requests_for(session):
    """The requests the mock received for one session (its prompt's Session: line)."""
    with urllib.request.urlopen(MOCK + "/_requests") as r:
        log = json.load(r)
    return [e for e in log if e.get("session") == session]


def header(entry, name):
    return {k.lower(): v for k, v in entry["headers"].items()}.get(name)


# Functions of the trajc extension that `role` may execute although PUBLIC may not.
NON_PUBLIC_EXECUTABLE = """
  SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
   WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'trajc')
     AND has_function_privilege('%(role)s', p.oid, 'EXECUTE')
     AND NOT has_function_privilege('public', p.oid, 'EXECUTE')"""
