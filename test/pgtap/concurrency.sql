-- concurrency.sql: concurrent batches, incremental runs, cost and rate limits,
-- trajc_estimate. Compiles against the loopback mock (scripts/test-env.sh);
-- rows carrying `mock:slow=MS` make the mock answer after MS milliseconds.
--
-- Two batches run at the same time on two dblink connections (as the
-- superuser). They must see the audit tables, so this file runs outside a
-- transaction: it cleans up before (after a failed run) and after itself.
-- Timing checks are loose (factors of 2, margins of seconds): they tell
-- "ran side by side" from "one waited for the other", nothing finer.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\ir fixtures/common.sql

-- The mock counts `times=` per (session, directive) for its whole life: the
-- 429 session gets a name of its own on every run.
SELECT 'tap-conc-rate-' || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSUS') AS rate_prefix \gset

CALL pg_temp.tap_forget('tap-conc-%');
DROP TABLE IF EXISTS public.tap_conc_base, public.tap_conc_par, public.tap_conc_race,
  public.tap_conc_inc, public.tap_conc_cost, public.tap_conc_rate, public.tap_conc_snap;

SELECT pg_temp.tap_make_log('tap_conc_base', 'tap-conc-base', 4, 4, 'mock:slow=1500');
SELECT pg_temp.tap_make_log('tap_conc_par', 'tap-conc-par', 4, 4, 'mock:slow=1500');
SELECT pg_temp.tap_make_log('tap_conc_inc', 'tap-conc-inc', 3, 4, NULL);
SELECT pg_temp.tap_make_log('tap_conc_cost', 'tap-conc-cost', 4, 4, 'mock:slow=300');
SELECT pg_temp.tap_make_log('tap_conc_rate', :'rate_prefix', 3, 4, NULL);
UPDATE public.tap_conc_rate SET note = 'mock:status=429,retry_after=1,times=1'
 WHERE session_id = :'rate_prefix' || '-1' AND note LIKE 'step 3 %';
-- The race: -fast (5 turns, listed first) answers at once, -slow after 3 s.
CREATE TABLE public.tap_conc_race (id serial PRIMARY KEY, session_id text NOT NULL,
                                   created_at timestamptz NOT NULL, agent text, note text);
INSERT INTO public.tap_conc_race (session_id, created_at, agent, note)
SELECT 'tap-conc-race-' || s, timestamptz '2024-06-02 09:00+00' + t * interval '1 minute', 'agent-r',
       CASE WHEN s = 'slow' AND t = 2 THEN 'mock:slow=3000' ELSE 'step ' || t END
  FROM unnest(ARRAY['fast', 'slow']) s, generate_series(1, 5) t
 WHERE NOT (s = 'slow' AND t = 5);
-- Behind a slow session: listed -slow (6 turns), -mid (5), -late (4).
CREATE TABLE public.tap_conc_snap (id serial PRIMARY KEY, session_id text NOT NULL,
                                   created_at timestamptz NOT NULL, agent text, note text);
INSERT INTO public.tap_conc_snap (session_id, created_at, agent, note)
SELECT 'tap-conc-snap-' || s, timestamptz '2024-06-03 09:00+00' + t * interval '1 minute', 'agent-s',
       CASE WHEN s = 'slow' AND t = 2 THEN 'mock:slow=2500' ELSE 'step ' || t END
  FROM (VALUES ('slow', 6), ('mid', 5), ('late', 4)) v(s, n), generate_series(1, n) t;

