"""A worker down before a batch starts, on a Citus cluster (issue 14): the
listing is made node by node (trajc.citus_list), so trajc_compile_batch,
CALL trajc_compile_pending and a trajc_start job compile the reachable
workers' sessions and report the unreachable one's part failed with the node
and the reason; once it is back, the next run compiles exactly what was
missed, each session compiled once in all. First, that the node-by-node
listing is exactly trajc_extract's over the whole log, ties included.

    test/citus/run.sh     (starts the cluster and runs prove on this directory)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from citus_tap import (PORTS, Tap, cluster, holders, load_audit_log, mock_reset,  # noqa: E402
                       psql, rows, wait_for)

SESSIONS = 12
t = Tap()

psql("DROP EXTENSION IF EXISTS trajc CASCADE; DROP TABLE IF EXISTS audit_log; CREATE EXTENSION trajc;",
     options="-c client_min_messages=warning")
load_audit_log(SESSIONS)
# Ties for the listing's order: sessions with the same turn count and the same
# last turn, among themselves and with the sample's, so only the session id
# decides ('tie-10' sorts before 'tie-9').
psql("""INSERT INTO audit_log (id, session_id, agent, tool, action, actor, category, success,
                               arguments, response, cost_usd, duration_ms, created_at)
        SELECT 100000 + s * 100 + k, 'tie-' || s, l.agent, l.tool, l.action, l.actor,
               l.category, l.success, l.arguments, l.response, l.cost_usd, l.duration_ms,
               timestamptz '2026-01-01 00:00:00+00' + k * interval '1 minute'
          FROM generate_series(1, 12) s
         CROSS JOIN LATERAL (
                 SELECT a.*, row_number() OVER (ORDER BY a.created_at, a.id) AS k
                   FROM audit_log a WHERE a.session_id = 's-' || s) l
         WHERE l.k <= 12""")
psql("SELECT create_distributed_table('audit_log', 'session_id')",
     options="-c client_min_messages=warning")
psql("SELECT count(*) FROM trajc_distribute()", options="-c client_min_messages=warning")
ALL = [r[0] for r in rows(psql("SELECT session_id FROM trajc_extract(10, 0) ORDER BY 1"))]
HOLDER = holders(ALL)
W1 = sorted(s for s in ALL if HOLDER[s] == "worker1")
W2 = sorted(s for s in ALL if HOLDER[s] == "worker2")
TIES = [s for s in ALL if s.startswith("tie-")]
if len(ALL) != SESSIONS + 12 or {HOLDER[s] for s in TIES} != {"worker1", "worker2"}:
    t.bail("the fixture needs %d sessions, 12 of them tied on both workers: %r"
           % (SESSIONS + 12, HOLDER))

# ------------------------------------------- the listing, node by node = whole log
EXTRACT = "SELECT coalesce(array_agg(e.session_id ORDER BY e.ord), '{}') FROM " \
          "trajc_extract(%d, %d) WITH ORDINALITY AS e(session_id, a, n, f, l, ord)"
NODE_BY_NODE = "SELECT coalesce(listed, '{}')::text || '|' || cardinality(failures) " \
               "FROM trajc.citus_list(%d, %d, '{}')"
differ = [(m, n) for m in (10, 12, 13) for n in range(0, len(ALL) + 2)
          if psql(NODE_BY_NODE % (m, n)) != psql(EXTRACT % (m, n)) + "|0"]
t.eq(differ, [], "for every min_turns and limit, the sessions listed node by node are "
     "trajc_extract's over the whole log, in its order, ties included")
cut = len(ALL) - 6  # within the tied sessions
batch = psql("SET trajc.provider = 'offline'; "
             "SELECT coalesce(array_agg(session_id ORDER BY session_id), '{}') "
             "FROM trajc_compile_batch(10, %d, NULL, true)" % cut)
t.eq(batch, psql("SELECT array_agg(session_id ORDER BY session_id) FROM trajc_extract(10, %d)"
                 % cut), "a batch with a limit that cuts through the ties compiles exactly "
     "trajc_extract's sessions")


def ok_once():
    """How many sessions were compiled ok, and how many of them more than once."""
    return psql("SELECT count(*) || '/' || count(*) FILTER (WHERE n > 1) FROM ("
                "SELECT session_id, count(*) AS n FROM trajc.compile_log WHERE status = 'ok' "
                "GROUP BY 1) c")


def skipped_sessions():
    """The sessions a later run found already compiled (the hash-skip)."""
    return sorted(psql("SELECT DISTINCT session_id FROM trajc.compile_log "
                       "WHERE status = 'skipped'").split())


def ok_sessions(among=None):
    """The sessions compiled ok; only `among` when given (with worker2 down,
    read only worker1's shards: Citus prunes the query to them)."""
    only = " AND session_id IN (%s)" % ", ".join("'%s'" % s for s in among) if among else ""
    return sorted(psql("SELECT DISTINCT session_id FROM trajc.compile_log "
                       "WHERE status = 'ok'" + only).split())


DOWN = "node 127.0.0.1:%d failed: " % PORTS["worker2"]


def worker2_down():
    """A clean slate (while every node is up), then worker2 stopped."""
    psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
    mock_reset()
    cluster("stop-node", "worker2")


# ------------------------------------------------------------- the batch
worker2_down()
r = psql("SET trajc.provider = 'offline'; "
         "SELECT coalesce(session_id, '-'), status, coalesce(error, '') "
         "FROM trajc_compile_batch(10, 0)", check=False)
got = rows(r.stdout) if r.returncode == 0 else []
compiled = sorted(s for s, status, _ in got if status == "ok")
failed = [e for s, status, e in got if s == "-"]
t.ok(r.returncode == 0 and compiled == W1,
     "worker2 down before the batch starts: the batch compiles every worker1 session", r.stderr)
t.ok(len(got) == len(W1) + 1 and len(failed) == 1 and failed[0].startswith(DOWN)
     and "failed to connect" in failed[0] and "not listed" in failed[0],
     "... and reports worker2's part as one failed row, naming the node and the reason", got)
cluster("start-node", "worker2")
got = dict((s, status) for s, status in rows(psql(
    "SET trajc.provider = 'offline'; SELECT session_id, status FROM trajc_compile_batch(10, 0)")))
t.ok(sorted(s for s, st in got.items() if st == "ok") == W2
     and sorted(s for s, st in got.items() if st == "skipped") == W1
     and ok_once() == "%d/0" % len(ALL),
     "worker2 back, the next batch compiles exactly worker2's sessions (worker1's are skipped): "
     "every session compiled, each once in all", (got, ok_once()))

# ------------------------------------------------------------- the procedure
worker2_down()
r = psql("SET trajc.provider = 'offline'; CALL trajc_compile_pending(10, 0)", check=False)
t.ok(r.returncode == 0 and ok_sessions(W1) == W1,
     "worker2 down: CALL trajc_compile_pending compiles every worker1 session", r.stderr)
t.ok(("WARNING:  trajc: " + DOWN) in r.stderr and "not listed" in r.stderr
     and "%d ok, 0 empty, 1 failed" % len(W1) in r.stderr,
     "... warns that worker2's sessions were not listed, with the reason, and counts it failed",
     r.stderr)
cluster("start-node", "worker2")
psql("SET trajc.provider = 'offline'; CALL trajc_compile_pending(10, 0)")
t.ok(ok_sessions() == sorted(ALL) and skipped_sessions() == W1
     and ok_once() == "%d/0" % len(ALL),
     "worker2 back, the next CALL compiles exactly the missed sessions (worker1's are skipped), "
     "each once in all", (ok_once(), skipped_sessions()))

# ------------------------------------------------------------- a background job
JOB = "SELECT status || '|' || coalesce(error, '') FROM trajc.jobs WHERE id = %s"


def run_job():
    jid = psql("SET trajc.provider = 'offline'; SELECT trajc_start(10, 0)")
    wait_for(lambda: psql("SELECT status IN ('done', 'failed', 'cancelled') FROM trajc.jobs "
                          "WHERE id = %s" % jid) == "t", 120)
    return psql(JOB % jid).split("|", 1)


worker2_down()
status, error = run_job()
t.ok(status == "done" and ok_sessions(W1) == W1,
     "worker2 down: a trajc_start job ends done, every worker1 session compiled", (status, error))
t.ok(error.startswith(DOWN) and "failed to connect" in error and "not listed" in error,
     "... and its row's error says worker2's sessions were not listed, and why", error)
cluster("start-node", "worker2")
status, error = run_job()
t.ok((status, error) == ("done", "") and ok_sessions() == sorted(ALL)
     and skipped_sessions() == W1 and ok_once() == "%d/0" % len(ALL),
     "worker2 back, the next job compiles exactly the missed sessions (worker1's are skipped), "
     "each once in all, and ends done with no error",
     (status, error, ok_once(), skipped_sessions()))

