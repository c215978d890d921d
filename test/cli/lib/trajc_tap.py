"""Shared pieces of the command-line tool's TAP tests (python3 stdlib only).

Each test file builds a scratch database in the private cluster
(scripts/pgcluster.sh), with the trajc extension and a small sample audit log
from scripts/sample_audit_log.sql, runs the real `trajc` binary against it
(build/trajc, or $TRAJC_BIN) and drops the database at the end.

    prove --exec python3 --ext .py test/cli/
"""
import atexit
import os
import pty
import re
import select
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TRAJC_BIN = os.environ.get("TRAJC_BIN") or os.path.join(REPO, "build", "trajc")


class Tap:
    """Minimal TAP producer: plan at the end, diagnostics on failure."""

    def __init__(self):
        self.count = 0
        self.failed = 0
        atexit.register(self._finish)

    def ok(self, cond, name, diag=None):
        self.count += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.count, name))
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, expected, name, diag=""):
        return self.ok(got == expected, name,
                       "got:      %r\nexpected: %r\n%s" % (got, expected, diag))

    def contains(self, text, needle, name):
        return self.ok(needle in text, name, "%r not found in:\n%s" % (needle, text))

    def bail(self, why):
        print("Bail out! " + why)
        sys.exit(255)

    def _finish(self):
        print("1..%d" % self.count)
        sys.stdout.flush()
        if self.failed:
            os._exit(1)


def cluster_env():
    """PG* variables of the private cluster, on top of this environment."""
    out = subprocess.run([os.path.join(REPO, "scripts", "pgcluster.sh"), "env"],
                         capture_output=True, text=True, check=True).stdout
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # the tests choose their database explicitly
    for word in shlex.split(out.replace("export ", "")):
        key, _, value = word.partition("=")
        env[key] = value
    return env


ENV = cluster_env()


def psql(sql, db=None, check=True):
    """Runs SQL with psql -XAt; returns stdout (rows '|'-separated)."""
    cmd = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"]
    if db:
        cmd += ["-d", db]
    r = subprocess.run(cmd, input=sql, capture_output=True, text=True, env=ENV)
    if check and r.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (r.stderr, sql[:500]))
    return r.stdout.strip()


def run_tool(args, db=None, env=None, timeout=300, text=True):
    """Runs trajc; returns (exit code, stdout, stderr), as bytes with text=False."""
    full_env = dict(ENV)
    if db:
        full_env["PGDATABASE"] = db
    if env:
        full_env.update(env)
    r = subprocess.run([TRAJC_BIN] + list(args), capture_output=True, text=text,
                       env=full_env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def start_tool(args, db=None, env=None, **popen_args):
    full_env = dict(ENV)
    if db:
        full_env["PGDATABASE"] = db
    if env:
        full_env.update(env)
    return subprocess.Popen([TRAJC_BIN] + list(args), env=full_env, **popen_args)


class ScratchDb:
    """A database of its own for one test file, dropped at exit."""

    def __init__(self, tag, extension=True, sessions=6, mean_turns=25, compile_limit=6):
        self.name = "trajc_cli_%s_%d" % (re.sub(r"\W", "_", tag), os.getpid())
        psql("DROP DATABASE IF EXISTS %s WITH (FORCE); CREATE DATABASE %s;"
             % (self.name, self.name), db="postgres")
        atexit.register(self.drop)
        if extension:
            psql("CREATE EXTENSION trajc;", db=self.name)
        if sessions:
            self.load_audit_log(sessions, mean_turns)
        if extension and sessions and compile_limit:
            self.compile_offline(compile_limit)

    def load_audit_log(self, sessions, mean_turns, table="audit_log"):
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.name,
               "-v", "table=" + table, "-v", "sessions=%d" % sessions,
               "-v", "mean_turns=%d" % mean_turns, "-v", "short_pct=0", "-v", "long_pct=0",
               "-f", os.path.join(REPO, "scripts", "sample_audit_log.sql")]
        subprocess.run(cmd, check=True, env=ENV, capture_output=True)

    def compile_offline(self, limit):
        return psql("SET trajc.provider = 'offline'; "
                    "SELECT count(*) FROM trajc_compile_batch(3, %d, NULL, true);" % limit,
                    db=self.name)

    def sql(self, text):
        return psql(text, db=self.name)

    def add_pairs(self, n, session_prefix="gen"):
        """Inserts n synthetic pairs directly (no compile), as the benchmark does."""
        self.sql("""
            INSERT INTO trajc.qa_pairs (session_id, agent, turn_count, question, answer,
                supporting_turns, qa_type, source_model, cost_usd, raw_extraction,
                trajectory_hash, created_at)
            SELECT '%s-' || (g %% 50), 'agent', 12, 'question ' || g, 'answer ' || g,
                   jsonb_build_array(1, 3 + g %% 5), 'factoid', 'offline', 0.000125,
                   jsonb_build_object('n', g), 'h', clock_timestamp()
              FROM generate_series(1, %d) g;""" % (session_prefix, n))

    def drop(self):
        psql("DROP DATABASE IF EXISTS %s WITH (FORCE);" % self.name, db="postgres", check=False)


