"""Dump and restore (issue 9, items 6 and 7): a database that used trajc,
dumped with `pg_dump -Fc` and restored with `pg_restore` into a new one,
must come back whole and go on working:

- the restore itself succeeds, whatever text servers sent (an error body in
  Latin-1 ending in a cut character, one with NUL bytes, a 5 MB error, a pair
  with a NUL character): everything stored was valid, NUL-free and bounded;
- compile_log, qa_pairs and trajc.models come back row for row, edited and
  added prices included (not the install script's seeds);
- the first compile after the restore works (the identity sequence goes on
  after the restored ids, not from 1 into a duplicate key);
- the same in a LATIN1 database, where trajc converts between the core's
  UTF-8 and the database encoding both ways (audit text in, pairs and errors
  out; a character LATIN1 lacks is stored as '?').

It must never touch a database it did not create (all are its own, dropped
at exit).

    prove --exec python3 test/upgrade/dump_restore.py     (inside scripts/test-env.sh)
"""
import atexit
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli", "lib"))
from trajc_tap import ENV, Tap  # noqa: E402

PID = os.getpid()
UTF8_ENV = dict(ENV, PGCLIENTENCODING="UTF8")

# The audit log: a coding agent's tool calls; `note` carries a mock directive
# (test/mock/PROTOCOL.md) or text with characters LATIN1 has (é, ü, ©).
AUDIT_LOG = """
CREATE TABLE public.audit_log (
  id bigserial PRIMARY KEY, session_id text NOT NULL, created_at timestamptz NOT NULL,
  agent text, tool text, arguments jsonb, note text);
CREATE PROCEDURE public.add_session(sid text, note text DEFAULT 'step') LANGUAGE sql AS $$
  INSERT INTO public.audit_log (session_id, created_at, agent, tool, arguments, note)
  SELECT sid, timestamptz '2026-03-01 10:00+00' + t * interval '1 minute', 'coder',
         (ARRAY['search', 'read_file', 'run_tests', 'edit_file'])[1 + t % 4],
         jsonb_build_object('query', 'café crème ' || t, 'path', 'src/über_' || t || '.c'),
         CASE WHEN t = 3 THEN note ELSE 'step ' || t || ' ©' END
    FROM generate_series(1, 8) t
$$;
"""


def run(cmd, check=True, stdin=None):
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, encoding="utf-8",
                       errors="replace", env=UTF8_ENV)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd[:3]), r.stderr.strip()))
    return r


def sql(db, text, check=True):
    """Runs SQL (client encoding UTF8); stdout rows '|'-separated, or the error."""
    r = run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], check=check,
            stdin=text)
    return r.stdout.strip() if r.returncode == 0 else "ERROR: " + r.stderr.strip()


def create_db(name, encoding=None):
    run(["dropdb", "--if-exists", "--force", name])
    args = ["createdb", name]
    if encoding:
        args += ["--encoding", encoding, "--locale", "C", "--template", "template0"]
    run(args)
    atexit.register(lambda: run(["dropdb", "--if-exists", "--force", name], check=False))


# Everything a restore must bring back, as text: compared before and after.
CONTENTS = """
SELECT 'models', md5(string_agg(m::text, ';' ORDER BY provider, tier)) FROM trajc.models m
UNION ALL
SELECT 'compile_log', md5(string_agg(l::text, ';' ORDER BY id)) FROM trajc.compile_log l
UNION ALL
SELECT 'qa_pairs', md5(string_agg(p::text, ';' ORDER BY id)) FROM trajc.qa_pairs p
UNION ALL
SELECT 'counts', (SELECT count(*) FROM trajc.compile_log) || ' log rows, '
                 || (SELECT count(*) FROM trajc.qa_pairs) || ' pairs';
"""


def use_database(t, db, label):
    """Compiles offline and against the mock (hostile replies included) and
    edits trajc.models, as a user would."""
    sql(db, AUDIT_LOG)
    sql(db, """CALL add_session('s-1'); CALL add_session('s-2');
               CALL add_session('s-nasty', 'mock:nasty_error');
               CALL add_session('s-huge', 'mock:huge_error=5000000');
               CALL add_session('s-nul', 'mock:echo_key');
               CALL add_session('s-latin', 'mock:latin_error');""")
    t.eq(sql(db, "SET trajc.provider = 'offline'; "
                 "SELECT string_agg(status, ',' ORDER BY session_id) FROM trajc_compile_batch(3, 0) "
                 "WHERE session_id LIKE 's-_'"),
         "ok,ok", "%s: offline compiles of two sessions" % label)
    got = sql(db, "SET trajc.provider = 'gemini'; SET trajc.max_retries = 0; "
                  "SELECT string_agg(r.session_id || ' ' || r.status, ',' ORDER BY r.session_id) "
                  "FROM unnest(ARRAY['s-nasty', 's-huge', 's-nul', 's-latin']) s, LATERAL trajc_compile_session(s) r")
    t.eq(got, "s-huge failed,s-latin failed,s-nasty failed,s-nul ok",
         "%s: the mock's hostile error replies fail, the reply with a NUL character is stored" % label)
    sql(db, """UPDATE trajc.models SET model = 'gemini-edited', usd_per_mtok_in = 0.42
                WHERE provider = 'gemini' AND tier = 'cheap';
               INSERT INTO trajc.models VALUES ('mistral', 'cheap', 'mistral-small', 0.1, 0.3);""")


