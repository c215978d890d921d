-- Cancel: statement_timeout and pg_cancel_backend() stop an in-flight model
-- request (the mock's `mock:hang` never answers) within about a second with
-- SQLSTATE 57014; the backend stays alive, nothing of the interrupted session
-- remains, and its session claim (a session-level advisory lock) is released.
-- The procedure form keeps every session that finished before the cancel, and
-- running it again continues with the rest.
--
-- Second connections (dblink) only see committed tables, and CALL commits per
-- session only outside a transaction block, so this file runs in autocommit
-- mode: it removes what it made at the end (and at the start, should an
-- earlier run have stopped half-way). Sessions are prefixed cc-.
\set ON_ERROR_STOP 1
SET client_min_messages = error;  -- failed single compiles raise WARNINGs

\o /dev/null
\ir fixtures/common.sql
SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c IN ('cc_run', 'cc_proc', 'cc_race');
DROP TRIGGER IF EXISTS cc_retention ON trajc.compile_log;
DROP TABLE IF EXISTS cc_audit_log, cc_pending_log, cc_race_log, cc_times;
DROP FUNCTION IF EXISTS cc_retention;
CALL pg_temp.tap_forget('cc-%');

CALL pg_temp.tap_audit_log('cc_audit_log');
CREATE TABLE cc_pending_log (LIKE cc_audit_log INCLUDING ALL);

CALL pg_temp.tap_add_session('cc_audit_log', 'cc-hang-timeout', 'mock:hang');
CALL pg_temp.tap_add_session('cc_audit_log', 'cc-hang-cancel', 'mock:hang');
CALL pg_temp.tap_add_session('cc_audit_log', 'cc-retry-wait', 'mock:status=429,retry_after=30');
CALL pg_temp.tap_add_session('cc_audit_log', 'cc-fast');
CALL pg_temp.tap_add_session('cc_pending_log', 'cc-p-hang', 'mock:hang', 3);  -- the longest: listed first
CALL pg_temp.tap_add_session('cc_pending_log', 'cc-p-fast1', NULL, 2);
CALL pg_temp.tap_add_session('cc_pending_log', 'cc-p-fast2', NULL, 1);
CALL pg_temp.tap_add_session('cc_pending_log', 'cc-p-fast3');
\o

SELECT plan(45);

CREATE TABLE cc_times (what text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());

SET trajc.provider = 'gemini';
SET trajc.max_retries = 0;
SET trajc.timeout_ms = 120000;

-- ---------------------------------------------------------------------------
-- statement_timeout
SET trajc.source = 'cc_audit_log';
SET statement_timeout = '1s';
CREATE TEMP TABLE timeout_run AS SELECT * FROM pg_temp.tap_run($$SELECT * FROM trajc_compile('cc-hang-timeout')$$);
RESET statement_timeout;

SELECT is((SELECT state FROM timeout_run), '57014', 'statement_timeout stops a hung request with 57014');
SELECT cmp_ok((SELECT elapsed FROM timeout_run), '<', interval '3 s',
              'statement_timeout = 1s: the statement ends well within 3 s');
SELECT diag('statement_timeout = 1s: the compile ended after ' || (SELECT elapsed FROM timeout_run));
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'cc-hang-timeout'), 0::bigint,
          'statement_timeout: no pair of the interrupted session');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'cc-hang-timeout'), 0::bigint,
          'statement_timeout: no compile_log row of the interrupted session');
SELECT is(pg_temp.tap_claims(pg_backend_pid()), 0::bigint, 'statement_timeout: the session claim is released');
SET trajc.timeout_ms = 300;
SELECT is((SELECT count(*) FROM trajc_compile('cc-hang-timeout')), 0::bigint,
          'the backend compiles again after the timeout (trajc.timeout_ms ends the hang this time)');
SELECT results_eq($$SELECT status FROM trajc.compile_log WHERE session_id = 'cc-hang-timeout'$$,
                  $$VALUES ('failed')$$, 'that compile is logged as failed');
SET trajc.timeout_ms = 120000;
DELETE FROM trajc.compile_log WHERE session_id LIKE 'cc-hang-%';

