-- Provider batch mode, committing: CALL trajc_batch_submit / collect outside
-- a transaction block commit as they go, so a collect interrupted half-way
-- (here: cancelled from a trigger while it stores the third of four
-- sessions) keeps the sessions it stored, leaves the rest open, holds no
-- lock, and the next collect stores the rest, each session exactly once.
--
-- The CALLs run on a second connection (dblink), where they are top-level
-- and so may commit; this file runs in autocommit mode and removes what it
-- made at the end (and at the start, should an earlier run have stopped
-- half-way). Sessions are prefixed bx-.
\set ON_ERROR_STOP 1
SET client_min_messages = error;

\o /dev/null
\ir fixtures/common.sql
SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c = 'bx_run';
DROP TRIGGER IF EXISTS bx_crash ON trajc.qa_pairs;
DROP FUNCTION IF EXISTS bx_crash;
DELETE FROM trajc.batches WHERE id IN (SELECT batch_id FROM trajc.batch_requests WHERE session_id LIKE 'bx-%');
DROP TABLE IF EXISTS bx_audit_log;
CALL pg_temp.tap_forget('bx-%');

-- Four sessions, listed (and so sent, and stored) in this order.
CALL pg_temp.tap_audit_log('bx_audit_log');
CALL pg_temp.tap_add_session('bx_audit_log', 'bx-1', NULL, 3);
CALL pg_temp.tap_add_session('bx_audit_log', 'bx-2', NULL, 2);
CALL pg_temp.tap_add_session('bx_audit_log', 'bx-3', NULL, 1);
CALL pg_temp.tap_add_session('bx_audit_log', 'bx-4');

-- The crash: storing bx-3's pairs cancels the storing backend itself.
CREATE FUNCTION bx_crash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_cancel_backend(pg_backend_pid());
  PERFORM pg_sleep(1);  -- the cancel arrives here
  RETURN NEW;
END
$$;
\o

SELECT plan(14);

SELECT pg_temp.tap_connect('bx_run') AS connected \gset
SELECT dblink_exec('bx_run', $$SET trajc.source = 'bx_audit_log'$$);
SELECT dblink_exec('bx_run', $$SET trajc.provider = 'gemini'$$);
SELECT dblink_exec('bx_run', $$SET trajc.max_retries = 0$$);
SELECT dblink_exec('bx_run', $$SET client_min_messages = warning$$);
CREATE TEMP TABLE bx_backend AS SELECT * FROM dblink('bx_run', 'SELECT pg_backend_pid()') AS t(pid int);

SELECT lives_ok($$SELECT dblink_exec('bx_run', 'CALL trajc_batch_submit(3)')$$, 'CALL trajc_batch_submit on a second connection');
SELECT results_eq($$SELECT b.status, b.requests FROM trajc.batches b
                     WHERE b.id IN (SELECT batch_id FROM trajc.batch_requests WHERE session_id LIKE 'bx-%')$$,
                  $$VALUES ('pending', 4)$$, 'the job and its requests are committed');
SELECT is((SELECT count(*) FROM pg_locks l JOIN bx_backend b ON l.pid = b.pid WHERE l.locktype = 'advisory'),
          0::bigint, 'the submitter holds no claim or job lock once it returns');
SELECT lives_ok($$SELECT dblink_exec('bx_run', 'CALL trajc_batch_collect()')$$, 'the first collect finds it running');

CREATE TRIGGER bx_crash AFTER INSERT ON trajc.qa_pairs FOR EACH ROW
  WHEN (NEW.session_id = 'bx-3') EXECUTE FUNCTION bx_crash();
SELECT is((SELECT state FROM pg_temp.tap_run($$SELECT dblink_exec('bx_run', 'CALL trajc_batch_collect()')$$)),
          '57014', 'the second collect is cancelled while it stores bx-3');
SELECT results_eq($$SELECT session_id, status FROM trajc.compile_log
                     WHERE session_id LIKE 'bx-%' AND status <> 'skipped' ORDER BY 1$$,
                  $$VALUES ('bx-1', 'ok'), ('bx-2', 'ok')$$,
                  'the sessions stored before the cancel are kept (one commit each)');
SELECT results_eq($$SELECT session_id, status FROM trajc.batch_requests WHERE session_id LIKE 'bx-%' ORDER BY 1$$,
                  $$VALUES ('bx-1', 'ok'), ('bx-2', 'ok'), ('bx-3', 'open'), ('bx-4', 'open')$$,
                  'the others stay open in their job');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'bx-3'), 0::bigint,
          'nothing of the interrupted session is stored');
SELECT ok((SELECT collected_at IS NULL FROM trajc.batches
            WHERE id IN (SELECT batch_id FROM trajc.batch_requests WHERE session_id = 'bx-3')),
          'the job stays open');
SELECT is((SELECT count(*) FROM pg_locks l JOIN bx_backend b ON l.pid = b.pid WHERE l.locktype = 'advisory'),
          0::bigint, 'the cancelled collect left no job lock behind');
DROP TRIGGER bx_crash ON trajc.qa_pairs;

SELECT lives_ok($$SELECT dblink_exec('bx_run', 'CALL trajc_batch_collect()')$$,
                'collect again on the same backend');
SELECT results_eq($$SELECT session_id, count(*) FROM trajc.compile_log
                     WHERE session_id LIKE 'bx-%' AND status = 'ok' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('bx-1', 1::bigint), ('bx-2', 1::bigint), ('bx-3', 1::bigint), ('bx-4', 1::bigint)$$,
                  'every session is stored exactly once');
SELECT ok((SELECT collected_at IS NOT NULL FROM trajc.batches
            WHERE id IN (SELECT batch_id FROM trajc.batch_requests WHERE session_id = 'bx-3')),
          'the job is collected');
SELECT lives_ok($$SELECT dblink_exec('bx_run', 'CALL trajc_batch_collect()')$$,
                'a collect with nothing open is a no-op');

SELECT * FROM finish();

\o /dev/null
SELECT dblink_disconnect('bx_run');
DELETE FROM trajc.batches WHERE id IN (SELECT batch_id FROM trajc.batch_requests WHERE session_id LIKE 'bx-%');
CALL pg_temp.tap_forget('bx-%');
DROP TABLE bx_audit_log;
DROP FUNCTION bx_crash;
\o
