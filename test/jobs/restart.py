#!/usr/bin/env python3
"""Background jobs across a crash and a restart, and without the preload.

These stop the server, so they are not pgTAP files: scripts/test.sh runs
this file last, against its private cluster (scripts/test-env.sh) and the
loopback mock.

- A crash (the job's worker killed with SIGKILL: the postmaster resets
  every backend and re-creates shared memory) leaves the job failed with
  the "interrupted" error once the launcher's sweep has run, the sessions it
  finished kept.
- A restart (scripts/pgcluster.sh restart: a fast shutdown) does the same;
  trajc_start again then skips the finished sessions (the hash-skip) and
  compiles the rest, each session compiled once in all.
- A cluster without trajc in shared_preload_libraries (a throwaway one)
  refuses trajc_start and trajc_cancel, saying so.

Every wait is a bounded poll. It must never leave a job running or the
throwaway cluster behind.

    prove --exec python3 test/jobs/restart.py     (inside scripts/test-env.sh)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli", "lib"))
from trajc_tap import ENV, REPO, ScratchDb, Tap, psql  # noqa: E402

t = Tap()
db = ScratchDb("jobs_restart", sessions=0)

SLOW_LOG = """
CREATE TABLE {tab} (id serial PRIMARY KEY, session_id text NOT NULL, created_at timestamptz NOT NULL,
                    agent text, note text);
INSERT INTO {tab} (session_id, created_at, agent, note)
SELECT '{prefix}-' || s, timestamptz '2024-06-01 09:00+00' + (s * 100 + n) * interval '1 minute', 'agent',
       CASE WHEN n = 2 THEN 'mock:slow=1500' ELSE 'step ' || n END
  FROM generate_series(1, 4) s, generate_series(1, 3 + s) n;