-- While waiting to retry (a 429 asking for 30 s), not only while a request
-- is in flight.
SET trajc.max_retries = 1;
SET statement_timeout = '1s';
CREATE TEMP TABLE retry_wait_run AS SELECT * FROM pg_temp.tap_run($$SELECT * FROM trajc_compile('cc-retry-wait')$$);
RESET statement_timeout;
SET trajc.max_retries = 0;
SELECT is((SELECT state FROM retry_wait_run), '57014', 'statement_timeout stops a compile waiting to retry a 429');
SELECT cmp_ok((SELECT elapsed FROM retry_wait_run), '<', interval '3 s',
              'statement_timeout = 1s during Retry-After: 30 ends well within 3 s');
SELECT is(pg_temp.tap_claims(pg_backend_pid()), 0::bigint, 'the claim is released');

-- A batch: the fast session finishes, three wait (two hang, one backs off);
-- the timeout ends the statement, and the batch's transaction with it.
SET trajc.concurrency = 4;
SET statement_timeout = '1s';
CREATE TEMP TABLE batch_run AS SELECT * FROM pg_temp.tap_run($$SELECT * FROM trajc_compile_batch(3, 0)$$);
RESET statement_timeout;
SELECT is((SELECT state FROM batch_run), '57014', 'statement_timeout stops a batch with 57014');
SELECT cmp_ok((SELECT elapsed FROM batch_run), '<', interval '3 s', 'the batch ends well within 3 s');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'cc-%'), 0::bigint,
          'no pair of the interrupted batch remains (it ran in one transaction)');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'cc-%'), 0::bigint,
          'no compile_log row of the interrupted batch remains');
SELECT is(pg_temp.tap_claims(pg_backend_pid()), 0::bigint, 'every session claim of the batch is released');

-- ---------------------------------------------------------------------------
-- pg_cancel_backend() from another session, while a second connection waits
-- on the mock.
\o /dev/null
SELECT pg_temp.tap_connect('cc_run');
SELECT dblink_exec('cc_run', $$SET trajc.source = 'cc_audit_log'$$);
SELECT dblink_exec('cc_run', $$SET trajc.max_retries = 0$$);
\o
CREATE TEMP TABLE cc_run AS SELECT * FROM dblink('cc_run', 'SELECT pg_backend_pid()') AS t(pid int);

SELECT is(dblink_send_query('cc_run', $$SELECT count(*) FROM trajc_compile('cc-hang-cancel')$$), 1,
          'a compile of a hanging session is sent on a second connection');
SELECT ok(pg_temp.tap_wait(format('pg_temp.tap_claims(%s) = 1', (SELECT pid FROM cc_run))),
          'it claims the session (holds its advisory lock) while it runs');
\o /dev/null
SELECT pg_sleep(0.3);  -- the request is in flight now
\o
SELECT is(dblink_is_busy('cc_run'), 1, 'it is still waiting for the model');

-- Another run meanwhile skips the claimed session at once instead of waiting.
SELECT is((SELECT count(*) FROM pg_temp.tap_run($$SELECT * FROM trajc_compile('cc-hang-cancel')$$)
            WHERE state = '00000' AND elapsed < interval '2 s'), 1::bigint,
          'a second compile of the claimed session returns at once');
SELECT results_eq($$SELECT status, error FROM trajc.compile_log WHERE session_id = 'cc-hang-cancel'$$,
                  $$VALUES ('skipped', 'being compiled by another run')$$,
                  'it is logged as skipped: being compiled by another run');
DELETE FROM trajc.compile_log WHERE session_id = 'cc-hang-cancel';