def mock_sessions_like(db, prefix):
    """The sessions the mock model server saw in prompts, starting with prefix."""
    url = sql(db, "SHOW trajc.gemini_base_url")
    with urllib.request.urlopen(url + "/_requests", timeout=30) as r:
        seen = json.loads(r.read().decode("utf-8"))
    return [e["session"] for e in seen if e["session"].startswith(prefix)]


def dump_and_restore(t, src, dst, label, encoding=None):
    fd, path = tempfile.mkstemp(suffix=".dump")
    os.close(fd)
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    run(["pg_dump", "-Fc", "-f", path, "-d", src])
    create_db(dst, encoding)
    r = run(["pg_restore", "-d", dst, path], check=False)
    t.ok(r.returncode == 0 and r.stderr.strip() == "", "%s: pg_restore of the dump succeeds" % label,
         r.stderr.strip()[:3000])


def main():
    t = Tap()
    # ---- a UTF8 database
    src, dst = "trajc_dump_src_%d" % PID, "trajc_dump_dst_%d" % PID
    create_db(src)
    sql(src, "CREATE EXTENSION trajc;")
    use_database(t, src, "UTF8")
    before = sql(src, CONTENTS)
    dump_and_restore(t, src, dst, "UTF8")
    after = sql(dst, CONTENTS, check=False)
    for line_before, line_after in zip(before.splitlines(), after.splitlines() + [""] * 4):
        t.eq(line_after, line_before, "UTF8: %s restored as it was" % line_before.split("|")[0])
    t.eq(sql(dst, "SELECT model || ' ' || usd_per_mtok_in FROM trajc.models "
                  "WHERE provider = 'gemini' AND tier = 'cheap'", check=False),
         "gemini-edited 0.42", "UTF8: an edited price survives the restore (not the seed's)")
    t.eq(sql(dst, "SELECT count(*) FROM trajc.models", check=False), "13",
         "UTF8: the seeds and the added row, once each")
    t.ok(sql(dst, "INSERT INTO trajc.models VALUES ('gemini', 'cheap', 'other', 1, 1)", check=False)
         .startswith("ERROR: ERROR:  duplicate key"),
         "UTF8: a row inserted over an edited one is still a duplicate key")
    t.eq(sql(dst, "INSERT INTO trajc.models VALUES ('openai', 'cheap', 'gpt-other', 1, 1); "
                  "SELECT count(*) || ' ' || string_agg(model, ',') FROM trajc.models "
                  "WHERE provider = 'openai' AND tier = 'cheap'", check=False),
         "1 gpt-other", "UTF8: ... one inserted over an unedited seed row replaces it (as a restore does)")
    got = sql(dst, "CALL add_session('s-3'); SET trajc.provider = 'offline'; "
                   "SELECT status FROM trajc_compile_session('s-3')", check=False)
    t.eq(got, "ok", "UTF8: the first compile after the restore works")
    t.eq(sql(dst, "SELECT (SELECT max(id) FROM trajc.compile_log WHERE session_id = 's-3') > "
                  "(SELECT max(id) FROM trajc.compile_log WHERE session_id <> 's-3')", check=False),
         "t", "UTF8: ... its compile_log id follows the restored ones")
    got = sql(dst, "SET trajc.provider = 'gemini'; "
                   "SELECT status FROM trajc_compile_session('s-3'); "
                   "SELECT model FROM trajc.compile_log ORDER BY id DESC LIMIT 1", check=False)
    t.eq(got, "ok\ngemini-edited", "UTF8: a compile after the restore uses the edited model")

    # ---- a LATIN1 database: text converted both ways, and restored
    src, dst = "trajc_dump_latin1_%d" % PID, "trajc_dump_latin1_dst_%d" % PID
    create_db(src, "LATIN1")
    sql(src, "CREATE EXTENSION trajc;")
    use_database(t, src, "LATIN1")
    t.ok("café crème 1" in sql(src, "SELECT content FROM trajc_turns('s-1') LIMIT 1"),
         "LATIN1: trajc_turns shows the audit log's é as é")
    t.eq(sql(src, "SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 's-1' "
                  "AND (question || answer) ~ '[éü©]'"),
         sql(src, "SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 's-1' "
                  "AND (question || answer) ~ '(caf|ber_|step [0-9] .)'"),
         "LATIN1: pairs quoting the log's é, ü, © keep them")
    t.eq(sql(src, "CALL add_session('s-café'); SET trajc.provider = 'gemini'; "
                  "SELECT status FROM trajc_compile_session('s-café')", check=False),
         "ok", "LATIN1: a session whose id and text have é compiles against the model")
    t.eq(mock_sessions_like(src, "s-caf")[-1:], ["s-café"],
         "LATIN1: ... and the model got them as UTF-8 (the mock read 's-café' in the prompt)")
    t.ok(sql(src, "SELECT error FROM trajc.compile_log WHERE session_id = 's-nasty'").endswith("caf?"),
         "LATIN1: a character LATIN1 lacks (U+FFFD for a cut one) is stored as '?'")
    before = sql(src, CONTENTS)
    dump_and_restore(t, src, dst, "LATIN1", "LATIN1")
    t.eq(sql(dst, CONTENTS, check=False), before, "LATIN1: every row restored as it was")
    got = sql(dst, "CALL add_session('s-3'); SET trajc.provider = 'offline'; "
                   "SELECT status FROM trajc_compile_session('s-3')", check=False)
    t.eq(got, "ok", "LATIN1: the first compile after the restore works")


if __name__ == "__main__":
    main()
