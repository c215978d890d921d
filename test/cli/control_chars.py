#!/usr/bin/env python3
"""Text from the database (session ids, agents, answers, server messages)
may hold terminal control characters. Human-readable output (tables,
records, progress, summaries, errors, notices) shows them escaped (\\x1b,
\\u009b) and never raw; machine formats (--json, JSONL, SQLite) keep the
exact value."""
import json
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, workdir  # noqa: E402

t = Tap()
db = ScratchDb("control_chars", sessions=6, mean_turns=20, compile_limit=0)
work = workdir()

# ESC ] (window title) ... BEL, ESC [2J (clear screen), CR; and a C1 CSI
# (U+009B), DEL and SOH.
EVIL = ["evil\x1b]0;pwned\x07\x1b[2J\rX", "c1\u009b31m\x7fdel\x01"]
EVIL_AGENT = "agent\x1b[5m"
sessions = db.sql("SELECT string_agg(session_id, ',' ORDER BY session_id) FROM "
                  "(SELECT DISTINCT session_id FROM audit_log WHERE session_id IS NOT NULL) s"
                  ).split(",")


def literal(s):
    return "'" + s.replace("'", "''") + "'"


for old, new in zip(sessions, EVIL):
    db.sql("UPDATE audit_log SET session_id = %s WHERE session_id = %s" % (literal(new), literal(old)))
db.sql("UPDATE audit_log SET agent = %s WHERE session_id = %s AND agent IS NOT NULL"
       % (literal(EVIL_AGENT), literal(EVIL[0])))
db.compile_offline(0)
t.eq(db.sql("SELECT count(DISTINCT session_id) FROM trajc.qa_pairs WHERE session_id IN (%s)"
            % ", ".join(literal(e) for e in EVIL)), "2",
     "the two sessions with control characters have pairs")

RAW = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def no_raw_controls(output, name):
    m = RAW.search(output)
    return t.ok(m is None, name, None if m is None else
                "raw %r at %d in:\n%r" % (m.group(0), m.start(), output[max(0, m.start() - 40):m.start() + 40]))


def shows_escaped(output, name):
    return t.ok(b"evil\\x1b]0;pwned\\x07" in output and b"c1\\u009b31m\\x7fdel\\x01" in output,
                name, output)


def run(args):
    return run_tool(args, db=db.name, text=False)


# ------------------------------------------------------------ extract, sample
rc, so, se = run(["extract", "--min-turns", "3", "--limit", "0"])
t.eq(rc, 0, "extract exits 0")
no_raw_controls(so + se, "extract prints no raw control character")
t.ok(b"evil\\x1b]0;pwned\\x07\\x1b[2J" in so and b"c1\\u009b31m\\x7fdel\\x01" in so,
     "extract shows the session ids escaped", so)
t.ok(b"agent\\x1b[5m" in so, "... and the agent too", so)
rc, so, se = run(["extract", "--min-turns", "3", "--limit", "0", "--json"])
ids = [r["session_id"] for r in json.loads(so)] if rc == 0 else []
t.ok(all(e in ids for e in EVIL), "extract --json keeps the exact ids", ids)
no_raw_controls(so, "... written with JSON escapes (\\u001b, \\u009b), none raw")

rc, so, se = run(["sample", "--limit", "1000"])
t.eq(rc, 0, "sample exits 0")
no_raw_controls(so + se, "sample prints no raw control character")
t.ok(b"evil\\x1b]0;pwned\\x07\\x1b[2J\\x0dX" in so and b"c1\\u009b31m" in so,
     "sample shows the session ids escaped (CR too)", so[:2000])
rc, so, se = run(["sample", "--limit", "1000", "--json"])
ids = {r["session_id"] for r in json.loads(so)} if rc == 0 else set()
t.ok(all(e in ids for e in EVIL), "sample --json keeps the exact ids", ids)

# ------------------------------------------------------------ errors and paths
rc, so, se = run(["compile", "--session", "nope\x1b[31m\x9b"])
t.eq(rc, 2, "an unknown --session: exit 2")
no_raw_controls(se, "the error names it without raw control characters")
t.contains(se.decode(errors="replace"), "nope\\x1b[31m\\u009b", "... escaped")

out = os.path.join(work, "pairs\x1b[31m.jsonl")
rc, so, se = run(["export", "--out", out])
t.eq(rc, 0, "export to a path with ESC in it")
t.ok(os.path.isfile(out), "the file has exactly that name")
no_raw_controls(so + se, "the summary shows the path escaped")

# ------------------------------------------------------------ machine formats
rc, so, se = run(["export", "--out", "-"])
ids = {json.loads(line)["session_id"] for line in so.splitlines() if line.strip()}
t.ok(all(e in ids for e in EVIL), "JSONL keeps the exact ids")
sq = os.path.join(work, "pairs.sqlite")
rc, so, se = run(["export", "--out", sq])
con = sqlite3.connect(sq)
ids = {r[0] for r in con.execute("SELECT DISTINCT session_id FROM qa_pairs")}
con.close()
t.ok(rc == 0 and all(e in ids for e in EVIL), "SQLite keeps the exact ids")

# ------------------------------------------------------------ compile
# Progress lines, the summary, and the server's notices (a skipped session).
args = ["compile", "--provider", "offline", "--session", EVIL[0], "--session", EVIL[1]]
rc, so, se = run(args + ["--force"])
t.eq(rc, 0, "compile of the two sessions exits 0", se)
no_raw_controls(so + se, "compile's progress and summary print no raw control character")
shows_escaped(se, "the progress lines show the ids escaped")
rc, so, se = run(args + ["--json"])
got = {s["session_id"]: s["status"] for s in json.loads(so)["sessions"]} if rc == 0 else {}
t.eq(got, {EVIL[0]: "skipped", EVIL[1]: "skipped"},
     "compile --json keeps the exact ids (both unchanged: skipped)", se)
no_raw_controls(se, "the skipped sessions' notices print no raw control character")
