#!/usr/bin/env python3
"""trajc compile --background and trajc jobs against a scratch database in
the test cluster (which preloads trajc): the job id is printed at once, the
job runs on the server, `jobs` lists it as trajc.jobs holds it, `--watch`
redraws a progress bar per running job on a terminal (one line per change
elsewhere) until no job is live, and Ctrl-C stops the watch, not the job.

Model calls go to the cluster's mock (scripts/test-env.sh sets the base URLs
server-wide: a job's worker reads them itself, never from the session)."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, start_tool, run_on_terminal  # noqa: E402

t = Tap()
db = ScratchDb("jobs", sessions=8, mean_turns=12, compile_limit=0)


def wait_job(job_id, timeout=30):
    """The job's status once it is no longer queued or running (None on timeout)."""
    end = time.time() + timeout
    while time.time() < end:
        status = db.sql("SELECT status FROM trajc.jobs WHERE id = %s" % job_id)
        if status not in ("queued", "running"):
            return status
        time.sleep(0.1)
    return None


def wait_running(job_id, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if db.sql("SELECT status FROM trajc.jobs WHERE id = %s" % job_id) == "running":
            return True
        time.sleep(0.05)
    return False


def slow_table(name, sessions, directive):
    db.sql("""CREATE TABLE %s (id serial PRIMARY KEY, session_id text NOT NULL,
                               created_at timestamptz NOT NULL, agent text, note text);
              INSERT INTO %s (session_id, created_at, agent, note)
              SELECT '%s-' || s, timestamptz '2024-06-01' + (s * 10 + n) * interval '1 minute', 'a',
                     CASE WHEN n = 2 THEN '%s' ELSE 'step ' || n END
                FROM generate_series(1, %d) s, generate_series(1, 4) n;"""
           % (name, name, name, directive, sessions))


# ------------------------------------------------------------ compile --background
rc, so, se = run_tool(["compile", "--background", "--provider", "offline", "--min-turns", "3",
                       "--limit", "3"], db=db.name)
job = so.strip()
t.ok(rc == 0 and job.isdigit(), "compile --background prints the job id and exits 0", so + se)
t.contains(se, "trajc jobs --watch", "... and says how to follow it")
t.eq(wait_job(job), "done", "the job runs on the server to its end")
row = db.sql("SELECT sessions_done || '/' || sessions_total || '|' || (settings->>'trajc.provider')"
             " || '|' || (args->>'limit') FROM trajc.jobs WHERE id = %s" % job)
t.eq(row, "3/3|offline|3", "... over 3 sessions, with --provider and --limit as given")
pairs = db.sql("SELECT count(*) FROM trajc.qa_pairs")
t.eq(db.sql("SELECT pairs FROM trajc.jobs WHERE id = %s" % job), pairs, "... storing its pairs")

rc, so, se = run_tool(["compile", "--background", "--provider", "offline", "--min-turns", "3",
                       "--limit", "3", "--json"], db=db.name)
again = json.loads(so).get("job_id") if rc == 0 else None
t.ok(isinstance(again, int), "compile --background --json prints {\"job_id\": N}", so + se)
t.eq(wait_job(again), "done", "a second job over the same sessions ends")
t.eq(db.sql("SELECT count(*) FROM trajc.compile_log WHERE status = 'skipped' AND error LIKE 'unchanged%%'"), "3",
     "... skipping the three it finds unchanged")

for extra in (["--session", "x"], ["--force"]):
    rc, so, se = run_tool(["compile", "--background"] + extra, db=db.name)
    t.ok(rc == 2 and "cannot be used with --background" in se,
         "%s with --background is a usage error" % extra[0], se)

# ------------------------------------------------------------ jobs
rc, so, se = run_tool(["jobs", "--json"], db=db.name)
listed = json.loads(so) if rc == 0 else []
t.eq([r["id"] for r in listed], [again, int(job)], "jobs --json lists the jobs, newest first")
want = json.loads(db.sql("SELECT json_build_object('status', status, 'sessions_done', sessions_done,"
                         " 'sessions_total', sessions_total, 'pairs', pairs) FROM trajc.jobs WHERE id = %s" % job))
t.eq({k: listed[1].get(k) for k in want} if len(listed) == 2 else None, want,
     "... with the status and counts trajc.jobs holds")
rc, so, se = run_tool(["jobs", "--limit", "1"], db=db.name)
header = so.splitlines()[0] if so else ""
t.ok(rc == 0 and "status" in header and "sessions_done" in header and "(1 row)" in so,
     "jobs prints a table; --limit 1 keeps one row", so)

# ------------------------------------------------------------ --watch on a terminal
slow_table("slow_log", 3, "mock:slow=900")
slow_env = {"PGOPTIONS": "-c trajc.source=slow_log -c trajc.concurrency=1"}
rc, so, se = run_tool(["compile", "--background", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=db.name, env=slow_env)
slow = so.strip()
t.ok(rc == 0 and slow.isdigit(), "a slow job starts", so + se)
rc, screen = run_on_terminal(["jobs", "--watch"], db=db.name, stream="stdout")
text = screen.decode(errors="replace")
t.eq(rc, 0, "jobs --watch exits 0 once no job is queued or running")
t.ok(("job %s running [" % slow) in text and "/3 sessions |" in text and "ETA" in text,
     "on a terminal it shows a progress bar for the running job", text)
t.ok("\033[" in text, "... redrawn in place", text)
lines = text.splitlines()
t.ok(lines and lines[-1].strip().endswith("rows)")
     and any(line.lstrip().startswith(slow + " ") and " done " in line for line in lines[-8:]),
     "... and ends with the table, the job done", text)
t.eq(db.sql("SELECT status || ' ' || sessions_done FROM trajc.jobs WHERE id = %s" % slow), "done 3",
     "the watched job compiled its 3 sessions")

# ------------------------------------------------------------ --watch elsewhere, and Ctrl-C
slow_table("hang_log", 1, "mock:hang")
hang_env = {"PGOPTIONS": "-c trajc.source=hang_log"}
rc, so, se = run_tool(["compile", "--background", "--provider", "gemini", "--min-turns", "3",
                       "--limit", "0"], db=db.name, env=hang_env)
hang = so.strip()
t.ok(wait_running(hang), "a job whose model never answers runs")
p = start_tool(["jobs", "--watch"], db=db.name, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
first = p.stdout.readline()
t.eq(first.strip(), "job %s running [------------------------] 0/1 sessions | 0 pairs | $0.0000 | ETA --" % hang,
     "not on a terminal, --watch prints a line per job when it changes", first)
p.send_signal(signal.SIGINT)
so, se = p.communicate(timeout=30)
t.eq(p.returncode, 130, "Ctrl-C stops the watch with exit 130")
t.eq(db.sql("SELECT status FROM trajc.jobs WHERE id = %s" % hang), "running", "... not the job")
p = start_tool(["jobs", "--watch", "--limit", "1"], db=db.name, stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True)
p.stdout.readline()
t.eq(db.sql("SELECT trajc_cancel(%s)" % hang), "t", "trajc_cancel stops the job")
so, se = p.communicate(timeout=30)
t.ok(p.returncode == 0 and " cancelled " in so and "(1 row)" in so,
     "the watch then ends, printing the job cancelled", so + se)
