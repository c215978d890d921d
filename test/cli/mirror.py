#!/usr/bin/env python3
"""trajc export --to-postgres: mirrors trajc.qa_pairs into a plain qa_pairs
table of another database (created by migrations/postgres), idempotently."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, psql, run_tool  # noqa: E402

t = Tap()
source = ScratchDb("mirror_source")
target = ScratchDb("mirror_target", extension=False, sessions=0)
n = int(source.sql("SELECT count(*) FROM trajc.qa_pairs"))

# Every column, compared as values of their own types (uuid, jsonb, numeric,
# timestamptz), through one text form.
ROWS = """SELECT coalesce(json_agg(json_build_array(id, session_id, agent, turn_count, question,
          answer, supporting_turns, qa_type, source_model, cost_usd, raw_extraction,
          extract(epoch FROM created_at)) ORDER BY id), '[]') FROM %s"""


def mirror(*extra):
    rc, so, se = run_tool(["export", "--to-postgres", "dbname=" + target.name, "--json"] +
                          list(extra), db=source.name)
    return rc, (json.loads(so) if rc == 0 else {}), se


rc, summary, se = mirror()
t.eq((rc, summary.get("pairs_written")), (0, n), "first mirror copies every pair", se)
t.eq(json.loads(psql(ROWS % "qa_pairs", db=target.name)),
     json.loads(psql(ROWS % "trajc.qa_pairs", db=source.name)),
     "the mirror equals trajc.qa_pairs, column by column")
t.eq(psql("SELECT string_agg(version || ':' || name, ',') FROM trajc_schema_migrations",
          db=target.name), "1:001_qa_pairs.sql", "migration 001 recorded in the target")

rc, summary, se = mirror()
t.eq((rc, summary.get("pairs_written"), summary.get("total")), (0, 0, n),
     "a second mirror adds nothing")

source.add_pairs(5)
rc, summary, se = mirror()
t.eq((rc, summary.get("pairs_written"), summary.get("total")), (0, 5, n + 5),
     "new pairs are appended, the rest left alone")

rc, summary, se = mirror("--qa-type", "factoid")
t.eq((rc, summary.get("pairs_written")), (0, 0), "a filtered mirror run adds nothing new")

rc, so, se = run_tool(["export", "--to-postgres", "postgresql://nobody@127.0.0.1:1/x"],
                      db=source.name)
t.ok(rc == 2 and "cannot connect" in se, "unreachable mirror: exit 2", se)
t.eq(int(psql("SELECT count(*) FROM qa_pairs", db=target.name)), n + 5,
     "the mirror is unchanged after a failed run")
