"""trajc on a Citus cluster (issue 14): a coordinator and two workers, the
audit log distributed by session, trajc_distribute(), then compiles through
the coordinator against the mock: each session read, compiled and stored on
the node holding it, with that node's key; batches fanned out to every worker
at once; two concurrent batches; a worker stopped mid-batch.

    test/citus/run.sh     (starts the cluster and runs prove on this directory)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from citus_tap import (PORTS, REPO, Tap, cluster, holders, load_audit_log, max_overlap,  # noqa: E402
                       mock_requests, mock_reset, psql, rows, sender, shard_of, sql_array,
                       start_psql, stored_at, wait_for)

SESSIONS = 24
t = Tap()

# ---------------------------------------------------------------- the cluster
t.eq(psql("SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary'"), "3",
     "the cluster has three active nodes")
t.eq(psql("SELECT count(*) FROM citus_get_active_worker_nodes()"), "2", "two of them workers")
t.eq(psql("SELECT string_agg(result, ',') FROM run_command_on_all_nodes("
          "$$SELECT extversion FROM pg_extension WHERE extname = 'trajc'$$)"), "0.2.0,0.2.0,0.2.0",
     "trajc is installed on every node (created on the coordinator, propagated by Citus)")
t.eq(psql("SELECT string_agg(result, ',') FROM run_command_on_all_nodes("
          "$$SELECT current_setting('shared_preload_libraries')$$)"),
     "citus,trajc,citus,trajc,citus,trajc", "every node preloads citus, then trajc")

# A clean slate in the cluster's database.
psql("DROP EXTENSION IF EXISTS trajc CASCADE; DROP TABLE IF EXISTS audit_log; CREATE EXTENSION trajc;",
     options="-c client_min_messages=warning")
load_audit_log(SESSIONS)
ALL = [r[0] for r in rows(psql("SELECT session_id FROM trajc_extract(10, 0) ORDER BY 1"))]
t.eq(len(ALL), SESSIONS, "the sample audit log has %d sessions of 10+ turns" % SESSIONS)

# ---------------------------------------------------------- trajc_distribute()
r = psql("SELECT * FROM trajc_distribute()", check=False)
t.ok(r.returncode != 0 and "not distributed by its session column" in r.stderr
     and "create_distributed_table('audit_log', 'session_id')" in r.stderr,
     "trajc_distribute() before the audit log is distributed: an error whose hint says how",
     r.stderr)

# Pairs compiled on the coordinator before distribution must survive it.
psql("SET trajc.provider = 'offline'; SELECT count(*) FROM trajc_compile_batch(10, 3, NULL, true)")
before = psql("SELECT count(*) || '/' || count(DISTINCT compile_id) FROM trajc.qa_pairs")
psql("SELECT create_distributed_table('audit_log', 'session_id')",
     options="-c client_min_messages=warning")
actions = dict(rows(psql("SELECT object, action FROM trajc_distribute()",
                         options="-c client_min_messages=warning")))
t.ok(actions.get("trajc.compile_log", "").startswith("distributed by session_id")
     and actions.get("trajc.qa_pairs", "").startswith("distributed by session_id")
     and actions.get("trajc.models") == "reference table"
     and actions.get("trajc.batches") == "reference table"
     and actions.get("trajc.batch_requests", "").startswith("distributed by session_id")
     and actions.get("trajc_compile(text,text,boolean)") == "delegated by session_id"
     and actions.get("trajc_compile_session(text,text,boolean)") == "delegated by session_id",
     "trajc_distribute() distributes the log, the pairs and the batch requests, makes the models "
     "and the batch jobs reference tables and delegates trajc_compile and trajc_compile_session by "
     "session", actions)
colocated = psql("""SELECT count(DISTINCT colocationid) FROM pg_dist_partition
                     WHERE logicalrelid IN ('audit_log'::regclass, 'trajc.qa_pairs'::regclass,
                                            'trajc.compile_log'::regclass,
                                            'trajc.batch_requests'::regclass)""")
t.eq(colocated, "1", "audit_log, trajc.qa_pairs, trajc.compile_log and trajc.batch_requests are "
     "colocated")
t.eq(psql("SELECT count(*) || '/' || count(DISTINCT compile_id) FROM trajc.qa_pairs"), before,
     "pairs compiled before distributing are all still there, with their compile ids")
again = rows(psql("SELECT object, action FROM trajc_distribute()"))
t.ok(all(a.startswith("already") or o == "compile_log ids" for o, a in again)
     and sorted(o for o, _ in again) == sorted(actions),
     "trajc_distribute() again changes nothing and says so (idempotent)", again)
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")

HOLDER = holders(ALL)
t.ok(set(HOLDER.values()) == {"worker1", "worker2"},
     "the sessions' shards are spread over both workers (none on the coordinator)", HOLDER)

# --------------------------------------------- one session, delegated by Citus
one = ALL[0]
mock_reset()
n = psql("SELECT count(*) FROM trajc_compile('%s')" % one)
reqs = mock_requests()
t.eq(n, "2", "trajc_compile('%s') on the coordinator returns its pairs" % one)
t.eq([sender(e) for e in reqs], [HOLDER[one]],
     "its one request left from the node holding the session (%s), with that node's key"
     % HOLDER[one])
where = stored_at("trajc.qa_pairs")
t.eq(where.get(one), [(HOLDER[one], shard_of([one])[one])],
     "its pairs are stored in the session's own shard, on that node")

r = psql("BEGIN; SELECT count(*) FROM trajc_compile('%s'); COMMIT;" % one, check=False)
t.ok(r.returncode != 0 and "is held by the Citus node 127.0.0.1:%d" % PORTS[HOLDER[one]] in r.stderr
     and "outside a transaction block" in r.stderr,
     "in a transaction block (not delegated), the coordinator refuses to compile a session it "
     "does not hold, rather than claim it in the wrong place", r.stderr)

# ------------------------------------------- a batch fanned out to the workers
# Settings of the caller's session travel with the call (provider, model,
# concurrency); keys and base URLs are each node's own.
mock_reset()
out = psql("""SET trajc.provider = 'openai'; SET trajc.model = 'mock:slow=300';
              SET trajc.concurrency = 2;
              SELECT session_id, status, pairs, error FROM trajc_compile_batch(10, 0)""")
result = {r[0]: r[1:] for r in rows(out)}
reqs = mock_requests()
t.eq(sorted(result), ALL, "the batch through the coordinator reports every session once")
t.eq(sorted(s for s, r in result.items() if r[0] == "ok"), sorted(set(ALL) - {one}),
     "every session not compiled before is ok; the one compiled before is skipped (hash-skip)",
     out)
t.eq(result[one][0], "skipped", "... skipped as unchanged since its last compile", result[one])
by_node = {}
for e in reqs:
    by_node.setdefault(sender(e), []).append(e)
t.eq(sorted(by_node), ["worker1", "worker2"], "requests arrived from both workers, none from "
     "the coordinator", sorted(by_node))
t.ok(all(HOLDER[e["session"]] == sender(e) for e in reqs) and len(reqs) == SESSIONS - 1,
     "each session's one request came from the node holding it", [(e["session"], sender(e)) for e in reqs])
t.ok(all(e["path"] == "/v1/chat/completions" and e["body"].get("model") == "mock:slow=300"
         for e in reqs),
     "the caller's trajc.provider and trajc.model reached the workers")
per_node = {n: max_overlap(es) for n, es in by_node.items()}
t.ok(all(v == 2 for v in per_node.values()) and max_overlap(reqs) > 2,
     "each worker kept its own trajc.concurrency (2) in flight, both at once (%s, %d overall)"
     % (per_node, max_overlap(reqs)))
where = stored_at("trajc.qa_pairs")
shards = shard_of(ALL)
t.ok(all(where.get(s) == [(HOLDER[s], shards[s])] for s in ALL),
     "every session's pairs are in its own shard, on the node that compiled it",
     {s: (where.get(s), HOLDER[s], shards[s]) for s in ALL if where.get(s) != [(HOLDER[s], shards[s])]})
log_where = stored_at("trajc.compile_log")
log_shards = shard_of(ALL, "trajc.compile_log")
t.ok(all(log_where.get(s) == [(HOLDER[s], log_shards[s])] for s in ALL),
     "and so is every session's compile_log")
t.eq(psql("SELECT count(*) = count(DISTINCT id) FROM trajc.compile_log"), "t",
     "compile_log ids are unique cluster-wide (each node inserts from its own range)")

mock_reset()
out = psql("SELECT status, count(*) FROM trajc_compile_batch(10, 0) GROUP BY 1")
t.eq(out, "skipped|%d" % SESSIONS, "run again, the batch skips every session (the hash-skip reads "
     "each session's compile_log on its node)")
t.eq(len(mock_requests()), 0, "... and sends nothing")

# ------------------------------------------------------- two concurrent batches
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
batch = ("SET trajc.model = 'mock:slow=200'; SET trajc.concurrency = 3; "
         "SELECT session_id, status, coalesce(error, '') FROM trajc_compile_batch(10, 0);")
a, b = start_psql(batch), start_psql(batch)
outs = [a.finish(), b.finish()]
t.ok(all(rc == 0 for rc, _, _ in outs), "two batches at once on the coordinator both finish",
     [err for _, _, err in outs])
ok_count = {}
for _, out, _ in outs:
    for s, status, _ in rows(out):
        ok_count[s] = ok_count.get(s, 0) + (status == "ok")
t.ok(sorted(ok_count) == ALL and all(v == 1 for v in ok_count.values()),
     "every session was compiled ok by exactly one of them", ok_count)
t.eq(psql("SELECT count(*) FROM trajc.compile_log WHERE status = 'ok'"), str(SESSIONS),
     "one ok compile per session in compile_log")
sent = {}
for e in mock_requests():
    sent[e["session"]] = sent.get(e["session"], 0) + 1
t.ok(sorted(sent) == ALL and all(v == 1 for v in sent.values()),
     "one request per session left the cluster (claims taken on the node holding each session)",
     sent)

# ------------------------------------------------- the procedure, fanned out too
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
r = psql("CALL trajc_compile_pending(10, 0)", check=False)
t.ok(r.returncode == 0 and "trajc_compile_pending: %d ok, 0 empty, 0 failed, 0 skipped" % SESSIONS
     in r.stderr, "CALL trajc_compile_pending on the coordinator compiles every session on its node",
     r.stderr)
t.eq(sorted({sender(e) for e in mock_requests()}), ["worker1", "worker2"],
     "... from both workers")

# ------------------------------------------ provider batch mode over the cluster
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE; TRUNCATE trajc.batches CASCADE")
r = psql("CALL trajc_batch_submit(10, 6)", check=False)
sent = [x[0] for x in rows(psql("SELECT session_id FROM trajc.batch_requests ORDER BY 1"))]
t.ok(r.returncode == 0 and len(sent) == 6, "trajc_batch_submit on the coordinator sends 6 sessions "
     "in a provider batch job", r.stderr)
online = dict((x[0], x[1:]) for x in rows(psql(
    "SELECT session_id, status, coalesce(error, '') FROM trajc_compile_batch(10, 0)")))
t.ok(all(online[s][0] == "skipped" and "provider batch" in online[s][1] for s in sent)
     and all(online[s][0] == "ok" for s in ALL if s not in sent),
     "while the job is open, the workers' online compiles leave its sessions alone (each worker "
     "reads the session's batch_requests shard)", {s: online[s] for s in sent})
t.ok(wait_for(lambda: psql("CALL trajc_batch_collect(); "
                           "SELECT count(*) FROM trajc.batches WHERE collected_at IS NOT NULL",
                           options="-c client_min_messages=warning") == "1", 60),
     "trajc_batch_collect on the coordinator collects the job")
where = stored_at("trajc.qa_pairs")
t.ok(all(where.get(s) == [(HOLDER[s], shards[s])] for s in sent)
     and psql("SELECT string_agg(DISTINCT status, ',') FROM trajc.batch_requests") == "ok",
     "its pairs are stored in each session's own shard, every request ok")

# --------------------------------------------------- a worker stopped mid-batch
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
p = start_psql("SET trajc.model = 'mock:slow=1000'; SET trajc.concurrency = 3; "
               "SELECT session_id, status, coalesce(error, '') FROM trajc_compile_batch(10, 0);")
wait_for(lambda: any(sender(e) == "worker2" for e in mock_requests()))  # worker2 busy
cluster("stop-node", "worker2")
rc, out, err = p.finish()
result = {r[0]: r[1:] for r in rows(out)}
w1 = sorted(s for s in ALL if HOLDER[s] == "worker1")
w2 = sorted(s for s in ALL if HOLDER[s] == "worker2")
t.ok(rc == 0 and sorted(result) == ALL,
     "with worker2 stopped mid-batch, the batch still reports every session", err)
t.ok(all(result[s][0] == "ok" for s in w1), "worker1's sessions are compiled",
     {s: result[s] for s in w1})
t.ok(all(result[s][0] == "failed" and "node 127.0.0.1:%d failed" % PORTS["worker2"] in result[s][1]
         for s in w2),
     "worker2's sessions are reported failed, naming the node and the reason",
     {s: result[s] for s in w2})
cluster("start-node", "worker2")
mock_reset()
out = psql("SELECT session_id, status FROM trajc_compile_batch(10, 0)")
result = dict(rows(out))
t.ok(all(result[s] == "skipped" for s in w1)
     and all(result[s] in ("ok", "skipped") for s in w2)
     and psql("SELECT count(DISTINCT session_id) FROM trajc.compile_log WHERE status = 'ok'")
     == str(SESSIONS),
     "worker2 back, the next batch compiles what it had not finished: no session lost", out)

# ----------------------------------------------------- reading from the coordinator
stats = dict((r[0], r[1:]) for r in rows(psql("SELECT * FROM trajc_stats()")))
counts = psql("SELECT count(*) || '|' || count(DISTINCT session_id) FROM trajc.qa_pairs")
t.eq("|".join(stats["total"][:2]), counts, "trajc_stats() on the coordinator counts every shard")
sample = rows(psql("SELECT id, session_id FROM trajc_sample(5)"))
t.ok(len(sample) == 5 and all(s in ALL for _, s in sample),
     "trajc_sample() on the coordinator draws from the distributed pairs")
mock_reset()
r = psql("SELECT status FROM trajc_compile_session('%s', NULL, true)" % ALL[1])
t.ok(r == "ok" and [sender(e) for e in mock_requests()] == [HOLDER[ALL[1]]],
     "trajc_compile_session() is delegated like trajc_compile (the request left from %s)"
     % HOLDER[ALL[1]], r)
tool = os.environ.get("TRAJC_BIN") or os.path.join(REPO, "build", "trajc")
exported = subprocess.run([tool, "export", "--format", "jsonl", "--out", "-"],
                          capture_output=True, text=True,
                          env=dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(PORTS["coordinator"]),
                                   PGDATABASE="trajc"))
lines = [json.loads(l) for l in exported.stdout.splitlines() if l]
t.ok(exported.returncode == 0
     and sorted(l["id"] for l in lines) == sorted(psql("SELECT id FROM trajc.qa_pairs").split()),
     "the companion tool's export through the coordinator streams every pair of every shard",
     exported.stderr)
with_settings = psql("""CALL trajc.compile_sessions(ARRAY['x'], NULL, false,
                        '{"trajc.openai_api_key": "k"}')""", check=False)
t.ok(with_settings.returncode != 0 and "cannot be passed" in with_settings.stderr,
     "trajc.compile_sessions refuses to apply a key passed as a setting", with_settings.stderr)

# ------------------------------------- a role that is not a superuser, as the README says
psql("""DROP ROLE IF EXISTS trajc_citus_analyst; CREATE ROLE trajc_citus_analyst LOGIN;
        GRANT SELECT ON audit_log, trajc.models TO trajc_citus_analyst;
        GRANT SELECT, INSERT ON trajc.qa_pairs, trajc.compile_log, trajc.qa_pair_bands TO trajc_citus_analyst;""",
     options="-c client_min_messages=warning")
denied = psql("SET ROLE trajc_citus_analyst; SELECT count(*) FROM trajc_compile_batch(10, 2, force => true)",
              check=False)
t.ok(denied.returncode != 0 and "permission denied" in denied.stderr,
     "without the grants, the role may not run a batch", denied.stderr)
grants = psql("""SELECT string_agg(result, ',') FROM run_command_on_all_nodes($cmd$
  DO $grant$ BEGIN
    PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
    GRANT USAGE ON SCHEMA trajc TO trajc_citus_analyst;
    GRANT EXECUTE ON FUNCTION trajc_compile(text, text, boolean),
                              trajc_compile_session(text, text, boolean),
                              trajc_compile_batch(int, int, text, boolean),
                              trajc.citus_fan_out(text[], int, text, boolean, jsonb, float8)
                           TO trajc_citus_analyst;
    GRANT EXECUTE ON PROCEDURE trajc_compile_pending(int, int, text),
                               trajc.compile_sessions(text[], text, boolean, jsonb, jsonb)
                            TO trajc_citus_analyst;
  END $grant$ $cmd$)""")
out = psql("SET ROLE trajc_citus_analyst; "
           "SELECT status, count(*) FROM trajc_compile_batch(10, 0, force => true) GROUP BY 1; "
           "SELECT count(*) FROM trajc_compile('%s');" % ALL[2])
t.eq(grants + "/" + out, "DO,DO,DO/ok|%d\n2" % SESSIONS,
     "granted on every node as the README shows, the role compiles through the coordinator, "
     "batch and delegated call alike")
psql("DROP OWNED BY trajc_citus_analyst; DROP ROLE trajc_citus_analyst;",
     options="-c client_min_messages=warning")

# ------------------------------------------- a cancelled batch stops every node
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
p = start_psql("SET trajc.model = 'mock:slow=5000'; SET trajc.concurrency = 2; "
               "SELECT count(*) FROM trajc_compile_batch(10, 0);", name="trajc_citus_cancel")
wait_for(lambda: {sender(e) for e in mock_requests()} == {"worker1", "worker2"})
busy = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CALL trajc.compile_sessions%'"
psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'trajc_citus_cancel'")
rc, out, err = p.finish()
t.ok(rc != 0 and "canceling statement" in err, "a batch cancelled on the coordinator ends (57014)",
     err)
t.ok(wait_for(lambda: psql(busy, "worker1") == "0" and psql(busy, "worker2") == "0", 4),
     "... and the workers' shares stop too, before their 5 s requests are answered")
