#!/usr/bin/env python3
"""trajc batch submit / collect / list against a scratch database and the
mock's batch protocol (scripts/test-env.sh points Gemini at the mock): submit
lists the jobs it made and exits 1 when a vendor refused one, collect polls
and stores, list shows trajc.batches; a missing or unknown action is a usage
error."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool  # noqa: E402

t = Tap()
db = ScratchDb("batch", sessions=5, mean_turns=15, compile_limit=0)
pending = int(db.sql("SELECT count(*) FROM trajc_extract(3, 0)"))

# ------------------------------------------------------------ usage
rc, so, se = run_tool(["batch"], db=db.name)
t.ok(rc == 2 and "needs an action" in se, "batch without an action is a usage error (exit 2)", se)
rc, so, se = run_tool(["batch", "frobnicate"], db=db.name)
t.ok(rc == 2 and "unknown batch action" in se, "an unknown action is a usage error", se)
rc, so, se = run_tool(["batch", "list", "extra"], db=db.name)
t.ok(rc == 2 and "unexpected argument" in se, "a second positional argument is refused", se)
rc, so, se = run_tool(["help", "batch"])
t.ok(rc == 0 and "submit|collect|list" in so, "help batch shows the actions", so)

# ------------------------------------------------------------ a vendor refusing the job
refuse = {"PGOPTIONS": "-c trajc.model=mock:batch_reject"}
rc, so, se = run_tool(["batch", "submit", "--provider", "gemini", "--min-turns", "3", "--json"],
                      db=db.name, env=refuse)
jobs = json.loads(so) if so.strip() else []
t.eq(rc, 1, "submit exits 1 when the vendor refuses the job")
t.ok(len(jobs) == 1 and jobs[0]["status"] == "failed" and "HTTP 400" in (jobs[0]["error"] or ""),
     "... and shows the failed job with the vendor's answer", so)
t.eq(db.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'failed'"), str(pending),
     "its sessions are logged failed")

# ------------------------------------------------------------ submit, collect, list
rc, so, se = run_tool(["batch", "submit", "--provider", "gemini", "--min-turns", "3", "--json"],
                      db=db.name)
jobs = json.loads(so) if rc == 0 else []
t.eq(rc, 0, "submit exits 0")
t.ok(len(jobs) == 1 and jobs[0]["requests"] == pending and jobs[0]["status"] == "pending"
     and jobs[0]["remote_id"].startswith("batches/"),
     "submit sends every pending session (the refused ones again) as one accepted job", so)
job_id = jobs[0]["id"] if jobs else None

rc, so, se = run_tool(["batch", "collect", "--json"], db=db.name)
rows = json.loads(so) if rc == 0 else []
t.ok(rc == 0 and [r["status"] for r in rows] == ["running"], "the first collect finds the job running", so)
rc, so, se = run_tool(["batch", "collect", "--json"], db=db.name)
rows = json.loads(so) if rc == 0 else []
t.ok(rc == 0 and len(rows) == 1 and rows[0]["status"] == "ended" and rows[0]["finished_at"],
     "the second collect finds it ended", so)
t.eq(db.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'ok'"), str(pending),
     "every session of the job is stored")
t.eq(db.sql("SELECT cost_usd = (SELECT sum(cost_usd) FROM trajc.compile_log WHERE status = 'ok') "
            "FROM trajc.batches WHERE id = %d" % (job_id or 0)), "t",
     "the job's cost is its sessions' cost")

rc, so, se = run_tool(["batch", "list"], db=db.name)
t.ok(rc == 0 and "remote_id" in so.splitlines()[0] and "ended" in so and "failed" in so
     and "(2 rows)" in so, "list shows both jobs as a table", so)
rc, so, se = run_tool(["batch", "list", "--open", "--json"], db=db.name)
t.ok(rc == 0 and json.loads(so) == [], "list --open: nothing is open any more", so)
rc, so, se = run_tool(["batch", "list", "--limit", "1", "--json"], db=db.name)
got = json.loads(so) if rc == 0 else []
t.ok(len(got) == 1 and got[0]["id"] == job_id, "list --limit 1 shows the newest job", so)
rc, so, se = run_tool(["batch", "submit", "--provider", "gemini", "--min-turns", "3", "--json"],
                      db=db.name)
t.ok(rc == 0 and json.loads(so) == [], "a submit with nothing pending makes no job", so)
