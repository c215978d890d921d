#!/usr/bin/env python3
"""trajc export --out must name a file the user can open: no empty name, no
SQLite in-memory database or URI, nothing but a regular file replaced. Each
such --out is exit 2 with a message, and writes nothing anywhere."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, workdir  # noqa: E402

t = Tap()
db = ScratchDb("export_paths")
work = workdir()
n = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))
t.ok(n > 0, "pairs to export (%d)" % n)


def run_in_work(args):
    """trajc run from inside `work`, so relative paths land there."""
    here = os.getcwd()
    os.chdir(work)
    try:
        return run_tool(args, db=db.name)
    finally:
        os.chdir(here)


# ------------------------------------------------------------ no file at all
for fmt in ("sqlite", "jsonl", "chat"):
    rc, so, se = run_in_work(["export", "--format", fmt, "--out", ""])
    t.ok(rc == 2 and "--out needs a file name" in se and "exported" not in so
         and "wrote" not in so, "--format %s --out '': exit 2, says a file name is needed" % fmt,
         "rc=%d\n%s%s" % (rc, so, se))
    rc, so, se = run_in_work(["export", "--format", fmt, "--out", ":memory:"])
    t.ok(rc == 2 and ":memory:" in se and "exported" not in so and "wrote" not in so,
         "--format %s --out :memory:: exit 2, says it is no file" % fmt,
         "rc=%d\n%s%s" % (rc, so, se))
rc, so, se = run_in_work(["export", "--out", ""])
t.eq(rc, 2, "--out '' without --format: exit 2")
t.eq(os.listdir(work), [], "... and nothing was written")

# ------------------------------------------------------------ a URI is a file name
uri = "file:pairs.sqlite?mode=memory"
rc, so, se = run_in_work(["export", "--out", uri])
t.eq(rc, 0, "an --out that looks like an SQLite URI exports", se)
path = os.path.join(work, uri)
t.ok(os.path.isfile(path), "... into a file of exactly that name", os.listdir(work))
if os.path.isfile(path):
    con = sqlite3.connect(path)
    t.eq(con.execute("SELECT count(*) FROM qa_pairs").fetchone()[0], n,
         "... which holds every pair")
    con.close()

# ------------------------------------------------------------ only regular files
fifo = os.path.join(work, "pipe.jsonl")
os.mkfifo(fifo)
for fmt in ("jsonl", "sqlite"):
    rc, so, se = run_tool(["export", "--format", fmt, "--out", fifo], db=db.name, timeout=60)
    t.ok(rc == 2 and "not a regular file" in se,
         "--format %s into a FIFO: exit 2, not a regular file" % fmt, "rc=%d\n%s" % (rc, se))
t.ok(os.path.exists(fifo) and not os.path.isfile(fifo), "the FIFO is still a FIFO")
link = os.path.join(work, "link.jsonl")
os.symlink(fifo, link)
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", link], db=db.name, timeout=60)
t.ok(rc == 2 and "not a regular file" in se, "a symlink to a FIFO: exit 2", se)
t.ok(os.path.islink(link), "the symlink is left alone")
