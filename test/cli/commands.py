#!/usr/bin/env python3
"""trajc extract / compile / stats / sample against a scratch database:
outputs match the SQL functions, compile goes session by session with
progress, skips what is done unless --force, reports failures with exit 1,
and stops cleanly on Ctrl-C keeping the finished sessions."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, start_tool, start_mock, run_on_terminal  # noqa: E402

t = Tap()
db = ScratchDb("commands", sessions=14, mean_turns=20, compile_limit=0)

# ------------------------------------------------------------ extract
rc, so, se = run_tool(["extract", "--min-turns", "10", "--limit", "3", "--json"], db=db.name)
got = json.loads(so) if rc == 0 else []
want = db.sql("SELECT string_agg(session_id, ',') FROM trajc_extract(10, 3)").split(",")
t.eq([r["session_id"] for r in got], want, "extract --json lists trajc_extract's sessions")
t.ok(got and isinstance(got[0]["turn_count"], int), "numbers are JSON numbers")
rc, so, se = run_tool(["extract", "--limit", "2"], db=db.name)
header = so.splitlines()[0] if so else ""
t.ok(rc == 0 and "session_id" in header and "turn_count" in header and "(2 rows)" in so,
     "extract prints an aligned table", so)

# ------------------------------------------------------------ compile (offline)
rc, so, se = run_tool(["compile", "--provider", "offline", "--min-turns", "10", "--limit", "3"],
                      db=db.name)
t.eq(rc, 0, "compile --provider offline exits 0")
t.ok("[1/3]" in se and "[3/3]" in se, "one progress line per session when not on a terminal", se)
t.contains(so, "compiled 3 of 3 sessions", "the summary counts the sessions")
pairs = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))
t.contains(so, "pairs: %d," % pairs, "the summary counts the pairs in trajc.qa_pairs")
t.eq(db.sql("SELECT count(DISTINCT session_id) FROM trajc.qa_pairs"), "3",
     "the three longest sessions were compiled")

rc, so, se = run_tool(["compile", "--provider", "offline", "--limit", "3", "--json"], db=db.name)
summary = json.loads(so)["summary"] if rc == 0 else {}
t.eq((summary.get("compiled"), summary.get("skipped")), (3, 3),
     "a second run of the same three skips them, unchanged (--json)")
first = want[0]
rc, so, se = run_tool(["compile", "--provider", "offline", "--session", first], db=db.name)
t.ok(rc == 0 and "0 ok" in so and "1 skipped (unchanged" in so,
     "--session of a compiled session is skipped without --force", so)
rc, so, se = run_tool(["compile", "--provider", "offline", "--session", first, "--force"],
                      db=db.name)
t.ok(rc == 0 and "compiled 1 of 1" in so, "--force compiles it again", so + se)
# Each session's line is the extension's own status row, as logged.
rc, so, se = run_tool(["compile", "--provider", "offline", "--session", first, "--force", "--json"],
                      db=db.name)
row = json.loads(so)["sessions"][0] if rc == 0 else {}
logged = db.sql("SELECT json_build_object('status', status, 'pairs', pairs_kept, 'rejected', "
                "pairs_rejected, 'cost_usd', cost_usd) FROM trajc.compile_log "
                "WHERE session_id = '%s' ORDER BY id DESC LIMIT 1" % first)
t.eq({k: row.get(k) for k in ("status", "pairs", "rejected", "cost_usd")},
     json.loads(logged) if logged else None,
     "compile --json reports the status, pairs, rejections and cost the server logged", se)
rc, so, se = run_tool(["compile", "--provider", "offline", "--tier", "gold"], db=db.name)
t.eq(rc, 2, "an unknown tier stops the run with exit 2")

# ------------------------------------------------------------ progress bar on a terminal
rc, screen = run_on_terminal(["compile", "--provider", "offline", "--limit", "2"], db=db.name,
                             stream="stderr")
text = screen.decode(errors="replace")
t.ok(rc == 0 and "\r" in text and "2/2 sessions" in text and "ETA" in text
     and "pairs" in text, "on a terminal, a bar with sessions, pairs, cost and ETA", text)

# ------------------------------------------------------------ stats, sample
rc, so, se = run_tool(["stats", "--json"], db=db.name)
stats = {r["qa_type"]: r for r in json.loads(so)} if rc == 0 else {}
pairs = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))
t.eq(stats.get("total", {}).get("pairs"), pairs, "stats --json: the total row counts every pair")
rc, so, se = run_tool(["stats"], db=db.name)
t.ok(rc == 0 and "qa_type" in so and "total" in so, "stats prints a table")
rc, so, se = run_tool(["sample", "--limit", "2", "--json"], db=db.name)
sample = json.loads(so) if rc == 0 else []
t.ok(len(sample) == 2 and all(r["question"] and r["answer"] for r in sample),
     "sample --limit 2 --json gives two pairs")
qa_type = db.sql("SELECT qa_type FROM trajc.qa_pairs ORDER BY qa_type LIMIT 1")
rc, so, se = run_tool(["sample", "--qa-type", qa_type, "--json"], db=db.name)
t.ok(rc == 0 and all(r["qa_type"] == qa_type for r in json.loads(so)),
     "sample --qa-type keeps that type")
rc, so, se = run_tool(["sample", "--limit", "1"], db=db.name)
t.ok(rc == 0 and "-[ 1 ]" in so and "question" in so, "sample prints one block per pair", so)
rc, so, se = run_tool(["sample", "--qa-type", "riddle"], db=db.name)
t.ok(rc == 2 and "unknown qa_type" in se, "sample with an unknown qa_type: exit 2", se)

# ------------------------------------------------------------ a model that fails or is slow
# A mock model server of our own; the tool's backend reaches it through
# PGOPTIONS (superuser-only settings, and the tests connect as superuser).
mock_url = start_mock()
mock_env = {"PGOPTIONS": "-c trajc.gemini_base_url=%s "
                         "-c trajc.gemini_api_key=test-key -c trajc.max_retries=0" % mock_url}

fresh = db.sql("SELECT string_agg(session_id, ',' ORDER BY session_id) FROM trajc_extract(3, 0) e "
               "WHERE NOT EXISTS (SELECT 1 FROM trajc.qa_pairs p WHERE p.session_id = e.session_id)"
               ).split(",")
t.ok(len(fresh) >= 4, "four sessions left uncompiled for the mock cases")


def direct(session, directive):
    db.sql("UPDATE audit_log SET response = '%s ' || coalesce(response, '') "
           "WHERE session_id = '%s'" % (directive, session))


direct(fresh[0], "mock:status=400")
rc, so, se = run_tool(["compile", "--provider", "gemini", "--session", fresh[0],
                       "--session", fresh[1]], db=db.name, env=mock_env)
t.eq(rc, 1, "one failed session: exit 1")
t.ok("failed sessions:" in so and fresh[0] in so.split("failed sessions:")[1],
     "the summary lists the failed session", so)
t.eq(db.sql("SELECT count(*) > 0 FROM trajc.qa_pairs WHERE session_id = '%s'" % fresh[1]), "t",
     "the other session kept its pairs")

for s in fresh[2:4]:
    direct(s, "mock:slow=8000")
# The first session answers at once, the next two slowly.
p = start_tool(["compile", "--provider", "gemini", "--force", "--session", fresh[1],
                "--session", fresh[2], "--session", fresh[3]],
               db=db.name, env=mock_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = ""
deadline = time.time() + 60
while time.time() < deadline:
    line = p.stderr.readline()
    if not line or line.startswith("[1/3]"):
        break
time.sleep(0.5)  # the second session's model call is in flight
sent = time.time()
p.send_signal(signal.SIGINT)
so, se = p.communicate(timeout=60)
elapsed = time.time() - sent
t.eq(p.returncode, 130, "Ctrl-C during a model call: exit 130")
t.ok(elapsed < 3, "it stops within seconds, not when the call would end (%.1fs)" % elapsed)
t.contains(so, "interrupted after 1 of 3 sessions", "the summary says what was done")
t.eq(db.sql("SELECT count(*) FROM trajc.qa_pairs WHERE session_id = '%s'" % fresh[2]), "0",
     "the interrupted session left no pairs")
t.eq(db.sql("SELECT count(*) > 0 FROM trajc.qa_pairs WHERE session_id = '%s'" % fresh[1]), "t",
     "the finished session kept its pairs")