"""


def wait_for(what, check, timeout=60, every=0.2):
    """Polls check() until it returns a true value (returned) or timeout."""
    end = time.time() + timeout
    while True:
        try:
            got = check()
        except RuntimeError:
            got = None  # the server is restarting
        if got or time.time() > end:
            return got
        time.sleep(every)


def job(job_id, columns="status, sessions_done, pid, coalesce(error, '')"):
    out = db.sql("SELECT %s FROM trajc.jobs WHERE id = %d" % (columns, job_id))
    return out.split("|") if out else None


def start_job(source):
    return int(db.sql("SET trajc.source = '%s'; SET trajc.concurrency = 1;"
                      " SELECT trajc_start(3, 0);" % source).splitlines()[-1])


def running_with_one_done(job_id):
    row = job(job_id)
    return row if row and row[0] == "running" and int(row[1]) >= 1 else None


def interrupted(job_id):
    row = job(job_id)
    return row if row and row[0] != "running" and row[0] != "queued" else None


def server_up():
    return psql("SELECT 1", db="postgres") == "1"


# ------------------------------------------------------------ a crash during a job
db.sql(SLOW_LOG.format(tab="crash_log", prefix="crash"))
crash = start_job("crash_log")
row = wait_for("a session done", lambda: running_with_one_done(crash), 30)
t.ok(row is not None, "the job runs and finishes a session", row)
if row:
    # The cluster commits asynchronously (synchronous_commit = off): a
    # checkpoint flushes the WAL of every commit before it, so the crash
    # loses none of what was seen committed.
    db.sql("CHECKPOINT")
    os.kill(int(row[2]), signal.SIGKILL)
t.ok(wait_for("the server", server_up, 60), "the server is back after the crash")
row = wait_for("the sweep", lambda: interrupted(crash), 30)
t.eq(row[0] if row else None, "failed", "the crashed job is marked failed")
t.ok(row and row[3].startswith("interrupted:"), "... saying it was interrupted", row)
ok_before = int(db.sql("SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'crash-%' AND status = 'ok'"))
t.ok(ok_before >= 1, "the sessions it finished are kept (%d)" % ok_before)

# ------------------------------------------------------------ a restart during a job
db.sql(SLOW_LOG.format(tab="restart_log", prefix="restart"))
restart = start_job("restart_log")
row = wait_for("a session done", lambda: running_with_one_done(restart), 30)
t.ok(row is not None, "a second job runs and finishes a session", row)
r = subprocess.run([os.path.join(REPO, "scripts", "pgcluster.sh"), "restart"], env=ENV,
                   capture_output=True, text=True)
t.eq(r.returncode, 0, "the server restarts", r.stderr)
t.ok(wait_for("the server", server_up, 60), "... and accepts connections")
row = wait_for("the sweep", lambda: interrupted(restart), 30)
t.eq(row[0] if row else None, "failed", "the job interrupted by the restart is marked failed")
t.ok(row and row[3].startswith("interrupted:"), "... saying it was interrupted", row)
t.eq(db.sql("SELECT count(*) FROM trajc.jobs WHERE status IN ('queued', 'running')"), "0",
     "no job is left running or queued")
kept = int(db.sql("SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'restart-%' AND status = 'ok'"))
t.ok(1 <= kept < 4, "the sessions it finished are kept (%d of 4)" % kept)

again = start_job("restart_log")
row = wait_for("the job's end", lambda: interrupted(again), 60)
t.eq(row[0] if row else None, "done", "trajc_start again runs to its end")
t.eq(db.sql("SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'restart-%' AND status = 'skipped'"
            " AND error LIKE 'unchanged%'"), str(kept),
     "... skipping the sessions finished before the restart (the hash-skip)")
t.eq(db.sql("SELECT count(*) FILTER (WHERE n = 1) || '/' || count(*) FROM (SELECT count(*) n"
            " FROM trajc.compile_log WHERE session_id LIKE 'restart-%' AND status = 'ok' GROUP BY session_id) c"),
     "4/4", "... and compiling the rest: each of the 4 sessions compiled once in all")

# ------------------------------------------------------------ no preload
work = tempfile.mkdtemp(prefix="trajc-nopreload-")
other = dict(ENV, TRAJC_PGROOT=os.path.join(work, "cluster"),
             TRAJC_PGPORT=str(int(ENV["PGPORT"]) + 11))
cluster = os.path.join(REPO, "scripts", "pgcluster.sh")


def other_psql(sql, dbname="postgres"):
    return subprocess.run([cluster, "psql", "-d", dbname, "-XAtq", "-c", sql], env=other,
                          capture_output=True, text=True)


try:
    r = subprocess.run([cluster, "start"], env=other, capture_output=True, text=True)
    t.eq(r.returncode, 0, "a throwaway cluster starts", r.stderr)
    other_psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'")
    r = subprocess.run([cluster, "restart"], env=other, capture_output=True, text=True)
    r = other_psql("SHOW shared_preload_libraries")
    t.eq((r.returncode, r.stdout.strip()), (0, "pg_cron"),
         "... restarted without trajc in shared_preload_libraries", r.stderr)
    r = other_psql("CREATE EXTENSION trajc", "trajc")
    t.eq(r.returncode, 0, "trajc installs there", r.stderr)
    r = other_psql("SELECT trajc_start(3, 0)", "trajc")
    t.ok(r.returncode != 0 and "trajc background jobs need trajc in shared_preload_libraries" in r.stderr,
         "trajc_start says the preload is missing", r.stderr)
    t.ok("Add trajc to shared_preload_libraries" in r.stderr, "... and how to add it", r.stderr)
    r = other_psql("SET client_min_messages = error; SELECT trajc_cancel(1);", "trajc")
    t.ok(r.returncode != 0 and "shared_preload_libraries" in r.stderr, "so does trajc_cancel", r.stderr)
    r = other_psql("SELECT count(*) FROM trajc.jobs", "trajc")
    t.eq((r.returncode, r.stdout.strip()), (0, "0"), "no job was recorded", r.stderr)
finally:
    subprocess.run([cluster, "destroy"], env=other, capture_output=True)
    subprocess.run(["rm", "-rf", work])