-- Starts a batch on a connection: its result rows, each with when its
-- statement started and ended (the batch materializes its result, so
-- clock_timestamp() is taken at its end).
CREATE FUNCTION pg_temp.start_batch(conn text, source text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dblink_exec(conn, format('SET trajc.source = %L; SET trajc.concurrency = 4', source));
  RETURN dblink_send_query(conn,
    'SELECT b.session_id, b.status, b.error, statement_timestamp(), clock_timestamp()'
    '  FROM trajc_compile_batch(3, 0) b') = 1;
END $$;
CREATE TEMP TABLE runs (run text, session_id text, status text, error text,
                        started timestamptz, finished timestamptz);
CREATE FUNCTION pg_temp.collect(conn text, run text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO runs SELECT run, r.* FROM dblink_get_result(conn) AS r(session_id text, status text,
                               error text, started timestamptz, finished timestamptz);
  PERFORM * FROM dblink_get_result(conn) AS r(session_id text, status text, error text,
                                              started timestamptz, finished timestamptz);
END $$;
CREATE FUNCTION pg_temp.seconds(a timestamptz, b timestamptz) RETURNS float8
  LANGUAGE sql IMMUTABLE AS $$ SELECT extract(epoch FROM b - a)::float8 $$;

SELECT plan(64);

SELECT is(pg_temp.tap_connect('tap_conc_1'), 'OK', 'first connection');
SELECT is(pg_temp.tap_connect('tap_conc_2'), 'OK', 'second connection');
SELECT lives_ok($$SELECT dblink_exec('tap_conc_1', 'SET client_min_messages = error')$$, 'quiet 1');
SELECT lives_ok($$SELECT dblink_exec('tap_conc_2', 'SET client_min_messages = error')$$, 'quiet 2');
SELECT pid AS pid1 FROM dblink('tap_conc_1', 'SELECT pg_backend_pid()') AS t(pid int) \gset

-- ---- one run alone: the reference time ------------------------------------------
SELECT pg_temp.start_batch('tap_conc_1', 'public.tap_conc_base') AS sent \gset
SELECT pg_temp.collect('tap_conc_1', 'base');
SELECT is((SELECT count(*) FROM runs WHERE run = 'base' AND status = 'ok'), 4::bigint,
          'a single run compiles its 4 slow sessions');
SELECT cmp_ok((SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'base'),
              '>=', 1.4::float8, '... in at least the mock''s 1.5 s');
SELECT cmp_ok((SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'base'),
              '<', 4.5::float8, '... and in well under 4 x 1.5 s (concurrency 4)');

-- ---- two runs at the same time over the same sessions --------------------------
SELECT pg_temp.start_batch('tap_conc_1', 'public.tap_conc_par') AS sent \gset
SELECT pg_temp.start_batch('tap_conc_2', 'public.tap_conc_par') AS sent \gset
SELECT pg_temp.collect('tap_conc_1', 'A');
SELECT pg_temp.collect('tap_conc_2', 'B');

SELECT is((SELECT count(*) FROM runs WHERE run = 'A'), 4::bigint, 'run A reports all 4 sessions');
SELECT is((SELECT count(*) FROM runs WHERE run = 'B'), 4::bigint, 'run B reports all 4 sessions');
SELECT is_empty($$SELECT session_id FROM trajc.compile_log WHERE session_id LIKE 'tap-conc-par-%'
                   GROUP BY session_id HAVING count(*) FILTER (WHERE status = 'ok') <> 1$$,
                'every session has exactly one ok compile in compile_log');
SELECT is((SELECT count(DISTINCT session_id) FROM trajc.compile_log
            WHERE session_id LIKE 'tap-conc-par-%' AND status = 'ok'), 4::bigint,
          '... all 4 of them');
SELECT is_empty($$SELECT session_id FROM runs WHERE run IN ('A', 'B') GROUP BY session_id
                   HAVING array_agg(status ORDER BY status) <> ARRAY['ok', 'skipped']$$,
                'each session: ok in one run, skipped in the other');
SELECT is((SELECT array_agg(DISTINCT error) FROM runs WHERE run IN ('A', 'B') AND status = 'skipped'),
          ARRAY['being compiled by another run'], 'the skips say the other run has it');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'tap-conc-par-%'), 8::bigint,
          'pairs were stored once per session (2 each)');
SELECT ok((SELECT bool_and(started < (SELECT max(finished) FROM runs WHERE run = 'B'))
             FROM runs WHERE run = 'A')
          AND (SELECT bool_and(started < (SELECT max(finished) FROM runs WHERE run = 'A'))
             FROM runs WHERE run = 'B'),
          'the two runs overlapped in time');
