-- session_failures.sql: whatever fails while one session is handled fails
-- that session only (issue 9, item 3). The batch and the procedure log it as
-- a `failed` compile_log row with the reason and go on with the others:
--   - an SPI error while reading its rows (a view column that divides by
--     zero for that session's rows only);
--   - a value that does not convert (a text time column whose value is no
--     timestamp, for one row of one session);
--   - a model reply whose fields have unexpected JSON types (the mock's
--     `mock:wrong_types`): the core must not let its handling of one reply
--     throw out of the batch (the session ends ok or failed, never lost).
-- Only cancel, statement_timeout, shutdown and running out of memory end a
-- run (compile_cancel.sql).
--
-- The procedure commits per session only outside a transaction block and
-- runs on a second connection (dblink), which sees committed tables only:
-- this file runs in autocommit mode and removes what it made, before (after
-- a failed run) and after. Sessions are prefixed sf-.
\set ON_ERROR_STOP 1
SET client_min_messages = error;  -- failed sessions raise WARNINGs in trajc_compile

\o /dev/null
\ir fixtures/common.sql
SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c = 'sf_proc';
DROP VIEW IF EXISTS sf_log, sf_core_log;
DROP TABLE IF EXISTS sf_rows, sf_core_rows;
CALL pg_temp.tap_forget('sf-%');

-- The audit rows; the time column is text, so a value in it can fail to
-- convert. A view over them raises division_by_zero for the rows of a
-- session whose turn 5 says `sf:boom`: an SPI error while that session is
-- read, and only then (listing sessions does not read the column).
CREATE TABLE sf_rows (
  id bigserial PRIMARY KEY, session_id text NOT NULL, created_at text NOT NULL,
  agent text, tool text, success boolean, arguments jsonb, response text);
CREATE VIEW sf_log AS
  SELECT id, session_id, created_at, agent, tool, success, arguments,
         CASE WHEN response LIKE '%sf:boom%' THEN (1 / (id - id))::text ELSE response END AS response
    FROM sf_rows;
CREATE TABLE sf_core_rows (LIKE sf_rows INCLUDING ALL);
CREATE VIEW sf_core_log AS SELECT * FROM sf_core_rows;

CALL pg_temp.tap_add_session('sf_rows', 'sf-good-1', NULL, 4);
CALL pg_temp.tap_add_session('sf_rows', 'sf-boom', 'sf:boom', 3);
CALL pg_temp.tap_add_session('sf_rows', 'sf-badtime', NULL, 2);
CALL pg_temp.tap_add_session('sf_rows', 'sf-good-2', NULL, 0);
-- Turn 5's time keeps its place in text order (so listing still works) but
-- carries a time zone offset no timestamp has.
UPDATE sf_rows SET created_at = left(created_at, 19) || '+99'
 WHERE session_id = 'sf-badtime' AND response LIKE 'AssertionError%';
CALL pg_temp.tap_add_session('sf_core_rows', 'sf-core-good-1', NULL, 2);
CALL pg_temp.tap_add_session('sf_core_rows', 'sf-core-wrongtype', 'mock:wrong_types', 1);
CALL pg_temp.tap_add_session('sf_core_rows', 'sf-core-good-2', NULL, 0);
\o

SELECT plan(27);

SET trajc.provider = 'gemini';
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.max_retries = 0;
SET trajc.concurrency = 2;

CREATE TEMP TABLE batch (session_id text, status text, pairs int, rejected int, cost_usd numeric,
                         error text);
-- Statuses in compile_log of sessions matching a pattern, as (session, status).
CREATE FUNCTION pg_temp.logged(pattern text) RETURNS TABLE(session_id text, status text)
LANGUAGE sql AS $$
  SELECT session_id, status FROM trajc.compile_log WHERE session_id LIKE pattern
$$;

-- ---- the batch: errors at the boundary -------------------------------------------
SET trajc.source = 'sf_log';
SELECT lives_ok($$INSERT INTO batch SELECT * FROM trajc_compile_batch(3, 0)$$,
                'a batch with a session that cannot be read and one whose time does not convert completes');
SELECT set_eq($$SELECT session_id, status, pairs FROM batch$$,
              $$VALUES ('sf-good-1', 'ok', 2), ('sf-boom', 'failed', 0), ('sf-badtime', 'failed', 0),
                       ('sf-good-2', 'ok', 2)$$,
              'batch: the good sessions ok, the two broken ones failed, one row each');
SELECT matches((SELECT error FROM batch WHERE session_id = 'sf-boom'), 'division by zero',
               'batch: the SPI error is the failed session''s error');
SELECT matches((SELECT error FROM batch WHERE session_id = 'sf-badtime'), 'time zone displacement',
               'batch: the conversion error is the failed session''s error');
SELECT set_eq($$SELECT * FROM pg_temp.logged('sf-%')$$,
              $$VALUES ('sf-good-1', 'ok'), ('sf-boom', 'failed'), ('sf-badtime', 'failed'),
                       ('sf-good-2', 'ok')$$,
              'batch: one compile_log row per session, the broken ones failed');
SELECT is((SELECT error FROM pg_temp.tap_last_log('sf-boom')), (SELECT error FROM batch WHERE session_id = 'sf-boom'),
          'batch: the failed row''s error is logged');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'sf-good-%'), 4::bigint,
          'batch: the good sessions'' pairs are stored');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id IN ('sf-boom', 'sf-badtime')), 0::bigint,
          'batch: nothing of the broken ones');

