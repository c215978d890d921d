#!/usr/bin/env python3
"""A JSONL export writes a locked temporary file beside --out and renames it
on success. However the export ends (Ctrl-C, SIGTERM, a closed terminal,
kill -9) no temporary file outlives it: a signal deletes it, and after a
crash the next export of the same path deletes it. A temporary file whose
writer is still alive is never touched."""
import fcntl
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, start_tool, workdir  # noqa: E402

t = Tap()
db = ScratchDb("export_temp_files")
db.add_pairs(200000, session_prefix="bulk")
n = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))
work = workdir()
out = os.path.join(work, "pairs.jsonl")
TEMP_PREFIX = ".pairs.jsonl.tmp-trajc-"


def temp_files():
    """Every file in the directory but the output itself: the test leaves
    none there, so any other is a temporary file of an export."""
    return sorted(f for f in os.listdir(work) if f != "pairs.jsonl")


def lines_in(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def export_until_mid_way(sig):
    """Starts a JSONL export and sends `sig` once its temporary file holds
    over a megabyte; returns (was it mid-way, exit code, stderr, temp files
    seen while it ran)."""
    earlier = set(temp_files())
    p = start_tool(["export", "--format", "jsonl", "--out", out], db=db.name,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        seen = [f for f in temp_files() if f not in earlier]
        if seen and os.path.getsize(os.path.join(work, seen[0])) > (1 << 20):
            break
        time.sleep(0.01)
    mid_way = p.poll() is None
    p.send_signal(sig)
    so, se = p.communicate(timeout=120)
    return mid_way, p.returncode, se, seen


rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out], db=db.name)
t.ok(rc == 0 and lines_in(out) == n, "a full export writes every pair (%d)" % n, se)
t.eq(temp_files(), [], "and leaves no temporary file")
before = os.path.getsize(out)

# ------------------------------------------------------------ signals
for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 130), (signal.SIGHUP, 130)):
    name = signal.Signals(sig).name
    mid_way, rc, se, seen = export_until_mid_way(sig)
    t.ok(mid_way and seen, "%s arrived mid-way, with a temporary file being written" % name)
    t.eq(rc, code, "%s: exit %d" % (name, code), se)
    t.eq(temp_files(), [], "%s: no temporary file left" % name)
    t.eq(os.path.getsize(out), before, "%s: the previous file is untouched" % name)

# ------------------------------------------------------------ a crash
mid_way, rc, se, seen = export_until_mid_way(signal.SIGKILL)
t.ok(mid_way and rc == -signal.SIGKILL, "kill -9 mid-way through a JSONL export")
t.eq(len(temp_files()), 1, "kill -9 leaves its temporary file (nothing can run at a kill)")
t.eq(os.path.getsize(out), before, "kill -9: the previous file is untouched")
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out, "--since", "2999-01-01"],
                      db=db.name)
t.eq((rc, temp_files()), (0, []), "the next export of that path deletes the abandoned file")

# ------------------------------------------------------------ writers that are alive
# A temporary file locked by a live process (as a running export's is) stays;
# one of the same name shape that nobody holds is abandoned and goes; files
# that only look alike stay.
held = os.path.join(work, TEMP_PREFIX + "held01")
abandoned = os.path.join(work, TEMP_PREFIX + "gone01")
lookalikes = [os.path.join(work, name) for name in
              (TEMP_PREFIX + "toolong1", ".other.jsonl.tmp-trajc-abc123", "pairs.jsonl.tmp-12345")]
for path in [held, abandoned] + lookalikes:
    with open(path, "w") as f:
        f.write("x\n")
holder = open(held, "r")
fcntl.flock(holder, fcntl.LOCK_EX)
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out], db=db.name)
t.eq(rc, 0, "an export beside a held and an abandoned temporary file", se)
t.ok(os.path.exists(held), "the held temporary file is left alone")
t.ok(not os.path.exists(abandoned), "the abandoned one is deleted")
t.eq([os.path.exists(p) for p in lookalikes], [True] * len(lookalikes),
     "files that only look like temporary files are left alone")
fcntl.flock(holder, fcntl.LOCK_UN)
holder.close()
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out], db=db.name)
t.ok(rc == 0 and not os.path.exists(held), "once its holder is gone, the next run deletes it")
for path in lookalikes:
    os.remove(path)

# Two exports of the same path at once: neither deletes the other's file.
first = start_tool(["export", "--format", "jsonl", "--out", out], db=db.name,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 120
while time.time() < deadline and first.poll() is None and not temp_files():
    time.sleep(0.01)
started_mid_way = first.poll() is None and bool(temp_files())
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", out], db=db.name)
so1, se1 = first.communicate(timeout=120)
t.ok(started_mid_way, "a second export started while the first was writing")
t.eq((first.returncode, rc), (0, 0), "both concurrent exports succeed", se1 + se)
t.eq(lines_in(out), n, "the file holds every pair")
t.eq(temp_files(), [], "no temporary file of theirs is left")