SELECT cmp_ok((SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'A'), '<',
              2 * (SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'base'),
              'run A took under twice the single-run time');
SELECT cmp_ok((SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'B'), '<',
              2 * (SELECT pg_temp.seconds(min(started), max(finished)) FROM runs WHERE run = 'base'),
              'run B took under twice the single-run time');
SELECT is_empty($$SELECT s.session_id FROM trajc.compile_log s JOIN trajc.compile_log o USING (session_id)
                   WHERE s.session_id LIKE 'tap-conc-par-%' AND s.status = 'skipped' AND o.status = 'ok'
                     AND s.finished_at + interval '0.5 s' >= o.finished_at$$,
                'every skip was logged while the other run was still waiting for the model (no waiting on the claim)');

SELECT diag(format('single run %s s; run A %s s (%s ok); run B %s s (%s ok)',
  (SELECT round(pg_temp.seconds(min(started), max(finished))::numeric, 2) FROM runs WHERE run = 'base'),
  (SELECT round(pg_temp.seconds(min(started), max(finished))::numeric, 2) FROM runs WHERE run = 'A'),
  (SELECT count(*) FILTER (WHERE status = 'ok') FROM runs WHERE run = 'A'),
  (SELECT round(pg_temp.seconds(min(started), max(finished))::numeric, 2) FROM runs WHERE run = 'B'),
  (SELECT count(*) FILTER (WHERE status = 'ok') FROM runs WHERE run = 'B')));

-- ---- a claim released before its run commits ------------------------------------
-- Run A finishes -fast and goes on waiting for -slow; run B starts then.
-- A's result for -fast is not committed yet, so B must not compile it again.
SELECT pg_temp.start_batch('tap_conc_1', 'public.tap_conc_race') AS sent \gset
-- Waits (up to 5 s) until run A holds -slow's claim and has let go of -fast's
-- (it stored -fast), or has held both for a second (a run that keeps its
-- claims until it commits); -slow keeps A busy for 3 s either way.
CREATE FUNCTION pg_temp.await_claims(pid int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE both_since timestamptz;
BEGIN
  FOR i IN 1 .. 250 LOOP
    IF pg_temp.tap_claims(pid, 'tap-conc-race-slow') > 0 THEN
      IF pg_temp.tap_claims(pid, 'tap-conc-race-fast') = 0 THEN RETURN true; END IF;
      both_since := coalesce(both_since, clock_timestamp());
      IF clock_timestamp() > both_since + interval '1 s' THEN RETURN true; END IF;
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
  RETURN false;
END $$;
SELECT ok(pg_temp.await_claims(:pid1), 'run A has finished -fast and is still compiling -slow');
SELECT pg_temp.start_batch('tap_conc_2', 'public.tap_conc_race') AS sent \gset
SELECT pg_temp.collect('tap_conc_1', 'raceA');
SELECT pg_temp.collect('tap_conc_2', 'raceB');
SELECT is((SELECT status FROM runs WHERE run = 'raceB' AND session_id = 'tap-conc-race-slow'),
          'skipped', 'run B skips -slow, still held by run A');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'tap-conc-race-fast' AND status = 'ok'),
          1::bigint, 'a session finished by a run that has not committed yet is not compiled again');
SELECT isnt((SELECT status FROM runs WHERE run = 'raceB' AND session_id = 'tap-conc-race-fast'),
            'ok', '... run B skips it');

