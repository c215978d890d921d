#!/usr/bin/env python3
"""How trajc connects and fails: --dsn / DATABASE_URL / PG* precedence, an
unreachable database, a database without the extension or without an audit
log, and usage errors. Each must give exit 2 and say what to do."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ENV, ScratchDb, run_tool  # noqa: E402

t = Tap()
db = ScratchDb("errors", sessions=0)          # extension, no audit log
bare = ScratchDb("errors_bare", extension=False, sessions=0)

# ------------------------------------------------------------ usage
rc, so, se = run_tool(["help"])
t.ok(rc == 0 and all(c in so for c in ["extract", "compile", "stats", "sample", "export"]),
     "help lists every command")
rc, so, se = run_tool(["export", "--help"])
t.ok(rc == 0 and "--to-postgres" in so and "--format" in so, "export --help lists its options")
rc, so, se = run_tool(["frobnicate"])
t.ok(rc == 2 and "unknown command" in se, "unknown command: exit 2", se)
rc, so, se = run_tool(["stats", "--bogus"])
t.ok(rc == 2 and "unknown option --bogus" in se, "unknown option: exit 2", se)
rc, so, se = run_tool(["extract", "--limit", "many"])
t.ok(rc == 2 and "--limit needs an integer" in se, "non-numeric --limit: exit 2", se)
rc, so, se = run_tool(["extract", "--min-turns"])
t.ok(rc == 2 and "needs a value" in se, "option without its value: exit 2", se)

# ------------------------------------------------------------ unreachable
rc, so, se = run_tool(["stats", "-d", "postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=3"])
t.eq(rc, 2, "unreachable database: exit 2")
t.ok("cannot connect to the database" in se and "DATABASE_URL" in se,
     "unreachable database: says so and how to choose one", se)
rc, so, se = run_tool(["stats"], env={"DATABASE_URL": "postgresql:///no_such_db_here"})
t.ok(rc == 2 and "no_such_db_here" in se, "DATABASE_URL is used when there is no --dsn", se)
rc, so, se = run_tool(["stats", "--dsn", "dbname=" + db.name],
                      env={"DATABASE_URL": "postgresql:///no_such_db_here"})
t.eq(rc, 0, "--dsn wins over DATABASE_URL")
rc, so, se = run_tool(["--json", "-d", "dbname=" + db.name, "stats"])
t.eq(rc, 0, "global options may come before the command")
rc, so, se = run_tool(["stats"], db=db.name)
t.eq(rc, 0, "without --dsn or DATABASE_URL, the PG* variables choose the database")

# ------------------------------------------------------------ no extension
for command in (["stats"], ["export", "--out", "-"], ["compile", "--limit", "1"]):
    rc, so, se = run_tool(command, db=bare.name)
    t.ok(rc == 2 and "CREATE EXTENSION trajc;" in se and "not installed" in se,
         "%s without the extension: exit 2, says CREATE EXTENSION trajc;" % command[0], se)

# ------------------------------------------------------------ no audit log
rc, so, se = run_tool(["extract"], db=db.name)
t.eq(rc, 2, "missing audit table: exit 2")
t.ok("audit_log" in se and "trajc.source" in se,
     "missing audit table: names the table and the trajc.source setting", se)
rc, so, se = run_tool(["compile", "--provider", "offline"], db=db.name)
t.ok(rc == 2 and "trajc.source" in se, "compile with a missing audit table: exit 2", se)

# ------------------------------------------------------------ bad values from the server
db.load_audit_log(sessions=3, mean_turns=15)
rc, so, se = run_tool(["extract", "--since", "someday"], db=db.name)
t.ok(rc == 2 and "someday" in se, "a --since the server cannot read: exit 2", se)
rc, so, se = run_tool(["compile", "--provider", "carrier-pigeon"], db=db.name)
t.ok(rc == 2 and "carrier-pigeon" in se, "unknown --provider: exit 2", se)
rc, so, se = run_tool(["compile", "--session", "no-such-session"], db=db.name)
t.ok(rc == 2 and "no-such-session" in se, "unknown --session: exit 2", se)
