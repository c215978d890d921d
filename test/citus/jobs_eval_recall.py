"""Background jobs, eval and recall on a Citus cluster (issue 14): a job
started on the coordinator compiles each worker's sessions on that worker,
all workers at once, through the same fan-out as CALL trajc_compile_pending;
its progress, cancel and a stopped worker; then trajc_eval, its report,
trajc_recall, trajc_recall_report and trajc_retrieve over the distributed
tables, from the coordinator.

    test/citus/run.sh     (starts the cluster and runs prove on this directory)
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from citus_tap import (PORTS, Tap, cluster, holders, load_audit_log, max_overlap,  # noqa: E402
                       mock_requests, mock_reset, psql, rows, sender, shard_of, stored_at,
                       wait_for)

SESSIONS = 16
t = Tap()

# A clean slate, the audit log distributed, trajc following it.
psql("DROP EXTENSION IF EXISTS trajc CASCADE; DROP TABLE IF EXISTS audit_log; CREATE EXTENSION trajc;",
     options="-c client_min_messages=warning")
load_audit_log(SESSIONS)
ALL = [r[0] for r in rows(psql("SELECT session_id FROM trajc_extract(10, 0) ORDER BY 1"))]
psql("SELECT create_distributed_table('audit_log', 'session_id')",
     options="-c client_min_messages=warning")
actions = dict(rows(psql("SELECT object, action FROM trajc_distribute()",
                         options="-c client_min_messages=warning")))
t.ok(actions.get("trajc.eval_answers", "").startswith("distributed by session_id")
     and actions.get("trajc.eval_runs") == "reference table" and "trajc.jobs" not in actions,
     "trajc_distribute() distributes the eval answers with their pairs' sessions, makes the eval "
     "runs a reference table and leaves trajc.jobs alone", actions)
t.eq(psql("""SELECT count(DISTINCT colocationid) || '/' || count(*) FROM pg_dist_partition
              WHERE logicalrelid IN ('audit_log'::regclass, 'trajc.qa_pairs'::regclass,
                                     'trajc.qa_pair_bands'::regclass,
                                     'trajc.eval_answers'::regclass)"""), "1/4",
     "trajc.eval_answers and trajc.qa_pair_bands are colocated with the audit log and the pairs")
t.eq(psql("""SELECT string_agg(logicalrelid::text, ',' ORDER BY logicalrelid::text)
               FROM pg_dist_partition WHERE partmethod = 'n'"""),
     "trajc.batches,trajc.eval_runs,trajc.models",
     "the reference tables are the models, the provider batch jobs and the eval runs")
t.eq(psql("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'trajc.jobs'::regclass"),
     "0", "trajc.jobs stays a local table of the coordinator (a job is the server's, not a "
     "session's)")
t.eq(psql("""SELECT count(*) FROM pg_constraint
              WHERE conrelid = 'trajc.eval_answers'::regclass AND contype = 'f'"""), "2",
     "eval_answers keeps both its foreign keys (to its run and to its pair)")
HOLDER = holders(ALL)
W1 = sorted(s for s in ALL if HOLDER[s] == "worker1")
W2 = sorted(s for s in ALL if HOLDER[s] == "worker2")
t.ok(W1 and W2, "the sessions are spread over both workers", HOLDER)

JOB_DONE = "('done', 'failed', 'cancelled')"


def start_job(settings):
    return psql(settings + " SELECT trajc_start(10, 0);")


def job(jid):
    out = psql("SELECT status, coalesce(sessions_total, -1), sessions_done, pairs, cost_usd, "
               "coalesce(error, '') FROM trajc.jobs WHERE id = %s" % jid)
    return rows(out)[0] if out else None


def wait_job(jid, seconds=120):
    return wait_for(lambda: psql("SELECT status IN %s FROM trajc.jobs WHERE id = %s"
                                 % (JOB_DONE, jid)) == "t", seconds)


def ok_compiles():
    return psql("SELECT count(*) || '/' || count(DISTINCT session_id) FROM trajc.compile_log "
                "WHERE status = 'ok'")


# ----------------------------------------------- a job fanned out to the workers
mock_reset()
jid = start_job("SET trajc.provider = 'openai'; SET trajc.model = 'mock:slow=300'; "
                "SET trajc.concurrency = 2;")
t.ok(wait_job(jid), "a job started on the coordinator ends", job(jid))
status, total, done, pairs, cost, error = job(jid)
reqs = mock_requests()
t.eq((status, error), ("done", ""), "... done, with no error")
t.eq(ok_compiles(), "%d/%d" % (SESSIONS, SESSIONS), "every session has one ok compile")
t.eq((total, done), (str(SESSIONS), str(SESSIONS)),
     "the job's sessions_total and sessions_done count every session")
t.eq((pairs, cost), tuple(psql("SELECT (SELECT count(*) FROM trajc.qa_pairs) || '|' || "
                               "(SELECT sum(cost_usd) FROM trajc.compile_log)").split("|")),
     "its pairs and cost_usd match trajc.qa_pairs and trajc.compile_log")
t.ok(len(reqs) == SESSIONS and all(HOLDER[e["session"]] == sender(e) for e in reqs),
     "each session's one request left from the worker holding it, none from the coordinator",
     [(e["session"], sender(e)) for e in reqs])
by_node = {}
for e in reqs:
    by_node.setdefault(sender(e), []).append(e)
per_node = {n: max_overlap(es) for n, es in by_node.items()}
t.ok(sorted(per_node) == ["worker1", "worker2"] and all(v == 2 for v in per_node.values())
     and max_overlap(reqs) > 2,
     "each worker kept the job's trajc.concurrency (2) in flight, both at once (%s, %d overall)"
     % (per_node, max_overlap(reqs)))
where = stored_at("trajc.qa_pairs")
shards = shard_of(ALL)
t.ok(all(where.get(s) == [(HOLDER[s], shards[s])] for s in ALL),
     "every session's pairs landed in its own shard")

mock_reset()
jid = start_job("")
t.ok(wait_job(jid) and job(jid)[:4] == ["done", str(SESSIONS), str(SESSIONS), "0"]
     and len(mock_requests()) == 0,
     "a second job skips every session (the hash-skip on each worker) and sends nothing", job(jid))

# ------------------------------------------- progress while a Citus job runs
# The job's row, read from other connections while it runs: sessions_total
# from the listing on, sessions_done, pairs and cost_usd moving round by
# round (each node gets a few times trajc.concurrency sessions per round).
# The slow mock model is given a price (trajc.models, a reference table) so
# that cost_usd moves too.
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE; "
     "UPDATE trajc.models SET model = 'mock:slow=400' WHERE provider = 'openai' "
     "AND tier = 'premium'")
mock_reset()
jid = start_job("SET trajc.provider = 'openai'; SET trajc.model = 'mock:slow=400'; "
                "SET trajc.concurrency = 1;")
seen = []


def sample():
    seen.append(job(jid))
    return seen[-1][0] in ("done", "failed", "cancelled")


t.ok(wait_for(sample, 120), "a slow job watched from other connections ends", seen[-1])
running = [r for r in seen if r[0] == "running"]
t.ok(any(r[1] == str(SESSIONS) and int(r[2]) < SESSIONS for r in running),
     "while it runs, its row shows sessions_total (%d) before every session is done" % SESSIONS,
     running[:3])
midway = [r for r in running if 0 < int(r[2]) < SESSIONS]
t.ok(midway and all(int(r[3]) > 0 and float(r[4]) > 0 for r in midway),
     "... and sessions_done, pairs and cost_usd moving while it runs (%s)"
     % sorted({int(r[2]) for r in midway}), running[-3:])
done_seen = [int(r[2]) for r in seen]
t.ok(done_seen == sorted(done_seen), "sessions_done never goes back", done_seen)
status, total, done, pairs, cost, error = job(jid)
t.eq((status, total, done, error), ("done", str(SESSIONS), str(SESSIONS), ""),
     "... and it ends done with every session counted")
t.ok(float(cost) > 0 and (pairs, cost) == tuple(psql(
    "SELECT (SELECT count(*) FROM trajc.qa_pairs) || '|' || "
    "(SELECT sum(cost_usd) FROM trajc.compile_log)").split("|")),
     "its final pairs and cost_usd match trajc.qa_pairs and trajc.compile_log", (pairs, cost))
t.eq(ok_compiles(), "%d/%d" % (SESSIONS, SESSIONS), "every session was compiled once")
print("# progress seen while running: sessions_done %s; the job took %s s" % (
    sorted({int(r[2]) for r in running}),
    psql("SELECT round(extract(epoch FROM finished_at - started_at), 2) FROM trajc.jobs "
         "WHERE id = %s" % jid)))
psql("UPDATE trajc.models SET model = 'gpt-5-pro' WHERE provider = 'openai' AND tier = 'premium'")

# ---------------------------------------------------- two jobs at once: claims
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
two = psql("SET trajc.model = 'mock:slow=200'; SET trajc.concurrency = 3; "
           "SELECT trajc_start(10, 0) UNION ALL SELECT trajc_start(10, 0);").split()
t.ok(all(wait_job(j) for j in two), "two jobs started together both end")
sent = {}
for e in mock_requests():
    sent[e["session"]] = sent.get(e["session"], 0) + 1
t.ok(sorted(sent) == ALL and all(v == 1 for v in sent.values())
     and ok_compiles() == "%d/%d" % (SESSIONS, SESSIONS),
     "every session was compiled once between them (claims taken on the node holding it)", sent)
t.eq(str(sum(int(job(j)[3]) for j in two)), psql("SELECT count(*) FROM trajc.qa_pairs"),
     "their pairs add up to what is stored")

# ------------------------------------------------------------ a job cancelled
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
jid = start_job("SET trajc.model = 'mock:slow=5000'; SET trajc.concurrency = 2;")
t.ok(wait_for(lambda: {sender(e) for e in mock_requests()} == {"worker1", "worker2"}),
     "a slow job's requests are in flight on both workers")
asked = time.time()
t.eq(psql("SELECT trajc_cancel(%s)" % jid), "t", "trajc_cancel on the coordinator accepts it")
busy = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CALL trajc.compile_sessions%'"
t.ok(wait_for(lambda: job(jid)[0] == "cancelled", 4),
     "the job is cancelled before its 5 s requests are answered", job(jid))
cancelled = time.time() - asked
t.ok(wait_for(lambda: psql(busy, "worker1") == "0" and psql(busy, "worker2") == "0", 4),
     "... and the workers' shares stop too")
print("# job cancelled %.2f s after trajc_cancel, workers' shares gone %.2f s after" %
      (cancelled, time.time() - asked))
t.eq(ok_compiles(), "0/0", "nothing was stored for the requests it cut short")

# -------------------------------------------------------- a worker down: no loss
psql("TRUNCATE trajc.qa_pairs, trajc.compile_log CASCADE")
mock_reset()
log = os.path.join(os.environ["TRAJC_CITUS_ROOT"], "coordinator", "postgres.log")
log_size = os.path.getsize(log)
jid = start_job("SET trajc.model = 'mock:slow=1000'; SET trajc.concurrency = 3;")
wait_for(lambda: any(sender(e) == "worker2" for e in mock_requests()))  # worker2 busy
cluster("stop-node", "worker2")
t.ok(wait_job(jid), "with worker2 stopped mid-job, the job still ends")
status, total, done, _, _, error = job(jid)
t.eq((status, total, done), ("done", str(SESSIONS), str(SESSIONS)),
     "... done, every session counted")
t.ok(error.startswith("node 127.0.0.1:%d failed: " % PORTS["worker2"]),
     "... and its row's error names worker2 and why its share failed", error)
with open(log, encoding="utf-8", errors="replace") as f:
    f.seek(log_size)
    logged = f.read()
t.ok("trajc: %d session(s) not compiled: node 127.0.0.1:%d failed" % (len(W2), PORTS["worker2"])
     in logged, "worker2's sessions are reported failed with the node and the reason (the job's "
     "WARNING, in the coordinator's log)", logged[-2000:])
jid = start_job("")
t.ok(wait_job(jid) and job(jid)[0] == "done"
     and job(jid)[5].startswith("node 127.0.0.1:%d failed: " % PORTS["worker2"])
     and "not listed" in job(jid)[5],
     "a job started while worker2 is down goes on with worker1: done, its error saying worker2's "
     "sessions were not listed, and why", job(jid))
cluster("start-node", "worker2")
t.ok(set(W1) <= set(psql("SELECT session_id FROM trajc.compile_log WHERE status = 'ok'").split()),
     "worker1's sessions were compiled meanwhile")
jid = start_job("")
t.ok(wait_job(jid) and ok_compiles() == "%d/%d" % (SESSIONS, SESSIONS),
     "worker2 back, the next job compiles what was left: no session lost", job(jid))

# ------------------------------------------------------------------------- eval
PAIRS = int(psql("SELECT count(*) FROM trajc.qa_pairs"))
mock_reset()
out = rows(psql("SET trajc.provider = 'openai'; "
                "SELECT qa_type, pairs, correct FROM trajc_eval('citus-a', 'openai', 'mock')"))
total_row = [r for r in out if r[0] == "total"]
reqs = mock_requests()
t.ok(total_row and total_row[0][1] == str(PAIRS),
     "trajc_eval on the coordinator grades every pair of every shard (%d)" % PAIRS, out)
t.ok(len(reqs) > 0 and {sender(e) for e in reqs} == {"coordinator"},
     "its candidate requests leave from the coordinator, with its key")
t.eq(psql("SELECT count(*) || '|' || count(correct) FROM trajc.eval_answers"),
     "%d|%d" % (PAIRS, PAIRS), "one graded answer stored per pair")
where = stored_at("trajc.eval_answers")
answer_shards = shard_of(ALL, "trajc.eval_answers")
t.ok(all(where.get(s) == [(HOLDER[s], answer_shards[s])] for s in where) and sorted(where) == ALL,
     "each answer is stored in its pair's session's shard, on the node holding it")
t.eq(psql("SELECT pairs || '|' || correct || '|' || (finished_at IS NOT NULL)::text "
          "FROM trajc.eval_runs WHERE label = 'citus-a'"),
     psql("SELECT count(*) || '|' || count(*) FILTER (WHERE correct) || '|true' "
          "FROM trajc.eval_answers"),
     "the run's row (a reference table) counts them and is finished")
mock_reset()
again = psql("SELECT pairs FROM trajc_eval('citus-a', 'openai', 'mock') WHERE qa_type = 'total'")
t.ok(again == str(PAIRS) and len(mock_requests()) == 0,
     "the same label again resumes: nothing left to ask, nothing sent", again)
r = psql("CALL trajc_eval_pending('citus-b', 'openai', 'mock:forget=50')", check=False)
t.ok(r.returncode == 0 and psql("SELECT count(a.correct) FROM trajc.eval_answers a "
                                "JOIN trajc.eval_runs r ON r.id = a.run_id "
                                "WHERE r.label = 'citus-b'") == str(PAIRS),
     "CALL trajc_eval_pending on the coordinator stores a second run", r.stderr)
report = {x[0]: x[1:] for x in rows(psql(
    "SELECT qa_type, pairs, accuracy_a, accuracy_b, a_only, b_only "
    "FROM trajc_eval_report('citus-a', 'citus-b')"))}
expect = rows(psql("""SELECT count(*), avg(a.correct::int)::real, avg(b.correct::int)::real,
                             count(*) FILTER (WHERE a.correct AND NOT b.correct),
                             count(*) FILTER (WHERE b.correct AND NOT a.correct)
                        FROM trajc.eval_answers a
                        JOIN trajc.eval_answers b ON b.pair_id = a.pair_id
                         AND b.session_id = a.session_id
                       WHERE a.run_id = (SELECT id FROM trajc.eval_runs WHERE label = 'citus-a')
                         AND b.run_id = (SELECT id FROM trajc.eval_runs WHERE label = 'citus-b')"""))[0]
t.eq(report["total"], expect,
     "trajc_eval_report('citus-a', 'citus-b') compares the two runs over every shard")
t.eq(report["total"][0], str(PAIRS), "... over every pair both answered")

# ----------------------------------------------------------------------- recall
pair, session, turns = rows(psql("SELECT id, session_id, turn_count FROM trajc.qa_pairs "
                                 "ORDER BY id LIMIT 1"))[0]
recent = rows(psql("SELECT rank, turn FROM trajc_retrieve('%s', 3, 'recent')" % pair))
t.eq(recent, [["1", turns], ["2", str(int(turns) - 1)], ["3", str(int(turns) - 2)]],
     "trajc_retrieve(..., 'recent') on the coordinator: the pair's last turns")
fts = rows(psql("""WITH pairs AS MATERIALIZED (SELECT id, turn_count FROM trajc.qa_pairs)
                    SELECT count(DISTINCT p.id), count(*),
                           bool_and(r.turn BETWEEN 1 AND p.turn_count AND r.rank <= 5)
                      FROM pairs p CROSS JOIN LATERAL trajc_retrieve(p.id, 5, 'fts') r"""))[0]
t.ok(int(fts[0]) > 0 and fts[2] == "t",
     "trajc_retrieve(..., 'fts') reads the sessions' turns through the coordinator (%s of %d "
     "pairs' questions match turns, %s turns)" % (fts[0], PAIRS, fts[1]), fts)
supporting = psql("SELECT string_agg(e, ',') FROM trajc.qa_pairs, "
                  "jsonb_array_elements_text(supporting_turns) e WHERE id = '%s'" % pair)
t.eq(psql("SELECT recall || '|' || recall_all FROM trajc_recall('%s', '{%s}')"
          % (pair, supporting)), "1|true",
     "trajc_recall with the pair's own supporting turns: recall 1")
# A per-pair function over every pair: the pairs are read first (a
# MATERIALIZED CTE), so the calls run on the coordinator, as docs/citus.md says.
psql("""DROP TABLE IF EXISTS citus_retrievals;
        CREATE TABLE citus_retrievals AS
          WITH pairs AS MATERIALIZED (SELECT id FROM trajc.qa_pairs)
          SELECT p.id AS pair_id, r.rank, r.turn
            FROM pairs p CROSS JOIN LATERAL trajc_retrieve(p.id, 5, 'recent') r;""",
     options="-c client_min_messages=warning")
t.eq(psql("SELECT count(DISTINCT pair_id) FROM citus_retrievals"), str(PAIRS),
     "trajc_retrieve for every pair, called over a MATERIALIZED read of the pairs")
report = {x[0]: x[1:] for x in rows(psql(
    "SELECT qa_type, pairs, recall FROM trajc_recall_report('citus_retrievals', 5)"))}
expect = psql("""WITH pairs AS MATERIALIZED (SELECT id FROM trajc.qa_pairs)
                 SELECT count(*) || '|' || avg(m.recall)::real FROM pairs p
                   CROSS JOIN LATERAL trajc_recall(p.id,
                     array(SELECT r.turn FROM citus_retrievals r WHERE r.pair_id = p.id
                            ORDER BY r.rank), 5) m""")
t.eq("|".join(report["total"]), expect,
     "trajc_recall_report over a local retrievals table on the coordinator agrees with "
     "trajc_recall pair by pair (%d pairs)" % PAIRS)
r = psql("SELECT * FROM trajc_recall_report('citus_retrievals', 0)", check=False)
t.ok(r.returncode != 0 and "k must be a positive" in r.stderr, "... and checks k as on one node",
     r.stderr)
psql("INSERT INTO citus_retrievals VALUES ('00000000-0000-4000-8000-000000000001', 1, 1)")
r = psql("SELECT * FROM trajc_recall_report('citus_retrievals', 5)", check=False)
t.ok(r.returncode != 0 and "names pair 00000000-0000-4000-8000-000000000001 which is not in "
     "trajc.qa_pairs" in r.stderr, "... and names a pair the shards do not have", r.stderr)
psql("DROP TABLE citus_retrievals")