-- (throws_ok cannot catch 57014: plpgsql's OTHERS leaves query_canceled out)
INSERT INTO cc_times (what) VALUES ('cancel sent');
SELECT ok(pg_cancel_backend(pid), 'pg_cancel_backend() on the compiling backend') FROM cc_run;
CREATE TEMP TABLE cancel_run AS SELECT * FROM pg_temp.tap_run($$SELECT * FROM dblink_get_result('cc_run') AS t(n bigint)$$);
INSERT INTO cc_times (what) VALUES ('cancel seen');
SELECT is((SELECT state FROM cancel_run), '57014', 'the cancelled compile fails with 57014');
SELECT cmp_ok((SELECT b.at - a.at FROM cc_times a, cc_times b WHERE a.what = 'cancel sent' AND b.what = 'cancel seen'),
              '<', interval '3 s', 'the cancel takes effect well within 3 s');
SELECT diag('pg_cancel_backend: the compile ended ' ||
            (SELECT b.at - a.at FROM cc_times a, cc_times b WHERE a.what = 'cancel sent' AND b.what = 'cancel seen') ||
            ' after the cancel');
SELECT is_empty($$SELECT * FROM dblink_get_result('cc_run') AS t(n bigint)$$, 'no further result is pending');
SELECT results_eq($$SELECT * FROM dblink('cc_run', 'SELECT pg_backend_pid(), 1') AS t(pid int, one int)$$,
                  $$SELECT pid, 1 FROM cc_run$$, 'the cancelled backend is alive and answers');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'cc-hang-cancel'), 0::bigint,
          'no pair of the cancelled session');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'cc-hang-cancel'), 0::bigint,
          'no compile_log row of the cancelled session');
SELECT is(pg_temp.tap_claims(pid), 0::bigint, 'the cancelled backend released its session claim') FROM cc_run;
\o /dev/null
SELECT dblink_exec('cc_run', $$SET trajc.timeout_ms = 200$$);
\o
SELECT results_eq($$SELECT * FROM dblink('cc_run', 'SELECT count(*) FROM trajc_compile(''cc-hang-cancel'')')
                     AS t(n bigint)$$, $$VALUES (0::bigint)$$,
                  'the cancelled backend runs the next compile (a timeout this time)');
SELECT results_eq($$SELECT status FROM trajc.compile_log WHERE session_id = 'cc-hang-cancel'$$,
                  $$VALUES ('failed')$$, 'and logs it');
\o /dev/null
SELECT dblink_disconnect('cc_run');
\o

-- ---------------------------------------------------------------------------
-- CALL trajc_compile_pending(): one session hangs, three are fast; with
-- concurrency 4 the fast ones finish and commit while the hung one waits.
\o /dev/null
SELECT pg_temp.tap_connect('cc_proc');
SELECT dblink_exec('cc_proc', $$SET trajc.source = 'cc_pending_log'$$);
SELECT dblink_exec('cc_proc', $$SET trajc.concurrency = 4$$);
SELECT dblink_exec('cc_proc', $$SET trajc.max_retries = 0$$);
SELECT dblink_exec('cc_proc', $$SET client_min_messages = warning$$);
\o
CREATE TEMP TABLE cc_proc AS SELECT * FROM dblink('cc_proc', 'SELECT pg_backend_pid()') AS t(pid int);

SELECT is(dblink_send_query('cc_proc', 'CALL trajc_compile_pending(3, 0)'), 1,
          'CALL trajc_compile_pending is sent on a second connection');
SELECT ok(pg_temp.tap_wait($$(SELECT count(*) = 3 FROM trajc.compile_log
                      WHERE session_id LIKE 'cc-p-fast%' AND status = 'ok')$$),
          'the three fast sessions finish and commit while the hung one waits');
\o /dev/null
SELECT pg_sleep(0.2);
\o
SELECT is(dblink_is_busy('cc_proc'), 1, 'the procedure is still waiting for the hung session');

INSERT INTO cc_times (what) VALUES ('procedure cancel sent');
SELECT ok(pg_cancel_backend(pid), 'pg_cancel_backend() on the procedure''s backend') FROM cc_proc;
CREATE TEMP TABLE proc_cancel_run AS
  SELECT * FROM pg_temp.tap_run($$SELECT * FROM dblink_get_result('cc_proc') AS t(status text)$$);
INSERT INTO cc_times (what) VALUES ('procedure cancel seen');
SELECT is((SELECT state FROM proc_cancel_run), '57014', 'the cancelled CALL fails with 57014');
SELECT cmp_ok((SELECT b.at - a.at FROM cc_times a, cc_times b
                WHERE a.what = 'procedure cancel sent' AND b.what = 'procedure cancel seen'),
              '<', interval '3 s', 'the procedure''s cancel takes effect well within 3 s');
SELECT is_empty($$SELECT * FROM dblink_get_result('cc_proc') AS t(status text)$$, 'no further result is pending');