-- A named session that cannot be read: failed, not an error of the call.
CALL pg_temp.tap_forget('sf-%');
SELECT is((SELECT status FROM trajc_compile_session('sf-boom')), 'failed',
          'trajc_compile_session: a session that cannot be read is failed');
SELECT is((SELECT count(*) FROM trajc_compile('sf-badtime')), 0::bigint,
          'trajc_compile: a session whose time does not convert returns no pair');
SELECT is((SELECT status FROM pg_temp.tap_last_log('sf-badtime')), 'failed', '... and is logged failed');
SELECT is((SELECT count(*) FROM trajc_compile_session('sf-good-2')), 1::bigint,
          'the backend goes on compiling after both');

-- ---- the procedure: the same sessions, committing per session --------------------
CALL pg_temp.tap_forget('sf-%');
\o /dev/null
SELECT pg_temp.tap_connect('sf_proc');
SELECT dblink_exec('sf_proc', $$SET client_min_messages = error$$);
SELECT dblink_exec('sf_proc', format('SET %s = %L', name, setting))
  FROM pg_settings WHERE name IN ('trajc.provider', 'trajc.tier', 'trajc.max_retries', 'trajc.concurrency');
SELECT dblink_exec('sf_proc', $$SET trajc.source = 'sf_log'$$);
\o
SELECT lives_ok($$SELECT dblink_exec('sf_proc', 'CALL trajc_compile_pending(3, 0)')$$,
                'CALL trajc_compile_pending over the same sessions completes');
SELECT set_eq($$SELECT * FROM pg_temp.logged('sf-%')$$,
              $$VALUES ('sf-good-1', 'ok'), ('sf-boom', 'failed'), ('sf-badtime', 'failed'),
                       ('sf-good-2', 'ok')$$,
              'CALL: the good sessions ok and committed, the broken ones logged failed');
SELECT matches((SELECT error FROM pg_temp.tap_last_log('sf-boom')), 'division by zero',
               'CALL: with the SPI error');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'sf-good-%'), 4::bigint,
          'CALL: the good sessions'' pairs are stored');
SELECT is((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
              AND pid = (SELECT pid FROM dblink('sf_proc', 'SELECT pg_backend_pid()') AS t(pid int))),
          0::bigint, 'CALL: no claim is left behind');

-- ---- a reply the core cannot handle: fails in the core, per session ---------------
-- The core turns an exception while handling one reply into that session's
-- failure (harden-core, issue 9 item 3); until that is merged a wrong-typed
-- reply still escapes the core's batch runner, and these are TODO.
CALL pg_temp.tap_forget('sf-%');
TRUNCATE batch;
SET trajc.source = 'sf_core_log';
SELECT todo('a wrong-typed reply fails its session in the core: harden-core, issue 9 item 3', 10);
SELECT lives_ok($$INSERT INTO batch SELECT * FROM trajc_compile_batch(3, 0)$$,
                'a batch with a wrong-typed reply among good ones completes');
SELECT set_eq($$SELECT session_id, status, pairs FROM batch WHERE session_id LIKE 'sf-core-good-%'$$,
              $$VALUES ('sf-core-good-1', 'ok', 2), ('sf-core-good-2', 'ok', 2)$$,
              'batch: the good sessions ok');
SELECT ok((SELECT status IN ('ok', 'failed') AND (status = 'ok') = (error IS NULL)
             FROM batch WHERE session_id = 'sf-core-wrongtype'),
          'batch: the wrong-typed one has its row: ok, or failed saying why');
SELECT set_eq($$SELECT session_id FROM pg_temp.logged('sf-core-%')$$,
              $$VALUES ('sf-core-good-1'), ('sf-core-wrongtype'), ('sf-core-good-2')$$,
              'batch: each session logged once');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'sf-core-good-%'), 4::bigint,
          'batch: the good sessions'' pairs are stored');
CALL pg_temp.tap_forget('sf-%');
SELECT lives_ok($$SELECT dblink_exec('sf_proc', 'SET trajc.source = ''sf_core_log''')$$, 'CALL: source set');
SELECT lives_ok($$SELECT dblink_exec('sf_proc', 'CALL trajc_compile_pending(3, 0)')$$,
                'CALL with a wrong-typed reply among good ones completes');
SELECT set_eq($$SELECT session_id FROM pg_temp.logged('sf-core-%')$$,
              $$VALUES ('sf-core-good-1'), ('sf-core-wrongtype'), ('sf-core-good-2')$$,
              'CALL: each session logged once');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'sf-core-good-%'), 4::bigint,
          'CALL: the good sessions'' pairs are stored');
SELECT is((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
              AND pid = (SELECT pid FROM dblink('sf_proc', 'SELECT pg_backend_pid()') AS t(pid int))),
          0::bigint, 'CALL: no claim is left behind');

SELECT * FROM finish();

\o /dev/null
SELECT dblink_disconnect('sf_proc');
CALL pg_temp.tap_forget('sf-%');
DROP VIEW sf_log, sf_core_log;
DROP TABLE sf_rows, sf_core_rows;
\o
