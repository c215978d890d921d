#!/usr/bin/env python3
"""trajc export to SQLite: round trip, incremental and idempotent runs, and an
interrupted export (Ctrl-C, then kill -9) leaving the previous file intact."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import (Tap, ScratchDb, pg_pairs, run_tool, sqlite_pairs, sqlite_scalar,  # noqa: E402
                       start_tool, workdir)

t = Tap()
db = ScratchDb("export_sqlite")
work = workdir()
out = os.path.join(work, "data", "qa_pairs.sqlite")  # data/ does not exist yet

n = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))
t.ok(n > 0, "the offline compile produced pairs to export (%d)" % n)

# ------------------------------------------------------------ round trip
rc, so, se = run_tool(["export", "--out", out], db=db.name)
t.eq(rc, 0, "first export exits 0")
t.contains(so, "exported %d new pairs" % n, "the summary counts the new pairs")
t.eq(sqlite_pairs(out), pg_pairs(db.name), "every column of every pair equals trajc.qa_pairs")
t.eq(sqlite_scalar(out, "SELECT group_concat(version || ':' || name) FROM schema_migrations"),
     "1:001_qa_pairs.sql", "the schema came from migration 001, recorded in schema_migrations")
t.eq(sqlite_scalar(out, "SELECT DISTINCT typeof(turn_count) || ',' || typeof(cost_usd) FROM qa_pairs"),
     "integer,real", "numbers are stored as numbers")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs WHERE json_valid(supporting_turns) "
                        "AND json_type(supporting_turns) = 'array' AND json_valid(raw_extraction)"),
     n, "supporting_turns and raw_extraction are JSON text")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs WHERE created_at GLOB "
                        "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'"),
     n, "created_at is ISO 8601 UTC")

# Into a new file the session index is built after the load (issue 16), as
# the migration defines it, in the same transaction.
INDEX_SQL = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'qa_pairs_session_id'"
t.eq(sqlite_scalar(out, INDEX_SQL), "CREATE INDEX qa_pairs_session_id ON qa_pairs (session_id)",
     "the session index is there after the first export, as migration 001 defines it")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs INDEXED BY qa_pairs_session_id "
                        "WHERE session_id >= ''"), n, "... and indexes every pair")

# ------------------------------------------------------------ idempotent, incremental
rc, so, se = run_tool(["export", "--out", out, "--json"], db=db.name)
summary = json.loads(so) if rc == 0 else {}
t.eq((rc, summary.get("pairs_written"), summary.get("total")), (0, 0, n),
     "a second run adds nothing (--json summary)")

db.add_pairs(7)
rc, so, se = run_tool(["export", "--out", out, "--json"], db=db.name)
summary = json.loads(so) if rc == 0 else {}
t.eq((rc, summary.get("pairs_written"), summary.get("total")), (0, 7, n + 7),
     "after 7 new pairs, the next run adds exactly those 7")
t.eq(sqlite_pairs(out), pg_pairs(db.name), "the file still equals trajc.qa_pairs")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs INDEXED BY qa_pairs_session_id "
                        "WHERE session_id >= ''"), n + 7,
     "an export into a file with pairs keeps the index (and adds to it)")

# ------------------------------------------------------------ interrupted
db.add_pairs(300000, session_prefix="bulk")
total_before = sqlite_scalar(out, "SELECT count(*) FROM qa_pairs")
size_before = os.path.getsize(out)
journal = out + "-journal"


def export_until_mid_way(sig):
    """Starts an export of the 300,000 new pairs and sends `sig` once the file
    has grown (rows are being written inside the open transaction)."""
    p = start_tool(["export", "--out", out], db=db.name, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(journal) and os.path.getsize(out) > size_before + (1 << 20):
            break
        time.sleep(0.01)
    mid_way = p.poll() is None
    p.send_signal(sig)
    so, se = p.communicate(timeout=120)
    return mid_way, p.returncode, se


mid_way, rc, se = export_until_mid_way(signal.SIGINT)
t.ok(mid_way, "Ctrl-C arrived while rows were being written")
t.eq(rc, 130, "Ctrl-C: exit code 130")
t.contains(se, "export interrupted", "Ctrl-C: says the export was interrupted")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs"), total_before,
     "Ctrl-C: the file holds exactly the pairs it had before")
t.ok(not os.path.exists(journal), "Ctrl-C: rolled back cleanly (no journal left)")

mid_way, rc, se = export_until_mid_way(signal.SIGKILL)
t.ok(mid_way and rc == -signal.SIGKILL, "kill -9 mid-way through a large export")
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs"), total_before,
     "kill -9: the file still holds exactly the pairs it had before")
t.eq(sqlite_scalar(out, "PRAGMA integrity_check"), "ok", "kill -9: the file passes integrity_check")

rc, so, se = run_tool(["export", "--out", out, "--json"], db=db.name)
summary = json.loads(so) if rc == 0 else {}
t.eq((rc, summary.get("pairs_written")), (0, 300000),
     "the next run exports the 300,000 pairs", se)
t.eq(sqlite_scalar(out, "SELECT count(*) FROM qa_pairs"), total_before + 300000,
     "the file now has every pair")