PAIR_COLUMNS = ["id", "session_id", "agent", "turn_count", "question", "answer",
                "supporting_turns", "qa_type", "source_model", "cost_usd", "raw_extraction",
                "created_at"]


def iso_to_epoch_us(text):
    """Microseconds since the epoch of an ISO 8601 UTC text like the export's."""
    import datetime
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1000000))


def pg_pairs(db, where=""):
    """trajc.qa_pairs rows by id, in the types SQLite gives back: JSON columns
    as Postgres' text, cost as float, created_at as epoch microseconds."""
    import json
    out = psql("""
        SELECT coalesce(json_agg(json_build_array(
                 id::text, session_id, agent, turn_count, question, answer,
                 supporting_turns::text, qa_type, source_model, cost_usd::text,
                 raw_extraction::text,
                 (extract(epoch FROM created_at) * 1000000)::bigint) ORDER BY id), '[]')
          FROM trajc.qa_pairs %s""" % where, db=db)
    rows = []
    for r in json.loads(out):
        r[9] = float(r[9]) if r[9] is not None else None
        rows.append(tuple(r))
    return rows


def sqlite_pairs(path):
    """The exported rows by id, created_at turned into epoch microseconds."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT %s FROM qa_pairs ORDER BY id" % ", ".join(PAIR_COLUMNS))
        return [tuple(r[:11]) + (iso_to_epoch_us(r[11]),) for r in rows]
    finally:
        con.close()


def sqlite_scalar(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def workdir():
    d = tempfile.mkdtemp(prefix="trajc-cli-test-")
    atexit.register(lambda: subprocess.run(["rm", "-rf", d]))
    return d


def start_mock():
    """A mock model server of the test's own (its request log and faults are
    the test's alone): started on a free port, stopped when the script ends,
    also early. Returns its base URL."""
    port_file = os.path.join(workdir(), "mock.port")
    mock = subprocess.Popen([sys.executable, os.path.join(REPO, "test", "mock", "mock_model_server.py"),
                             "--port", "0", "--port-file", port_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(mock.terminate)
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    return "http://127.0.0.1:%s" % open(port_file).read().strip()


def run_on_terminal(args, db=None, stream="stdout", timeout=30):
    """Runs the tool with `stream` ("stdout" or "stderr") on a pseudo-terminal,
    the other to a pipe; returns (exit code, what the terminal showed)."""
    master, slave = pty.openpty()
    other = subprocess.PIPE
    p = start_tool(args, db=db, stdout=slave if stream == "stdout" else other,
                   stderr=slave if stream == "stderr" else other)
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    p.communicate(timeout=timeout)
    os.close(master)
    return p.returncode, screen


if __name__ == "__main__":
    # Not a test: a recursive prove that picks it up sees a skipped file.
    print("1..0 # SKIP helper module")