SELECT results_eq(
  $$SELECT session_id, count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'cc-p-%' GROUP BY 1 ORDER BY 1$$,
  $$VALUES ('cc-p-fast1', 2::bigint), ('cc-p-fast2', 2::bigint), ('cc-p-fast3', 2::bigint)$$,
  'the sessions finished before the cancel keep their pairs; the hung one has none');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'cc-p-hang'), 0::bigint,
          'no compile_log row of the hung session');
SELECT is(pg_temp.tap_claims(pid), 0::bigint, 'the procedure''s backend released every session claim') FROM cc_proc;

-- Running it again continues with the session not yet compiled (no longer
-- hanging) and skips the unchanged ones.
UPDATE cc_pending_log SET response = replace(response, ' mock:hang', '') WHERE session_id = 'cc-p-hang';
CREATE TEMP TABLE before_rerun AS SELECT coalesce(max(id), 0) AS last_id FROM trajc.compile_log;
SELECT lives_ok($$SELECT dblink_exec('cc_proc', 'CALL trajc_compile_pending(3, 0)')$$,
                'CALL trajc_compile_pending again on the same backend');
SELECT set_eq(
  $$SELECT session_id, status, pairs_kept FROM trajc.compile_log
     WHERE id > (SELECT last_id FROM before_rerun) AND session_id LIKE 'cc-p-%'$$,
  $$VALUES ('cc-p-hang', 'ok', 2), ('cc-p-fast1', 'skipped', 0), ('cc-p-fast2', 'skipped', 0),
           ('cc-p-fast3', 'skipped', 0)$$,
  're-run: the interrupted session is compiled, the finished ones skipped');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'cc-p-%'), 8::bigint,
          're-run: every session has its pairs once');
\o /dev/null
SELECT dblink_disconnect('cc_proc');
\o

-- ---------------------------------------------------------------------------
-- The procedure takes a new snapshot after each commit, so a session it
-- listed may be gone when its turn comes (audit-log retention running
-- meanwhile; here a trigger deletes cc-r-c when cc-r-a is logged). That
-- session must not abort the run: the others are compiled.
-- Concurrency 1: cc-r-b is loaded while cc-r-a runs, cc-r-c after a commit.
\o /dev/null
CREATE TABLE cc_race_log (LIKE cc_audit_log INCLUDING ALL);
CALL pg_temp.tap_add_session('cc_race_log', 'cc-r-a', NULL, 2);
CALL pg_temp.tap_add_session('cc_race_log', 'cc-r-b', NULL, 1);
CALL pg_temp.tap_add_session('cc_race_log', 'cc-r-c');
CALL pg_temp.tap_add_session('cc_race_log', 'cc-r-d');
CREATE FUNCTION cc_retention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cc_race_log WHERE session_id = 'cc-r-c';
  RETURN NULL;
END
$$;
CREATE TRIGGER cc_retention AFTER INSERT ON trajc.compile_log FOR EACH ROW
  WHEN (NEW.session_id = 'cc-r-a') EXECUTE FUNCTION cc_retention();
SELECT pg_temp.tap_connect('cc_race');
SELECT dblink_exec('cc_race', $$SET trajc.source = 'cc_race_log'$$);
SELECT dblink_exec('cc_race', $$SET trajc.concurrency = 1$$);
SELECT dblink_exec('cc_race', $$SET trajc.max_retries = 0$$);
SELECT dblink_exec('cc_race', $$SET client_min_messages = warning$$);
\o
SELECT lives_ok($$SELECT dblink_exec('cc_race', 'CALL trajc_compile_pending(3, 0)')$$,
                'CALL: a listed session deleted before its turn does not abort the run');
SELECT results_eq(
  $$SELECT session_id FROM trajc.compile_log WHERE session_id LIKE 'cc-r-%' AND status = 'ok' ORDER BY 1$$,
  $$VALUES ('cc-r-a'), ('cc-r-b'), ('cc-r-d')$$,
  'CALL: the sessions before and after the deleted one are compiled');
\o /dev/null
DROP TRIGGER cc_retention ON trajc.compile_log;
SELECT dblink_disconnect('cc_race');
\o

SELECT * FROM finish();

-- Clean up.
CALL pg_temp.tap_forget('cc-%');
DROP TABLE cc_audit_log, cc_pending_log, cc_race_log, cc_times;
DROP FUNCTION cc_retention;
