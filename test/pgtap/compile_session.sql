-- compile_session.sql: trajc_compile_session(session_id, tier, force) does
-- trajc_compile's work for one session and returns its status row (the row
-- shape of trajc_compile_batch) instead of its pairs. Compiles against the
-- loopback mock (scripts/test-env.sh); a `mock:` directive in an audit-log
-- row scripts the reply. Everything runs in one transaction, rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
BEGIN;
\ir fixtures/common.sql
SELECT plan(27);

-- Session ids carry a tag unique to this run (the mock counts per session).
CREATE TEMP TABLE cs_run AS SELECT substr(md5(random()::text || clock_timestamp()::text), 1, 10) AS tag;
CREATE FUNCTION pg_temp.sid(name text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'cs-' || name || '-' || tag FROM cs_run
$$;

-- The fixture's ten-turn session (a directive rides in turn 5), and a
-- two-turn one, for which the mock answers {"pairs": []}.
CALL pg_temp.tap_audit_log('cs_audit_log');
CALL pg_temp.tap_add_session('cs_audit_log', pg_temp.sid('ok'));
CALL pg_temp.tap_add_session('cs_audit_log', pg_temp.sid('nonjson'), 'mock:non_json');
CALL pg_temp.tap_add_session('cs_audit_log', pg_temp.sid('invalid'), 'mock:invalid');
INSERT INTO cs_audit_log (session_id, created_at, agent, tool, response)
SELECT pg_temp.sid('short'), timestamptz '2026-06-01 09:00+00' + n * interval '1 minute', 'coder',
       'search', 'step ' || n
  FROM generate_series(1, 2) n;

SET trajc.source = 'cs_audit_log';
SET trajc.provider = 'gemini';
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.max_retries = 0;

-- The session's last compile_log row, in the returned row's shape.
CREATE FUNCTION pg_temp.logged(name text)
RETURNS TABLE(session_id text, status text, pairs int, rejected int, cost_usd numeric, error text)
LANGUAGE sql AS $$
  SELECT session_id, status, pairs_kept, pairs_rejected, cost_usd, error
    FROM pg_temp.tap_last_log(pg_temp.sid(name))
$$;
CREATE FUNCTION pg_temp.stored(name text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM trajc.qa_pairs WHERE session_id = pg_temp.sid(name)
$$;

-- The row shape is trajc_compile_batch's.
SELECT is((SELECT pg_get_function_result('trajc_compile_session(text,text,boolean)'::regprocedure)),
          (SELECT pg_get_function_result('trajc_compile_batch(int,int,text,boolean)'::regprocedure)),
          'returns the row shape of trajc_compile_batch');

-- ok: one row, the pairs stored, the row is what compile_log recorded.
CREATE TEMP TABLE cs_ok AS SELECT * FROM trajc_compile_session(pg_temp.sid('ok'));
SELECT is((SELECT count(*) FROM cs_ok), 1::bigint, 'ok: one row');
SELECT results_eq($$SELECT session_id, status, pairs, rejected, error FROM cs_ok$$,
                  $$VALUES (pg_temp.sid('ok'), 'ok', 2, 0, NULL::text)$$,
                  'ok: status ok with the pairs kept');
SELECT ok((SELECT cost_usd > 0 FROM cs_ok) AND pg_temp.tap_priced_right(pg_temp.sid('ok')),
          'ok: the call''s cost, at the model''s prices');
SELECT is(pg_temp.stored('ok'), 2::bigint, 'ok: the pairs are stored');
SELECT results_eq($$SELECT * FROM cs_ok$$, $$SELECT * FROM pg_temp.logged('ok')$$,
                  'ok: the row is what compile_log recorded');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = pg_temp.sid('ok')), 1::bigint,
          'ok: one compile_log row');

-- Rejections are counted.
SELECT results_eq($$SELECT status, pairs, rejected FROM trajc_compile_session(pg_temp.sid('invalid'))$$,
                  $$VALUES ('ok', 1, 7)$$, 'rejected pairs are counted');

