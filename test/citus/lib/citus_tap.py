"""Shared pieces of the Citus TAP tests (python3 stdlib only).

They run against the cluster test/citus/run.sh starts (a coordinator and two
workers, scripts/citus-cluster.sh) and its own mock model server, whose
request log tells which node sent each request: every node has its own test
key (`test-<provider>-key-s3cr3t-<node>`), set with ALTER SYSTEM on that node.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "cli", "lib"))
from trajc_tap import Tap  # noqa: E402,F401  (the TAP producer the other Python tests use)

MOCK = os.environ["TRAJC_MOCK_URL"]
# "coordinator:54430 worker1:54431 worker2:54432"
PORTS = dict((name, int(port)) for name, port in
             (w.split(":") for w in os.environ["TRAJC_CITUS_NODES"].split()))
NODE_OF_PORT = {port: name for name, port in PORTS.items()}


def psql(sql, node="coordinator", check=True, options=""):
    """Runs SQL on a node over loopback TCP; (returncode, stdout, stderr)."""
    env = dict(os.environ, PGOPTIONS=options) if options else None
    r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(PORTS[node]), "-d", "trajc"],
                       input=sql, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise RuntimeError("psql on %s failed: %s\n%s" % (node, r.stderr, sql[:400]))
    return r.stdout.strip() if check else r


class Background:
    """psql running SQL in the background; finish() waits for (stdout, stderr)."""

    def __init__(self, sql, node="coordinator", name="trajc_citus_test"):
        self.p = subprocess.Popen(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                                   "-h", "127.0.0.1", "-p", str(PORTS[node]), "-d", "trajc",
                                   "-c", sql],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, PGAPPNAME=name))

    def finish(self, timeout=120):
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, out, err


def start_psql(sql, node="coordinator", name="trajc_citus_test"):
    return Background(sql, node, name)


def wait_for(condition, seconds=60):
    """Polls `condition` until it holds (True) or the deadline passes (False)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def rows(text):
    return [l.split("|") for l in text.splitlines() if l]


def cluster(*args):
    subprocess.run([os.path.join(REPO, "scripts", "citus-cluster.sh")] + list(args),
                   check=True, capture_output=True)


def load_audit_log(sessions, mean_turns=14):
    """A sample audit log (no NULL sessions: Citus refuses them in the
    distribution column), keyed by (session_id, id) so it can be distributed."""
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                    "-p", str(PORTS["coordinator"]), "-d", "trajc",
                    "-v", "sessions=%d" % sessions, "-v", "mean_turns=%d" % mean_turns,
                    "-v", "min_turns=10", "-v", "max_turns=20", "-v", "short_pct=0",
                    "-v", "long_pct=0", "-v", "null_pct=0",
                    "-f", os.path.join(REPO, "scripts", "sample_audit_log.sql")],
                   check=True, capture_output=True,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=error"))
    psql("ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (session_id, id)")


def mock_reset():
    urllib.request.urlopen(urllib.request.Request(MOCK + "/_reset", data=b"{}", method="POST"))


def mock_requests():
    with urllib.request.urlopen(MOCK + "/_requests") as r:
        return json.load(r)


def sender(entry):
    """The node whose key the request carries (each node has its own)."""
    h = {k.lower(): v for k, v in entry["headers"].items()}
    key = h.get("x-goog-api-key") or h.get("x-api-key") or h.get("authorization", "")
    return key.rsplit("s3cr3t-", 1)[-1] if "s3cr3t-" in key else None


def holders(sessions):
    """session -> the node name whose placement holds its shard, as Citus says."""
    out = psql("""SELECT s, p.nodeport FROM unnest(%s::text[]) s
                    JOIN pg_dist_shard_placement p
                      ON p.shardid = get_shard_id_for_distribution_column('trajc.qa_pairs', s)"""
               % sql_array(sessions))
    return {s: NODE_OF_PORT[int(port)] for s, port in rows(out)}


def stored_at(table):
    """session -> (node, shard id) for every session with rows in `table`, as
    found by reading each shard placement itself."""
    out = psql("""SELECT nodeport, shardid, result
                    FROM run_command_on_placements('%s',
                           $$SELECT string_agg(DISTINCT session_id, ',') FROM %%s$$)
                   WHERE success AND result <> ''""" % table)
    found = {}
    for port, shard, sessions in rows(out):
        for s in sessions.split(","):
            found.setdefault(s, []).append((NODE_OF_PORT[int(port)], int(shard)))
    return found


def shard_of(sessions, table="trajc.qa_pairs"):
    """session -> the id of its shard of `table`, as Citus computes it."""
    out = psql("SELECT s, get_shard_id_for_distribution_column('%s', s) "
               "FROM unnest(%s::text[]) s" % (table, sql_array(sessions)))
    return {s: int(shard) for s, shard in rows(out)}


def sql_array(items):
    return "ARRAY[%s]" % ", ".join("'%s'" % i.replace("'", "''") for i in items)


def max_overlap(entries):
    """The most requests in flight at once among `entries`."""
    events = []
    for e in entries:
        events.append((e["received_ms"], 1))
        events.append((e["replied_ms"] if e["replied_ms"] is not None else float("inf"), -1))
    best = cur = 0
    for _, d in sorted(events, key=lambda x: (x[0], x[1])):
        cur += d
        best = max(best, cur)
    return best
