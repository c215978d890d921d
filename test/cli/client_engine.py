#!/usr/bin/env python3
"""The client engine (issue 10): a database without the extension, prepared by
`trajc init` from the install script's own table block; compile in the tool's
process against the mock (pairs, rejections, costs, hash-skip, a failed
session logged and the others kept, Ctrl-C keeping finished sessions, two
tools at once compiling each session once, the extension's claim key);
extract, stats, sample and export there; and a role that can read the audit
log but not create schemas."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import ENV, Tap, ScratchDb, psql, run_tool, start_tool, workdir, start_mock  # noqa: E402

t = Tap()
CLAIM_SEED = "8390876165306283569"  # src/pg/claims.cpp's "trajc_v1"

# ------------------------------------------------------------ a mock of our own
work = workdir()
url = start_mock()
KEY = "client-engine-key-s3cr3t"
client_env = {"GEMINI_API_KEY": KEY, "TRAJC_GEMINI_BASE_URL": url, "TRAJC_MAX_RETRIES": "0"}
server_env = {"PGOPTIONS": "-c trajc.gemini_base_url=%s -c trajc.gemini_api_key=%s "
                           "-c trajc.max_retries=0" % (url, KEY)}

# ------------------------------------------------------------ trajc init
bare = ScratchDb("client_bare", extension=False, sessions=8, mean_turns=14)
ext = ScratchDb("client_ext", extension=True, sessions=0, compile_limit=0)

rc, so, se = run_tool(["stats"], db=bare.name)
t.ok(rc == 2 and "trajc init" in se and "CREATE EXTENSION trajc;" in se,
     "before init: exit 2, naming both `trajc init` and CREATE EXTENSION", se)
rc, so, se = run_tool(["init"], db=bare.name)
t.ok(rc == 0 and "created the schema trajc" in so, "trajc init creates the schema", so + se)
t.eq(bare.sql("SELECT count(*) FROM pg_extension WHERE extname = 'trajc'"), "0",
     "without installing the extension")
rc, so, se = run_tool(["init"], db=bare.name)
t.ok(rc == 0 and "exist" in so, "a second init changes nothing", so + se)
rc, so, se = run_tool(["init"], db=ext.name)
t.ok(rc == 0 and "extension is installed" in so, "init where the extension is: nothing to do", so)

# One definition: the tables init made are the extension's, column for column.
SHAPE = """
SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
  SELECT format('col %s.%s %s %s %s', table_name, column_name, data_type, is_nullable,
                coalesce(column_default, '-')) AS x
    FROM information_schema.columns
   WHERE table_schema = 'trajc' AND table_name IN ('models', 'compile_log', 'qa_pairs', 'qa_pair_bands')
  UNION ALL
  SELECT format('con %s %s', conrelid::regclass, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE conrelid IN ('trajc.models'::regclass,
         'trajc.compile_log'::regclass, 'trajc.qa_pairs'::regclass,
         pg_catalog.to_regclass('trajc.qa_pair_bands'))
  UNION ALL
  SELECT format('idx %s', indexdef) FROM pg_indexes
   WHERE schemaname = 'trajc' AND tablename IN ('models', 'compile_log', 'qa_pairs', 'qa_pair_bands')
  UNION ALL
  SELECT format('row %s', m) FROM trajc.models m) s"""
shape_bare, shape_ext = bare.sql(SHAPE), ext.sql(SHAPE)
t.ok("col qa_pair_bands.band_key" in shape_bare,
     "trajc init creates trajc.qa_pair_bands, the band index of near-duplicates", shape_bare)
t.ok(shape_bare == shape_ext and shape_bare.count("col ") > 30,
     "init's tables, constraints, indexes and seed rows equal the extension's",
     "\n".join(sorted(set(shape_bare.splitlines()) ^ set(shape_ext.splitlines()))))

# ------------------------------------------------------------ extract
rc, so, se = run_tool(["extract", "--min-turns", "3", "--limit", "0", "--json"], db=bare.name)
listed = [r["session_id"] for r in json.loads(so)] if rc == 0 else []
want = bare.sql("SELECT string_agg(session_id, ',' ORDER BY n DESC, last DESC, session_id) FROM "
                "(SELECT session_id, count(*) n, max(created_at) last FROM audit_log "
                "WHERE session_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 3) s").split(",")
t.eq(listed, want, "extract without the extension: longest first, then latest, then id", se)
sessions = listed

# ------------------------------------------------------------ compile (offline)
rc, so, se = run_tool(["compile", "--provider", "offline", "--min-turns", "3", "--limit", "3"],
                      db=bare.name)
t.ok(rc == 0 and "compiled 3 of 3 sessions" in so, "compile without the extension (auto: client)",
     so + se)
t.eq(bare.sql("SELECT count(DISTINCT session_id) FROM trajc.qa_pairs"), "3",
     "the three longest sessions have pairs")
t.eq(bare.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'ok' AND provider = 'offline'"),
     "3", "three ok rows in trajc.compile_log")
rc, so, se = run_tool(["compile", "--provider", "offline", "--min-turns", "3", "--limit", "3",
                       "--json"], db=bare.name)
summary = json.loads(so)["summary"] if rc == 0 else {}
t.eq((summary.get("skipped"), summary.get("ok")), (3, 0),
     "hash-skip: unchanged sessions are skipped", so + se)
t.eq(bare.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'skipped' AND "
              "error = 'unchanged since its last successful compile'"), "3",
     "and logged as skipped, as the extension logs them")
rc, so, se = run_tool(["compile", "--provider", "offline", "--session", sessions[0], "--force"],
                      db=bare.name)
t.ok(rc == 0 and "compiled 1 of 1" in so and "1 ok" in so, "--force compiles again", so + se)

# ------------------------------------------------------------ the same pairs as the extension
# One audit log in a database with the extension; each engine compiles it
# against the mock; pairs, rejections, tokens and costs must agree.
ext.load_audit_log(sessions=4, mean_turns=12)
one = ext.sql("SELECT session_id FROM trajc_extract(3, 1)")
ext.sql("UPDATE audit_log SET response = 'mock:invalid ' || coalesce(response, '') "
        "WHERE session_id = '%s'" % one)
LOGGED = ("SELECT string_agg(format('%s %s %s %s %s %s %s %s', session_id, trajectory_hash, status, "
          "pairs_kept, pairs_rejected, rejected_reasons, tokens_in + tokens_out, cost_usd), E'\\n' "
          "ORDER BY session_id) FROM trajc.compile_log WHERE provider = 'gemini' AND status <> 'skipped'")
PAIRS = ("SELECT string_agg(format('%s %s %s %s %s %s %s', session_id, qa_type, question, answer, "
         "supporting_turns, cost_usd, source_model), E'\\n' ORDER BY session_id, question) "
         "FROM trajc.qa_pairs WHERE source_model <> 'offline'")
# Pair quality as the store marks it: per question key, how many pairs and
# how many originals (duplicate_of NULL), the verifications, the band rows
# (16 per original, none per marked repeat). Which session holds the
# original depends on the order sessions finish in, so it is left out.
QUALITY = ("SELECT string_agg(format('%s %s %s %s %s', k.question_key, k.n, k.originals, k.verified, "
           "k.bands), E'\\n' ORDER BY k.question_key) FROM (SELECT p.question_key, count(*) n, "
           "count(*) FILTER (WHERE p.duplicate_of IS NULL) originals, string_agg(DISTINCT "
           "coalesce(p.verified_by, '-'), ',') verified, sum((SELECT count(*) FROM trajc.qa_pair_bands b "
           "WHERE b.pair_id = p.id AND b.session_id = p.session_id)) bands FROM trajc.qa_pairs p "
           "WHERE p.source_model <> 'offline' GROUP BY p.question_key) k")
MARKED = ("SELECT count(*) FROM trajc.qa_pairs p JOIN trajc.qa_pairs o ON o.id = p.duplicate_of "
          "WHERE o.session_id <> p.session_id AND o.duplicate_of IS NULL")
rc, so, se = run_tool(["compile", "--engine", "server", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=ext.name, env=server_env)
t.eq(rc, 0, "server engine compiles against the mock", so + se)
server_log, server_pairs, server_quality = ext.sql(LOGGED), ext.sql(PAIRS), ext.sql(QUALITY)
ext.sql("DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log")
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=ext.name, env=client_env)
t.eq(rc, 0, "client engine compiles the same sessions", so + se)
t.ok(server_log and ext.sql(LOGGED) == server_log,
     "compile_log: same hashes, statuses, kept and rejected counts, reasons, tokens and costs",
     "server:\n%s\nclient:\n%s" % (server_log, ext.sql(LOGGED)))
t.ok(server_pairs and ext.sql(PAIRS) == server_pairs,
     "qa_pairs: the same questions, answers, turns, types, costs and model", se)
t.ok(server_quality and ext.sql(QUALITY) == server_quality,
     "pair quality: the same question keys, one original per key, duplicates marked across sessions,"
     " verified_by and band keys as the extension's store",
     "server:\n%s\nclient:\n%s" % (server_quality, ext.sql(QUALITY)))
marked = int(ext.sql(MARKED))
t.ok(marked > 0 and str(marked) == ext.sql("SELECT count(*) FROM trajc.qa_pairs WHERE duplicate_of IS NOT NULL"),
     "the client engine marks repeats of other sessions' questions (%d), each pointing at the original" % marked)
t.eq(ext.sql("SELECT count(*) FROM trajc.qa_pairs WHERE verified_by = 'literal'"),
     ext.sql("SELECT count(*) FROM trajc.qa_pairs"), "every pair the client stored was verified literally")
t.ok("malformed" in ext.sql("SELECT rejected_reasons::text FROM trajc.compile_log WHERE "
                            "session_id = '%s' AND provider = 'gemini'" % one),
     "rejections are counted by reason")
cost = ext.sql("SELECT round(sum(cost_usd) - sum(tokens_in * m.usd_per_mtok_in + tokens_out * "
               "m.usd_per_mtok_out) / 1e6, 12) FROM trajc.compile_log l JOIN trajc.models m "
               "ON m.provider = l.provider AND m.model = l.model WHERE l.provider = 'gemini'")
t.eq(cost, "0.000000000000", "cost = tokens at trajc.models' prices")
requests = json.loads(urllib.request.urlopen(url + "/_requests").read() or b"[]")
t.ok(requests and all(r["headers"].get("x-goog-api-key") == KEY for r in requests[-4:]),
     "the key from GEMINI_API_KEY reaches the model")
t.ok(KEY not in ext.sql("SELECT string_agg(coalesce(error, ''), ' ') FROM trajc.compile_log"),
     "and no row holds it")

# Model verification (trajc.verify = 'model'): the client engine runs the
# same BatchRunner, so both engines verify alike: same rows, same verifier.
VERIFIED = ("SELECT string_agg(format('%s %s %s %s', session_id, question, verified_by, cost_usd), "
            "E'\\n' ORDER BY session_id, question) FROM trajc.qa_pairs WHERE source_model <> 'offline'")
verify_server_env = dict(server_env)
verify_server_env["PGOPTIONS"] += " -c trajc.verify=model -c trajc.verify_tier=standard"
verify_client_env = dict(client_env, TRAJC_VERIFY="model", TRAJC_VERIFY_TIER="standard")
ext.sql("DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log")
rc, so, se = run_tool(["compile", "--engine", "server", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=ext.name, env=verify_server_env)
t.eq(rc, 0, "server engine verifies with a model", so + se)
server_log, server_verified = ext.sql(LOGGED), ext.sql(VERIFIED)
ext.sql("DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log")
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=ext.name, env=verify_client_env)
t.eq(rc, 0, "client engine verifies with a model (TRAJC_VERIFY=model)", so + se)
t.ok(server_log and ext.sql(LOGGED) == server_log,
     "verified compile_log rows agree, verifier tokens and cost included",
     "server:\n%s\nclient:\n%s" % (server_log, ext.sql(LOGGED)))
t.ok(server_verified and ext.sql(VERIFIED) == server_verified,
     "verified pairs agree, cost shares and verified_by included", se)
t.eq(ext.sql("SELECT string_agg(DISTINCT verified_by, ',') FROM trajc.qa_pairs"), "gemini-2.5-pro",
     "verified_by names the verifier of TRAJC_VERIFY_TIER")
ext.sql("DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log")
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0", "--verify-model", "mock:verdict_unsupported"], db=ext.name,
                      env=verify_client_env)
t.ok(rc == 0 and ext.sql("SELECT count(*) FROM trajc.qa_pairs") == "0" and
     ext.sql("SELECT bool_and(rejected_reasons ? 'unsupported') FROM trajc.compile_log "
             "WHERE status = 'empty'") == "t",
     "--verify-model with wrong verdicts: pairs rejected as unsupported", so + se)
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "offline", "--verify", "model"],
                      db=ext.name)
t.ok(rc == 2 and "offline" in se, "--verify model with the offline provider is a usage error", se)
ext.sql("DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log")

# A session sent in an open provider batch job (the extension's batch mode)
# belongs to that job: the client engine leaves it alone, as the server does.
batch = ext.sql("INSERT INTO trajc.batches (provider, model) VALUES ('gemini', 'm') RETURNING id")
ext.sql("INSERT INTO trajc.batch_requests (batch_id, custom_id, session_id, trajectory_hash, "
        "turn_count) VALUES (%s, 'c1', '%s', 'h', 3)" % (batch, one))
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "offline", "--force",
                       "--session", one, "--json"], db=ext.name)
row = json.loads(so)["sessions"][0] if rc == 0 else {}
t.eq((row.get("status"), row.get("error")), ("skipped", "waiting for provider batch %s" % batch),
     "a session waiting in an open provider batch is skipped", so + se)

# ------------------------------------------------------------ a failed session
fresh = sessions[3:6]
bare.sql("UPDATE audit_log SET response = 'mock:status=500 ' || coalesce(response, '') "
         "WHERE session_id = '%s'" % fresh[0])
args = ["compile", "--provider", "gemini"]
for s in fresh:
    args += ["--session", s]
rc, so, se = run_tool(args, db=bare.name, env=client_env)
t.eq(rc, 1, "one failed session: exit 1", so + se)
t.ok("failed sessions:" in so and fresh[0] in so.split("failed sessions:")[1],
     "the summary lists it", so)
t.eq(bare.sql("SELECT status || ' ' || http_status || ' ' || (error LIKE '%%500%%') FROM "
              "trajc.compile_log WHERE session_id = '%s' ORDER BY id DESC LIMIT 1" % fresh[0]),
     "failed 500 true", "it is logged failed with its HTTP status")
t.eq(bare.sql("SELECT count(DISTINCT session_id) FROM trajc.qa_pairs WHERE session_id IN "
              "('%s', '%s')" % (fresh[1], fresh[2])), "2", "the others kept their pairs")

# ------------------------------------------------------------ the extension's claim key
holder = subprocess.Popen(["psql", "-X", "-q", "-d", bare.name], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True,
                          env=dict(__import__("trajc_tap").ENV))
holder.stdin.write("SELECT pg_advisory_lock(hashtextextended('%s', %s));\n\\echo held\n"
                   % (sessions[6], CLAIM_SEED))
holder.stdin.flush()
holder.stdout.readline()
while "held" not in holder.stdout.readline():
    pass
rc, so, se = run_tool(["compile", "--provider", "offline", "--session", sessions[6], "--json"],
                      db=bare.name)
row = json.loads(so)["sessions"][0] if rc == 0 else {}
t.eq((row.get("status"), row.get("error")), ("skipped", "being compiled by another run"),
     "a session whose claim key is held elsewhere is skipped", so + se)
# The extension claims with the same key: held by the tool's SQL, its run skips too.
holder.stdin.write("\\c %s\nSELECT pg_advisory_lock(hashtextextended('%s', %s));\n\\echo held\n"
                   % (ext.name, one, CLAIM_SEED))
holder.stdin.flush()
while "held" not in holder.stdout.readline():
    pass
rc, so, se = run_tool(["compile", "--engine", "server", "--provider", "offline", "--session", one,
                       "--json"], db=ext.name)
row = json.loads(so)["sessions"][0] if rc == 0 else {}
t.eq((row.get("status"), row.get("error")), ("skipped", "being compiled by another run"),
     "the extension's claim has the same key", so + se)
holder.stdin.close()
holder.wait()

# ------------------------------------------------------------ two tools at once
two = ScratchDb("client_two", extension=False, sessions=10, mean_turns=8)
run_tool(["init"], db=two.name)
two.sql("UPDATE audit_log SET response = 'mock:slow=300 ' || coalesce(response, '')")
cmd = ["compile", "--provider", "gemini", "--min-turns", "3", "--limit", "0", "--concurrency", "4",
       "--json"]
a = start_tool(cmd, db=two.name, env=client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
               text=True)
b = start_tool(cmd, db=two.name, env=client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
               text=True)
oa, ea = a.communicate(timeout=120)
ob, eb = b.communicate(timeout=120)
total = two.sql("SELECT count(DISTINCT session_id) FROM audit_log")
t.ok(a.returncode == 0 and b.returncode == 0, "two tools started together both finish", ea + eb)
t.eq(two.sql("SELECT count(*) || ' ' || count(DISTINCT session_id) FROM trajc.compile_log "
             "WHERE status = 'ok'"), "%s %s" % (total, total),
     "each session compiled exactly once between them")
oks = [json.loads(o)["summary"]["ok"] for o in (oa, ob)] if a.returncode == b.returncode == 0 else []
t.ok(len(oks) == 2 and sum(oks) == int(total), "their ok counts add up to the sessions", oks)

# ------------------------------------------------------------ Ctrl-C
two.sql("UPDATE audit_log SET response = replace(response, 'mock:slow=300', 'mock:slow=4000') "
        "WHERE session_id IN (SELECT session_id FROM audit_log GROUP BY 1 ORDER BY 1 OFFSET 1)")
p = start_tool(["compile", "--provider", "gemini", "--min-turns", "3", "--limit", "0", "--force",
                "--concurrency", "16"], db=two.name, env=client_env, stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True)
before = int(total)
deadline = time.time() + 60
while time.time() < deadline:  # wait for the fast session's commit
    if int(two.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'ok'")) > before:
        break
    time.sleep(0.05)
p.send_signal(signal.SIGINT)
so, se = p.communicate(timeout=60)
t.eq(p.returncode, 130, "Ctrl-C: exit 130", se)
t.contains(so, "interrupted after 1 of %s sessions" % total, "the summary says what was done")
t.eq(two.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'ok'"), str(before + 1),
     "the finished session is kept, the cancelled ones left no row")
t.eq(two.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0",
     "no claim is left behind")

# ------------------------------------------------------------ stats, sample, export
rc, so, se = run_tool(["stats", "--json"], db=bare.name)
total_row = [r for r in json.loads(so) if r["qa_type"] == "total"] if rc == 0 else []
t.ok(total_row and total_row[0]["pairs"] == int(bare.sql("SELECT count(*) FROM trajc.qa_pairs")),
     "stats without the extension", so + se)
rc, so, se = run_tool(["sample", "--limit", "2", "--json"], db=bare.name)
t.ok(rc == 0 and len(json.loads(so)) == 2, "sample without the extension", se)
out = os.path.join(work, "pairs.jsonl")
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out], db=bare.name)
t.ok(rc == 0 and sum(1 for _ in open(out)) == int(bare.sql("SELECT count(*) FROM trajc.qa_pairs")),
     "export --format jsonl without the extension", se)
chat = os.path.join(work, "chat.jsonl")
rc, so, se = run_tool(["export", "--format", "chat", "--out", chat, "--session", sessions[0]],
                      db=bare.name)
line = json.loads(open(chat).readline()) if rc == 0 else {}
t.ok(line and "### Turn 1" in line["messages"][1]["content"],
     "export --format chat renders the trajectory without the extension", se)

# ------------------------------------------------------------ audit-log column types
# The extension refuses a session column without equality and a time column
# that does not convert to timestamptz, naming the column, its type and the
# fix; the client engine says the same (its settings are options).
for db in (bare, ext):
    db.sql("CREATE TABLE typed_log (sid json, at int, ts timestamptz, s text, note text);"
           "INSERT INTO typed_log VALUES ('1', 1, now(), 's1', 'x'), ('1', 2, now(), 's1', 'y'),"
           " ('1', 3, now(), 's1', 'z')")
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "offline", "--source", "typed_log",
                       "--session-column", "sid", "--time-column", "ts"], db=bare.name)
t.ok(rc == 2 and 'column "sid" named by --session-column has type json, which cannot group rows into'
     " sessions (it has no equality operator)" in se and "--source to a view" in se,
     "client: a json session column is refused with the extension's message", se)
r = subprocess.run(["psql", "-X", "-q", "-d", ext.name], env=ENV, input="SET trajc.source = 'typed_log';"
                   " SET trajc.session_column = 'sid'; SET trajc.time_column = 'ts';"
                   " SELECT * FROM trajc_extract(1, 0);", capture_output=True, text=True)
t.ok('column "sid" named by trajc.session_column has type json, which cannot group rows into sessions'
     " (it has no equality operator)" in r.stderr, "(the extension's own message, for comparison)", r.stderr)
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "offline", "--source", "typed_log",
                       "--session-column", "s", "--time-column", "at"], db=bare.name)
t.ok(rc == 2 and 'column "at" named by --time-column has type integer, which does not convert to'
     " timestamptz" in se and "timestamptz, timestamp or date column" in se,
     "client: an integer time column is refused with the extension's message", se)
rc, so, se = run_tool(["compile", "--engine", "client", "--provider", "offline", "--source", "typed_log",
                       "--session-column", "s", "--time-column", "ts", "--agent-column", "", "--min-turns", "3"],
                      db=bare.name)
t.eq(rc, 0, "text session and timestamptz time columns compile", so + se)

# ------------------------------------------------------------ a role that cannot create schemas
role = "trajc_reader_%d" % os.getpid()
psql("DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN;" % (role, role), db="postgres")
reader = ScratchDb("client_reader", extension=False, sessions=3, mean_turns=5)
reader.sql("GRANT SELECT ON audit_log TO %s" % role)
as_reader = {"PGUSER": role}
rc, so, se = run_tool(["init"], db=reader.name, env=as_reader)
t.ok(rc == 2 and "may not create schemas" in se and "CREATE on the database" in se
     and "GRANT CREATE ON DATABASE" in se, "init as a role without CREATE: names what is missing",
     se)
rc, so, se = run_tool(["compile", "--provider", "offline"], db=reader.name, env=as_reader)
t.ok(rc == 2 and "trajc init" in se, "compile there: says to run trajc init", se)
run_tool(["init"], db=reader.name)
rc, so, se = run_tool(["compile", "--provider", "offline"], db=reader.name, env=as_reader)
t.ok(rc == 2 and "USAGE on schema trajc" in se, "after init by another role: names the grants", se)
reader.drop()
psql("DROP ROLE IF EXISTS %s;" % role, db="postgres")