-- ---- a batch that waits behind a slow session ------------------------------------
-- Run B (concurrency 1) lists -slow, -mid, -late: it starts -slow, loads (and
-- claims) -mid, and waits; -late is loaded only once -slow is back. Meanwhile
-- another run compiles -late and commits. B's statement (or, in REPEATABLE
-- READ, its transaction) took its snapshot before that commit, yet once B
-- holds -late's claim its "compiled before at this hash?" check must see it:
-- every run that compiled the session before has committed by then.
CREATE FUNCTION pg_temp.behind_slow(pid int, isolation text,
                                    OUT other_run text, OUT b_status text, OUT b_error text)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dblink_exec('tap_conc_1', 'SET trajc.source = ''public.tap_conc_snap''; SET trajc.concurrency = 1');
  PERFORM dblink_exec('tap_conc_2', 'SET trajc.source = ''public.tap_conc_snap''');
  PERFORM dblink_exec('tap_conc_1', 'BEGIN ISOLATION LEVEL ' || isolation);
  PERFORM dblink_send_query('tap_conc_1', 'SELECT session_id, status, error FROM trajc_compile_batch(3, 0)');
  IF NOT pg_temp.tap_wait(format('pg_temp.tap_claims(%s, %L) > 0', pid, 'tap-conc-snap-mid')) THEN
    RAISE EXCEPTION 'run B never claimed -mid';
  END IF;
  SELECT t.status INTO other_run FROM dblink('tap_conc_2',
    'SELECT status FROM trajc_compile_session(''tap-conc-snap-late'', NULL, false)') AS t(status text);
  SELECT r.status, r.error INTO b_status, b_error
    FROM dblink_get_result('tap_conc_1') AS r(session_id text, status text, error text)
   WHERE r.session_id = 'tap-conc-snap-late';
  PERFORM * FROM dblink_get_result('tap_conc_1') AS r(session_id text, status text, error text);
  PERFORM dblink_exec('tap_conc_1', 'COMMIT');
END $$;
CREATE FUNCTION pg_temp.late_compiles() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s ok compile(s), %s pairs',
    (SELECT count(*) FROM trajc.compile_log WHERE session_id = 'tap-conc-snap-late' AND status = 'ok'),
    (SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-conc-snap-late'))
$$;
CREATE TEMP TABLE behind AS SELECT 'read committed' AS isolation, * FROM pg_temp.behind_slow(:pid1, 'READ COMMITTED');
SELECT is((SELECT other_run FROM behind), 'ok', 'another run compiled -late while run B waited behind -slow');
SELECT is((SELECT b_status FROM behind), 'skipped',
          'run B (READ COMMITTED) then skips -late: it sees the other run''s committed compile');
SELECT matches((SELECT b_error FROM behind), 'unchanged', '... as unchanged since its last compile');
SELECT is(pg_temp.late_compiles(), '1 ok compile(s), 2 pairs', '-late was compiled once, its pairs stored once');
CALL pg_temp.tap_forget('tap-conc-snap-%');
TRUNCATE behind;
INSERT INTO behind SELECT 'repeatable read', * FROM pg_temp.behind_slow(:pid1, 'REPEATABLE READ');
SELECT is((SELECT other_run FROM behind), 'ok', 'REPEATABLE READ: another run compiled -late meanwhile');
SELECT is((SELECT b_status FROM behind), 'skipped',
          'run B in a REPEATABLE READ transaction skips -late as well (its snapshot cannot see the compile, its check must)');
SELECT matches((SELECT b_error FROM behind), 'unchanged', '... as unchanged since its last compile');
SELECT is(pg_temp.late_compiles(), '1 ok compile(s), 2 pairs', '... -late was compiled once');

-- ---- incremental runs --------------------------------------------------------------
SET trajc.source = 'public.tap_conc_inc';
SET trajc.concurrency = 4;
CREATE TEMP TABLE inc1 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT array_agg(status ORDER BY session_id) FROM inc1), ARRAY['ok', 'ok', 'ok'],
          'first batch compiles the 3 sessions');
CREATE TEMP TABLE inc2 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT array_agg(status ORDER BY session_id) FROM inc2), ARRAY['skipped', 'skipped', 'skipped'],
          'a second batch skips the unchanged sessions');
SELECT ok((SELECT bool_and(error LIKE '%unchanged%') FROM inc2), '... saying they are unchanged');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-conc-inc-%'
             AND status = 'skipped' AND error LIKE '%unchanged%' AND trajectory_hash IS NOT NULL),
          3::bigint, '... and logging the skips with the hash they saw');
