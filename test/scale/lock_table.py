"""No cliff (issue 16, item 1): a batch's lock use must not grow with the
number of sessions it compiles.

A batch used to hold one advisory lock per claimed session until its
statement committed; past the shared lock table's size (about 15,000
sessions with the default max_locks_per_transaction = 64) it failed with
`out of shared memory` and stored nothing. This test starts a cluster of its
own with the smallest lock table Postgres allows (max_locks_per_transaction
= 10, few connections), shows that the lock table cannot hold one lock per
session of the log, then compiles every session in one batch (and one
estimate, and one procedure call) with the offline compiler.

It must never touch the suite's cluster: the small cluster lives in a
temporary directory, on a socket of its own, and is destroyed at exit.

    prove --exec python3 test/scale/lock_table.py     (after scripts/build.sh)
"""
import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "cli", "lib"))
from trajc_tap import Tap  # noqa: E402

SESSIONS = 3000  # ten times what this cluster's lock table is sized for
PGCLUSTER = os.path.join(REPO, "scripts", "pgcluster.sh")

ROOT = tempfile.mkdtemp(prefix="trajc-small-locks-")
os.chmod(ROOT, 0o755)  # the cluster's owner (postgres, when run as root) works in it
CLUSTER_ENV = dict(os.environ, TRAJC_PGROOT=os.path.join(ROOT, "cluster"),
                   TRAJC_PGPORT=os.environ.get("TRAJC_SMALL_PGPORT", "54399"),
                   TRAJC_PGCONF="max_locks_per_transaction = 10\nmax_connections = 10\n"
                                "max_worker_processes = 4\nmax_wal_senders = 0\n"
                                "max_prepared_transactions = 0")


def cluster(*args):
    return subprocess.run([PGCLUSTER, *args], capture_output=True, text=True, env=CLUSTER_ENV)


def destroy():
    cluster("destroy")
    shutil.rmtree(ROOT, ignore_errors=True)


tap = Tap()
# After Tap: atexit runs handlers last-registered first, and Tap's ends the
# process (os._exit) when a test failed.
atexit.register(destroy)
started = cluster("start")
if started.returncode != 0:
    tap.bail("the small cluster did not start: " + started.stderr)
ENV = dict(os.environ)
for word in shlex.split(cluster("env").stdout.replace("export ", "")):
    key, _, value = word.partition("=")
    ENV[key] = value


def psql(sql):
    """(ok, stdout or the error) of a psql -XAt run, stopping at the first error."""
    r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"], input=sql,
                       capture_output=True, text=True, env=ENV)
    return r.returncode == 0, (r.stdout.strip() if r.returncode == 0 else r.stderr.strip())


ok, out = psql("""
SET client_min_messages = warning;
CREATE EXTENSION trajc;
CREATE TABLE public.many (id bigserial PRIMARY KEY, session_id text NOT NULL,
                          created_at timestamptz NOT NULL, agent text, tool text, note text);
INSERT INTO public.many (session_id, created_at, agent, tool, note)
SELECT 'many-' || s, timestamptz '2026-01-01' + (s * 10 + t) * interval '1 second', 'agent-' || s %% 7,
       (ARRAY['search', 'read_file', 'run_tests'])[1 + t %% 3], 'step ' || t || ' of ' || s
  FROM generate_series(1, %d) s, generate_series(1, 3) t;
SHOW max_locks_per_transaction;
""" % SESSIONS)
if not tap.eq(out, "10", "a cluster of its own with max_locks_per_transaction = 10", out):
    tap.bail("no small cluster")

# Without this, the test could pass in a cluster whose lock table holds a
# lock per session anyway.
ok, out = psql("SELECT count(pg_advisory_xact_lock(g)) FROM generate_series(1, %d) g" % SESSIONS)
tap.ok(not ok and "out of shared memory" in out,
       "its lock table cannot hold one lock per session (%d): out of shared memory" % SESSIONS, out)

SETTINGS = "SET trajc.source = 'public.many'; SET trajc.provider = 'offline';\n"

ok, out = psql(SETTINGS + """
SELECT count(*), count(*) FILTER (WHERE status IN ('ok', 'empty')), count(*) FILTER (WHERE error IS NOT NULL)
  FROM trajc_compile_batch(3, 0);""")
tap.eq(out, "%d|%d|0" % (SESSIONS, SESSIONS),
       "one trajc_compile_batch compiles all %d sessions, none failed" % SESSIONS)
ok, out = psql("SELECT count(DISTINCT session_id), count(*) FROM trajc.compile_log")
tap.eq(out, "%d|%d" % (SESSIONS, SESSIONS), "... and stores one compile_log row for each")

ok, out = psql(SETTINGS + "SELECT count(*) FROM trajc_compile_batch(3, 0);")
tap.eq(out, str(SESSIONS), "a second batch over the same sessions (every one unchanged) runs too")
ok, out = psql("SELECT count(*) FROM trajc.compile_log WHERE status = 'skipped'"
               " AND error LIKE 'unchanged%'")
tap.eq(out, str(SESSIONS), "... skipping each as unchanged")

ok, out = psql(SETTINGS + "SET trajc.provider = 'gemini';\n"
               "SELECT sessions FROM trajc_estimate(3, 0);")
tap.eq(out, str(SESSIONS), "trajc_estimate over all of them")

ok, out = psql(SETTINGS + """
CALL trajc_compile_pending(3, 0);
SELECT count(*) FROM trajc.compile_log WHERE status = 'skipped' AND error LIKE 'unchanged%';""")
tap.eq(out, str(2 * SESSIONS), "CALL trajc_compile_pending over all of them (each unchanged, skipped)")
