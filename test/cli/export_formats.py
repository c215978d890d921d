#!/usr/bin/env python3
"""trajc export --format jsonl / chat, stdout, filters, and the errors of an
export: unknown qa_type, unwritable output, a file that is not SQLite."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, PAIR_COLUMNS, pg_pairs, run_tool, workdir  # noqa: E402

t = Tap()
db = ScratchDb("export_formats")
work = workdir()
n = int(db.sql("SELECT count(*) FROM trajc.qa_pairs"))


def lines_of(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------ jsonl
path = os.path.join(work, "pairs.jsonl")
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", path], db=db.name)
t.eq(rc, 0, "jsonl export exits 0")
with open(path) as f:
    rows = lines_of(f.read())
t.eq(len(rows), n, "one line per pair")
t.eq(list(rows[0].keys()) if rows else None, PAIR_COLUMNS, "each line has the qa_pairs columns")
by_id = {r["id"]: r for r in rows}
expected = {p[0]: p for p in pg_pairs(db.name)}
mismatch = [i for i, p in expected.items()
            if i not in by_id
            or json.dumps(by_id[i]["supporting_turns"]) != json.dumps(json.loads(p[6]))
            or by_id[i]["question"] != p[4] or by_id[i]["answer"] != p[5]
            or by_id[i]["cost_usd"] != p[9] or by_id[i]["turn_count"] != p[3]
            or by_id[i]["raw_extraction"] != json.loads(p[10])]
t.eq(mismatch, [], "jsonl values equal trajc.qa_pairs (JSON columns as JSON, numbers as numbers)")
t.ok(not [f for f in os.listdir(work) if ".tmp-" in f], "no temporary file left behind")

rc, so, se = run_tool(["export", "--out", "-"], db=db.name)
t.eq((rc, len(lines_of(so))), (0, n), "--out - streams JSONL to stdout")
t.contains(se, "wrote %d pairs to stdout" % n, "the summary goes to stderr then")

rc, so, se = run_tool(["export", "--out", "-", "--qa-type", "factoid"], db=db.name)
factoids = int(db.sql("SELECT count(*) FROM trajc.qa_pairs WHERE qa_type = 'factoid'"))
got = lines_of(so)
t.ok(rc == 0 and len(got) == factoids and all(r["qa_type"] == "factoid" for r in got),
     "--qa-type factoid keeps exactly the factoid pairs (%d)" % factoids)
session = db.sql("SELECT session_id FROM trajc.qa_pairs ORDER BY session_id LIMIT 1")
in_session = int(db.sql("SELECT count(*) FROM trajc.qa_pairs WHERE session_id = '%s'" % session))
rc, so, se = run_tool(["export", "--out", "-", "--session", session], db=db.name)
t.eq(len(lines_of(so)), in_session, "--session keeps that session's pairs")
rc, so, se = run_tool(["export", "--out", "-", "--since", "2999-01-01"], db=db.name)
t.eq((rc, so), (0, ""), "--since in the future exports nothing")
# Mark one pair as repeating another session's (the marking itself is
# pgTAP's quality.sql): --dedup must leave exactly the marked pairs out.
db.sql("UPDATE trajc.qa_pairs SET duplicate_of = (SELECT min(id::text)::uuid FROM trajc.qa_pairs o"
       " WHERE o.session_id <> qa_pairs.session_id)"
       " WHERE id = (SELECT max(id::text)::uuid FROM trajc.qa_pairs)")
originals = int(db.sql("SELECT count(*) FROM trajc.qa_pairs WHERE duplicate_of IS NULL"))
t.ok(0 < originals < n, "%d of %d pairs marked duplicate_of" % (n - originals, n))
rc, so, se = run_tool(["export", "--out", "-", "--dedup"], db=db.name)
got = lines_of(so)
marked = set(db.sql("SELECT coalesce(string_agg(id::text, ' '), '') FROM trajc.qa_pairs"
                    " WHERE duplicate_of IS NOT NULL").split())
t.ok(rc == 0 and len(got) == originals and not [r for r in got if r["id"] in marked],
     "--dedup leaves out exactly the pairs marked duplicate_of")

# ------------------------------------------------------------ chat
chat_path = os.path.join(work, "chat.jsonl")
rc, so, se = run_tool(["export", "--format", "chat", "--out", chat_path], db=db.name)
t.eq(rc, 0, "chat export exits 0")
with open(chat_path) as f:
    chats = lines_of(f.read())
t.eq(len(chats), n, "one chat line per pair")
t.ok(all([m["role"] for m in c["messages"]] == ["system", "user", "assistant"] for c in chats),
     "each line is {messages: [system, user, assistant]}")
pair = json.loads(db.sql(
    "SELECT json_build_object('s', session_id, 'q', question, 'a', answer) "
    "FROM trajc.qa_pairs ORDER BY id LIMIT 1"))
turns = json.loads(db.sql(
    "SELECT json_agg(json_build_object('turn', turn, 'content', content) ORDER BY turn) "
    "FROM trajc_turns('%s')" % pair["s"]))
match = [c for c in chats if c["messages"][2]["content"] == pair["a"]
         and c["messages"][1]["content"].endswith("Question: " + pair["q"])]
t.eq(len(match) >= 1, True, "the user message ends with the question, the assistant's is the answer")
user = match[0]["messages"][1]["content"] if match else ""
missing = [x["turn"] for x in turns
           if "### Turn %d (" % x["turn"] not in user or x["content"] not in user]
t.eq(missing, [], "the user message holds every turn of trajc_turns, numbered")
# The headings are the compile prompt's (### Turn N (time, agent), no agent
# when there is none), each followed by the turn's text.
turns = json.loads(db.sql(
    "SELECT json_agg(json_build_object('turn', turn, 'agent', agent, 'content', content, "
    "'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) ORDER BY turn) "
    "FROM trajc_turns('%s')" % pair["s"]))
unheaded = [x["turn"] for x in turns
            if "\n\n### Turn %d (%s%s)\n%s" % (x["turn"], x["at"],
                                               ", " + x["agent"] if x["agent"] else "",
                                               x["content"]) not in user]
t.eq(unheaded, [], "each turn sits under the prompt's heading: ### Turn N (time, agent)")
t.ok(any(not x["agent"] for x in turns) and any(x["agent"] for x in turns),
     "... shown both with and without an agent")

# ------------------------------------------------------------ errors
rc, so, se = run_tool(["export", "--qa-type", "trivia", "--out", "-"], db=db.name)
t.eq(rc, 2, "unknown qa_type: exit 2")
t.ok("unknown qa_type" in se and "factoid" in se, "unknown qa_type: names the valid types", se)

rc, so, se = run_tool(["export", "--out", "/dev/null/qa_pairs.sqlite"], db=db.name)
t.eq(rc, 2, "output under a non-directory: exit 2")
t.contains(se, "cannot write /dev/null/qa_pairs.sqlite", "output under a non-directory: says so")
rc, so, se = run_tool(["export", "--out", work], db=db.name)
t.ok(rc == 2 and "is a directory" in se, "output that is a directory: exit 2, says so", se)
if os.geteuid() != 0:  # root writes anywhere: permissions only bind other users
    locked = os.path.join(work, "locked")
    os.mkdir(locked, 0o500)
    rc, so, se = run_tool(["export", "--out", os.path.join(locked, "x.sqlite")], db=db.name)
    t.ok(rc == 2 and "cannot write" in se, "output in a read-only directory: exit 2", se)
not_sqlite = os.path.join(work, "notes.sqlite")
with open(not_sqlite, "w") as f:
    f.write("these are my notes, not a database\n" * 100)
rc, so, se = run_tool(["export", "--out", not_sqlite], db=db.name)
t.ok(rc == 2 and "not a usable SQLite database" in se, "a file that is not SQLite: exit 2", se)
with open(not_sqlite) as f:
    t.ok(f.read().startswith("these are my notes"), "... and the file is left alone")

# A failing export leaves the previous JSONL file as it was.
with open(path) as f:
    before = f.read()
rc, so, se = run_tool(["export", "--format", "jsonl", "--out", path, "--since", "not a time"],
                      db=db.name)
t.eq(rc, 2, "a bad --since is a usage error")
with open(path) as f:
    t.ok(f.read() == before, "a failed JSONL export leaves the previous file intact")