CREATE TEMP TABLE inc3 AS SELECT * FROM trajc_compile_batch(3, 0, NULL, true);
SELECT is((SELECT array_agg(status ORDER BY session_id) FROM inc3), ARRAY['ok', 'ok', 'ok'],
          'force => compiled again');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-conc-inc-1'), 4::bigint,
          '... adding pairs (2 per compile)');
CREATE TEMP TABLE old_hash AS
  SELECT DISTINCT trajectory_hash AS h FROM trajc.compile_log WHERE session_id = 'tap-conc-inc-1' AND status = 'ok';
SELECT is((SELECT count(*) FROM old_hash), 1::bigint, 'both compiles of -1 saw the same hash');

INSERT INTO public.tap_conc_inc (session_id, created_at, agent, tool, note)
VALUES ('tap-conc-inc-1', timestamptz '2024-06-02 00:00+00', 'agent-1', 'search', 'a new last turn');
UPDATE public.tap_conc_inc SET note = 'step 3, edited' WHERE session_id = 'tap-conc-inc-2' AND note LIKE 'step 3 %';
CREATE TEMP TABLE inc4 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT array_agg(status ORDER BY session_id) FROM inc4), ARRAY['ok', 'ok', 'skipped'],
          'a session that gained a turn, and one whose turn changed, are compiled again; the other is skipped');
SELECT isnt((SELECT trajectory_hash FROM trajc.compile_log WHERE session_id = 'tap-conc-inc-1' AND status = 'ok'
              ORDER BY id DESC LIMIT 1), (SELECT h FROM old_hash), 'the new compile records a new hash');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-conc-inc-1'
             AND trajectory_hash = (SELECT h FROM old_hash) AND turn_count = 4), 4::bigint,
          'the earlier pairs stay, with their old hash and turn count');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-conc-inc-1'
             AND trajectory_hash <> (SELECT h FROM old_hash) AND turn_count = 5), 2::bigint,
          'the new pairs carry the new hash and 5 turns');
SELECT is_empty($$SELECT p.id FROM trajc.qa_pairs p JOIN trajc.compile_log c ON c.id = p.compile_id
                   WHERE p.session_id LIKE 'tap-conc-%' AND p.trajectory_hash IS DISTINCT FROM c.trajectory_hash$$,
                'every pair has the hash of the compile that produced it');
CREATE TEMP TABLE inc5 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT array_agg(status ORDER BY session_id) FROM inc5), ARRAY['skipped', 'skipped', 'skipped'],
          'then everything is unchanged again');

-- ---- trajc_estimate ------------------------------------------------------------------
SET trajc.source = 'public.tap_conc_cost';
CREATE TEMP TABLE est AS SELECT * FROM trajc_estimate(3, 0);
SELECT is((SELECT sessions FROM est), 4, 'trajc_estimate counts the 4 sessions');
SELECT ok((SELECT tokens_in > 0 AND cost_usd > 0 FROM est), '... with tokens and a cost');
SELECT ok((SELECT cost_usd > tokens_in * 0.30 / 1e6 FROM est),
          '... the cost covers the input at the cheap gemini price plus expected output');
SELECT is((SELECT sessions FROM trajc_estimate(3, 2)), 2, '"limit" is honoured');
SELECT ok((SELECT e2.tokens_in < est.tokens_in FROM trajc_estimate(3, 2) e2, est), '... with fewer tokens');
SELECT is((SELECT (sessions, tokens_in, cost_usd)::text FROM trajc_estimate(50, 0)), '(0,0,0)',
          'no session with enough turns: zeros');
SELECT ok((SELECT s.cost_usd > est.cost_usd AND s.tokens_in = est.tokens_in
             FROM trajc_estimate(3, 0, 'standard') s, est), 'the standard tier costs more for the same tokens');
SET trajc.provider = 'offline';
SELECT is((SELECT cost_usd FROM trajc_estimate(3, 0)), 0::numeric, 'offline costs nothing');
RESET trajc.provider;
SELECT throws_ok($$SELECT * FROM trajc_estimate(3, 0, 'gold')$$, '22023', NULL, 'an unknown tier is an error');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-conc-cost-%'), 0::bigint,
          'estimating compiles nothing and logs nothing');