-- empty: a usable reply without pairs.
SELECT results_eq($$SELECT status, pairs, rejected, error FROM trajc_compile_session(pg_temp.sid('short'))$$,
                  $$VALUES ('empty', 0, 0, NULL::text)$$, 'empty: status empty, no pairs');
SELECT is(pg_temp.stored('short'), 0::bigint, 'empty: nothing stored');

-- failed: returned as a row, not raised; paid for; nothing stored.
CREATE TEMP TABLE cs_failed AS SELECT * FROM trajc_compile_session(pg_temp.sid('nonjson'));
SELECT results_eq($$SELECT status, pairs FROM cs_failed$$, $$VALUES ('failed', 0)$$,
                  'failed: status failed');
SELECT matches((SELECT error FROM cs_failed), '(?i)json', 'failed: the error says why');
SELECT ok((SELECT cost_usd > 0 FROM cs_failed) AND pg_temp.tap_priced_right(pg_temp.sid('nonjson')),
          'failed: the call is still paid for');
SELECT is(pg_temp.stored('nonjson'), 0::bigint, 'failed: nothing stored');
SELECT results_eq($$SELECT * FROM cs_failed$$, $$SELECT * FROM pg_temp.logged('nonjson')$$,
                  'failed: the row is what compile_log recorded');

-- skipped: unchanged since its last successful compile, and force => false.
CREATE TEMP TABLE cs_skip AS SELECT * FROM trajc_compile_session(pg_temp.sid('ok'), force => false);
SELECT results_eq($$SELECT session_id, status, pairs, rejected, cost_usd, error FROM cs_skip$$,
                  $$VALUES (pg_temp.sid('ok'), 'skipped', 0, 0, 0::numeric,
                            'unchanged since its last successful compile')$$,
                  'unchanged and force => false: skipped, saying why');
SELECT is(pg_temp.stored('ok'), 2::bigint, 'skipped: no pair added');
SELECT results_eq($$SELECT status, error FROM pg_temp.logged('ok')$$,
                  $$VALUES ('skipped', 'unchanged since its last successful compile')$$,
                  'skipped: logged too');
-- force defaults to true, as for trajc_compile: compiled again.
SELECT is((SELECT status FROM trajc_compile_session(pg_temp.sid('ok'))), 'ok',
          'force defaults to true: compiled again');
SELECT is(pg_temp.stored('ok'), 4::bigint, 'compiled again: its pairs added');
-- A session that gained a turn is compiled even with force => false.
INSERT INTO cs_audit_log (session_id, created_at, agent, tool, response)
VALUES (pg_temp.sid('ok'), timestamptz '2026-03-01 11:00+00', 'reviewer', NULL, 'One more thing.');
SELECT is((SELECT status FROM trajc_compile_session(pg_temp.sid('ok'), 'cheap', false)), 'ok',
          'changed since the last compile: compiled with force => false');

-- An unknown session is an error, as for trajc_compile: no_data_found
-- (ERRCODE_NO_DATA_FOUND is P0002; 02000 is a warning class, not an error).
-- So is a NULL session_id.
SELECT throws_ok($$SELECT * FROM trajc_compile_session('cs-no-such-session')$$, 'P0002',
                 'session "cs-no-such-session" has no turns in the audit log',
                 'unknown session: P0002 no_data_found, as trajc_compile');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'cs-no-such-session'), 0::bigint,
          'unknown session: nothing logged');
SELECT throws_ok($$SELECT * FROM trajc_compile_session(NULL)$$, '22004', NULL,
                 'NULL session_id: 22004');
SELECT throws_ok($$SELECT * FROM trajc_compile_session(pg_temp.sid('ok'), 'deluxe')$$, '22023', NULL,
                 'unknown tier: 22023');

-- Not executable by PUBLIC, like every function that reaches the network.
CREATE ROLE cs_tap_nobody;
SELECT ok(NOT has_function_privilege('cs_tap_nobody', 'trajc_compile_session(text,text,boolean)', 'EXECUTE'),
          'PUBLIC may not execute it');
SET LOCAL ROLE cs_tap_nobody;
SELECT throws_ok($$SELECT * FROM trajc_compile_session('x')$$, '42501', NULL,
                 'a role without the grant gets 42501');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
