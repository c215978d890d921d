#!/usr/bin/env python3
"""trajc eval run / trajc eval report against a scratch database and a mock
model server of our own: progress and the summary, Ctrl-C while a candidate
hangs (exit 130, answers kept) and the same command resuming the run, the
report of two runs with their regressions, and usage errors."""
import json
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, start_tool, start_mock  # noqa: E402

t = Tap()
db = ScratchDb("eval", sessions=4, mean_turns=12, compile_limit=0)

mock_url = start_mock()
env = {"PGOPTIONS": "-c trajc.openai_base_url=%s "
                    "-c trajc.openai_api_key=test-key -c trajc.max_retries=0" % mock_url}

# Five pairs written by hand on one session. The mock's candidate replies
# with turn N's text for mock:answer=N, so each reference is a line of that
# turn as trajc_turns renders it: p1, p2, p4 right; p3 wrong; p5 hangs.
session = db.sql("SELECT session_id FROM trajc_extract(5, 1)")
line = {n: db.sql("SELECT split_part(content, E'\\n', 1) FROM trajc_turns('%s') WHERE turn = %d"
                  % (session, n)) for n in (2, 3, 4)}
pairs = [("p1", "factoid", "mock:answer=2", line[2]), ("p2", "temporal", "mock:answer=3", line[3]),
         ("p3", "reasoning", "mock:answer_wrong=4", line[4]), ("p4", "factoid", "mock:answer=4", line[4]),
         ("p5", "composition", "mock:hang", line[2])]
for i, (name, qa_type, directive, answer) in enumerate(pairs, 1):
    db.sql("""INSERT INTO trajc.qa_pairs (id, session_id, turn_count, question, answer,
                supporting_turns, qa_type, source_model, trajectory_hash)
              VALUES ('00000000-0000-0000-0000-00000000000%d', '%s', 12, 'Question %s? %s',
                      $a$%s$a$, '[1, 3]', '%s', 'hand', 'h')""" % (i, session, name, directive, answer,
                                                                   qa_type))

# ------------------------------------------------------------ Ctrl-C, then resume
p = start_tool(["eval", "run", "--label", "first", "--provider", "openai", "--model", "gpt-5-mini"],
               db=db.name, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
# The progress lines come on stderr; wait for the one counting the four
# answers that come (p5 hangs), then press Ctrl-C.
progress = ""
deadline = time.time() + 30
while time.time() < deadline and "[4/5]" not in progress:
    ready, _, _ = select.select([p.stderr], [], [], 0.5)
    if ready:
        progress += p.stderr.readline()
p.send_signal(signal.SIGINT)
so, se = p.communicate(timeout=60)
se = progress + se
t.eq(p.returncode, 130, "Ctrl-C while a candidate hangs: exit 130")
t.ok("[4/5]" in se, "progress lines count the pairs asked (not a terminal)", se)
t.ok("interrupted" in so and "resume" in so, "the summary says how to resume", so)
t.eq(db.sql("SELECT pairs || ' ' || correct FROM trajc.eval_runs WHERE label = 'first'"), "4 3",
     "the four answers before Ctrl-C are kept (three right)")
t.eq(db.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CALL %trajc_eval_pending%' "
            "AND pid <> pg_backend_pid()"), "0", "the call in flight was cancelled")

db.sql("UPDATE trajc.qa_pairs SET question = 'Question p5? mock:answer=2' "
       "WHERE id = '00000000-0000-0000-0000-000000000005'")
rc, so, se = run_tool(["eval", "run", "--label", "first", "--provider", "openai", "--model",
                       "gpt-5-mini", "--json"], db=db.name, env=env)
rows = {r["qa_type"]: r for r in json.loads(so)} if rc == 0 else {}
t.eq(rc, 0, "the same command resumes the run: exit 0", se)
t.eq((rows.get("total", {}).get("pairs"), rows.get("total", {}).get("correct")), (5, 4),
     "resumed: all five graded, four right (--json summary)")
t.eq(db.sql("SELECT count(*) FROM trajc.eval_answers "
            "WHERE answered_at < (SELECT max(answered_at) FROM trajc.eval_answers)"), "4",
     "resumed: only the fifth pair was asked again (the others keep their time)")

# ------------------------------------------------------------ two runs, report
rc, so, se = run_tool(["eval", "run", "--label", "second", "--provider", "openai", "--model",
                       "mock:flip"], db=db.name, env=env)
t.eq(rc, 0, "a second run with a candidate that flips right and wrong", se)
t.contains(so, "total", "the summary table has a total row")
rc, so, se = run_tool(["eval", "report", "first", "second", "--json"], db=db.name)
doc = json.loads(so) if rc == 0 else {}
total = [r for r in doc.get("report", []) if r["qa_type"] == "total"]
# first: p1 p2 p4 p5 right, p3 wrong. second (flipped): p3 right, the rest wrong.
t.ok(total and total[0]["pairs"] == 5 and total[0]["a_only"] == 4 and total[0]["b_only"] == 1,
     "eval report A B: a_only 4, b_only 1", so)
t.eq(sorted(r["question"].split("?")[0] for r in doc.get("regressions", [])),
     ["Question p1", "Question p2", "Question p4", "Question p5"], "the regressions are listed")
rc, so, se = run_tool(["eval", "report", "first"], db=db.name)
t.ok(rc == 0 and "accuracy_a" in so and "factoid" in so, "eval report A prints one run", so)
rc, so, se = run_tool(["eval", "report", "first", "second"], db=db.name)
t.ok(rc == 0 and "regressions" in so and "Question p1" in so, "eval report A B lists them as text", so)

# ------------------------------------------------------------ usage errors
rc, so, se = run_tool(["eval", "report", "nope"], db=db.name)
t.ok(rc == 1 and 'no eval run labelled "nope"' in se, "an unknown label is an error", se)
rc, so, se = run_tool(["eval", "report"], db=db.name)
t.ok(rc == 2 and "label" in se, "eval report without a label: exit 2", se)
rc, so, se = run_tool(["eval", "report", "a", "b", "c"], db=db.name)
t.ok(rc == 2 and 'unexpected argument "c"' in se, "three labels: exit 2", se)
rc, so, se = run_tool(["eval", "run", "--provider", "openai"], db=db.name, env=env)
t.ok(rc == 2 and "--label" in se, "eval run without --label: exit 2", se)
rc, so, se = run_tool(["eval", "run", "--label", "x", "--qa-type", "riddle"], db=db.name, env=env)
t.ok(rc == 2 and "unknown qa_type" in se, "an unknown --qa-type: exit 2", se)
rc, so, se = run_tool(["eval", "run", "--label", "x", "--provider", "openai", "--model", "m",
                       "--grader", "vibes"], db=db.name, env=env)
t.ok(rc == 2 and 'unknown grader "vibes"' in se, "an unknown grader: exit 2 (22023)", se)
rc, so, se = run_tool(["eval", "run", "--label", "first", "--provider", "openai", "--model", "gpt-5"],
                      db=db.name, env=env)
t.ok(rc == 2 and "was started with" in se, "resuming with another model: exit 2", se)
rc, so, se = run_tool(["help", "eval", "run"])
t.ok(rc == 0 and "--grader" in so and "Ctrl-C" in so, "help eval run", so)