-- ---- cost limit ----------------------------------------------------------------------
-- Half of one session's estimate: nothing starts.
SELECT set_config('trajc.max_cost_usd', (cost_usd / sessions * 0.5)::text, false) IS NOT NULL AS set
  FROM est \gset
CREATE TEMP TABLE cost0 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT count(*) FROM cost0 WHERE error = 'not started: trajc.max_cost_usd reached'), 4::bigint,
          'a limit below one session''s estimate starts nothing');
-- One estimate and a half: the first request starts; the next ones only when
-- spent (the real cost reported) plus in-flight estimates leave room.
SELECT set_config('trajc.max_cost_usd', (cost_usd / sessions * 1.5)::text, false) IS NOT NULL AS set
  FROM est \gset
CREATE TEMP TABLE cost1 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT cmp_ok((SELECT count(*) FROM cost1 WHERE status = 'ok'), '>=', 1::bigint,
              'under max_cost_usd at least one session is compiled');
SELECT is((SELECT count(*) FROM cost1 WHERE status = 'ok' OR error = 'not started: trajc.max_cost_usd reached'),
          4::bigint, '... the others are skipped as not started');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-conc-cost-%'
             AND status = 'skipped' AND error LIKE '%max_cost_usd%'),
          4 + (SELECT count(*) FROM cost1 WHERE status = 'skipped'), '... and logged so');
SELECT cmp_ok((SELECT sum(cost_usd) FROM cost1), '<=', current_setting('trajc.max_cost_usd')::numeric,
              'spent within the limit');
RESET trajc.max_cost_usd;
CREATE TEMP TABLE cost3 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT is((SELECT count(*) FROM cost3 WHERE status = 'ok') + (SELECT count(*) FROM cost1 WHERE status = 'ok'),
          4::bigint, 'without the limit the rest is compiled, the done ones skipped');
SELECT cmp_ok((SELECT abs(sum(tokens_in) - (SELECT tokens_in FROM est))::bigint FROM trajc.compile_log
                WHERE session_id LIKE 'tap-conc-cost-%' AND status = 'ok'),
              '<=', (SELECT tokens_in / 10 FROM est),
              'the estimate''s input tokens match what the provider reported (within 10%)');

-- ---- rate limit and a 429 with Retry-After -------------------------------------------
SET trajc.source = 'public.tap_conc_rate';
SET trajc.max_requests_per_minute = 60;
CREATE TEMP TABLE rate1 AS SELECT * FROM trajc_compile_batch(3, 0);
RESET trajc.max_requests_per_minute;
SELECT is((SELECT array_agg(status) FROM rate1), ARRAY['ok', 'ok', 'ok'],
          'with max_requests_per_minute and a 429 the batch still ends ok');
SELECT is((SELECT (attempts, http_status)::text FROM trajc.compile_log
            WHERE session_id = :'rate_prefix' || '-1' AND status = 'ok'), '(2,200)',
          'the 429 session took two attempts and ended 200');
SELECT cmp_ok((SELECT pg_temp.seconds(started_at, finished_at) FROM trajc.compile_log
                WHERE session_id = :'rate_prefix' || '-1' AND status = 'ok'), '>=', 0.9::float8,
              '... its retry waited for Retry-After: 1');
SELECT cmp_ok((SELECT pg_temp.seconds(min(started_at), max(started_at)) FROM trajc.compile_log
                WHERE session_id LIKE :'rate_prefix' || '-%' AND status = 'ok'), '>=', 1.5::float8,
              '60 requests a minute: the three sessions started about a second apart');

SELECT * FROM finish();

-- ---- clean up -------------------------------------------------------------------------
SELECT dblink_disconnect('tap_conc_1') = 'OK' AND dblink_disconnect('tap_conc_2') = 'OK' AS closed \gset
CALL pg_temp.tap_forget('tap-conc-%');
DROP TABLE public.tap_conc_base, public.tap_conc_par, public.tap_conc_race,
  public.tap_conc_inc, public.tap_conc_cost, public.tap_conc_rate, public.tap_conc_snap;
