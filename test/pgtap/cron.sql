-- cron.sql: pg_cron runs CALL trajc_compile_pending(...) on a schedule.
--
-- pg_cron lives in the database named by cron.database_name ('trajc' in the
-- test cluster, scripts/pgcluster.sh); jobs run in other databases through
-- cron.schedule_in_database(). This file talks to 'trajc' over dblink and
-- schedules a job that compiles in this database (trajc_tap).
--
-- The job runs as a role of its own, whose settings are given with
-- ALTER ROLE ... IN DATABASE (offline provider, this file's audit table): the
-- job is configured the way a deployment would configure it, and no other
-- session of this database sees the settings.
--
-- pg_cron schedules by the minute: the job's first run comes at the next
-- minute boundary (or the one after, if it was created right at one), so the
-- file waits for that event, polling once a second for up to 130 s.
--
-- Runs outside a transaction (the job's backend must see the table and the
-- role): cleans up before (after a failed run) and after itself, and removes
-- the job right after the wait, before any assertion.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\ir fixtures/common.sql

SELECT pg_temp.tap_connect('tap_cron', 'trajc') = 'OK' AS connected \gset
SELECT dblink_exec('tap_cron', 'SET client_min_messages = error; CREATE EXTENSION IF NOT EXISTS pg_cron')
  = 'CREATE EXTENSION' AS created \gset

-- Leftovers of an earlier, failed run.
SELECT count(*) >= 0 AS unscheduled FROM dblink('tap_cron',
  $$SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'trajc-test'$$) AS t(ok boolean) \gset
CALL pg_temp.tap_drop_role('trajc_tap_cron_user');
DROP TABLE IF EXISTS public.tap_cron_log;
CALL pg_temp.tap_forget('tap-cron-%');

-- Three sessions of 6 tool calls (the offline compiler finds pairs in them)
-- and one of 2 turns, under the job's min_turns.
CREATE TABLE public.tap_cron_log (
  id         serial PRIMARY KEY,
  session_id text NOT NULL,
  created_at timestamptz NOT NULL,
  agent      text,
  tool       text,
  args       jsonb,
  success    boolean
);
INSERT INTO public.tap_cron_log (session_id, created_at, agent, tool, args, success)
SELECT 'tap-cron-' || s, timestamptz '2024-07-01 08:00+00' + (s * 100 + t) * interval '1 minute',
       'agent-' || s, (ARRAY['search', 'read_file', 'search', 'write_file', 'search', 'run_sql'])[t],
       jsonb_build_object('q', 'query ' || s || '.' || t), t <> 3
  FROM generate_series(1, 3) s, generate_series(1, 6) t;
INSERT INTO public.tap_cron_log (session_id, created_at, agent, tool, args, success)
SELECT 'tap-cron-short', timestamptz '2024-07-02 08:00+00' + t * interval '1 minute', 'agent-x',
       'search', '{}', true
  FROM generate_series(1, 2) t;

CREATE ROLE trajc_tap_cron_user LOGIN;
CALL pg_temp.tap_grant_compile('trajc_tap_cron_user');
GRANT SELECT ON public.tap_cron_log TO trajc_tap_cron_user;
GRANT EXECUTE ON PROCEDURE trajc_compile_pending(int, int, text) TO trajc_tap_cron_user;
ALTER ROLE trajc_tap_cron_user IN DATABASE trajc_tap SET trajc.provider = 'offline';
ALTER ROLE trajc_tap_cron_user IN DATABASE trajc_tap SET trajc.source = 'public.tap_cron_log';

SELECT plan(17);

SELECT ok((SELECT v FROM dblink('tap_cron', $$SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'$$)
             AS t(v text)) IS NOT NULL, 'pg_cron is installed in the database trajc');
SELECT is((SELECT v FROM dblink('tap_cron', 'SHOW cron.database_name') AS t(v text)), 'trajc',
          'cron.database_name is trajc');

-- Schedule, wait, unschedule: nothing in between can raise.
CREATE TEMP TABLE job AS
  SELECT jobid FROM dblink('tap_cron', format(
    'SELECT cron.schedule_in_database(%L, %L, %L, %L, %L, true)',
    'trajc-test', '* * * * *', 'CALL trajc_compile_pending(3, 10)', current_database(),
    'trajc_tap_cron_user')) AS t(jobid bigint);
SELECT ok((SELECT jobid FROM job) IS NOT NULL, 'the job is scheduled');

-- Waits for the job's first finished run; returns it (NULL after 130 s).
CREATE FUNCTION pg_temp.await_run(job bigint)
RETURNS TABLE(status text, return_message text, username text, database text, command text,
              start_time timestamptz, end_time timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. 130 LOOP
    BEGIN
      RETURN QUERY SELECT * FROM dblink('tap_cron', format(
        $q$SELECT status, return_message, username::text, database::text, command, start_time, end_time
             FROM cron.job_run_details WHERE jobid = %s AND status IN ('succeeded', 'failed')
            ORDER BY runid LIMIT 1$q$, job))
        AS t(status text, return_message text, username text, database text, command text,
             start_time timestamptz, end_time timestamptz);
      IF FOUND THEN RETURN; END IF;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'polling cron.job_run_details: %', SQLERRM;
    END;
    PERFORM pg_sleep(1);
  END LOOP;
END $$;
CREATE TEMP TABLE run AS SELECT * FROM pg_temp.await_run((SELECT jobid FROM job));

-- Unschedule at once, then wait (up to 30 s) until no run of the job is in progress.
CREATE FUNCTION pg_temp.unschedule(job bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE done boolean;
BEGIN
  SELECT ok INTO done FROM dblink('tap_cron', format('SELECT cron.unschedule(%s)', job)) AS t(ok boolean);
  PERFORM pg_temp.tap_wait(format('NOT EXISTS (SELECT 1 FROM dblink(%L, %L) AS t(x int))', 'tap_cron',
    format($q$SELECT 1 FROM cron.job_run_details WHERE jobid = %s AND status IN ('starting', 'running')$q$, job)),
    30);
  RETURN done;
END $$;
CREATE TEMP TABLE unscheduled AS SELECT pg_temp.unschedule(jobid) AS ok FROM job;

SELECT is((SELECT count(*) FROM run), 1::bigint, 'the job ran and finished within 130 s');
SELECT is((SELECT status FROM run), 'succeeded', 'its run succeeded');
SELECT is((SELECT (username, database, command)::text FROM run),
          '(trajc_tap_cron_user,trajc_tap,"CALL trajc_compile_pending(3, 10)")',
          '... as the job role, in trajc_tap, running the CALL');
SELECT ok((SELECT end_time >= start_time FROM run), '... with its start and end times');
SELECT is((SELECT ok FROM unscheduled), true, 'cron.unschedule removed the job');
SELECT is((SELECT n FROM dblink('tap_cron', format('SELECT count(*) FROM cron.job WHERE jobid = %s',
             (SELECT jobid FROM job))) AS t(n bigint)), 0::bigint, '... it is gone from cron.job');

-- What the run left in this database.
SELECT is((SELECT count(DISTINCT session_id) FROM trajc.qa_pairs WHERE session_id LIKE 'tap-cron-%'),
          3::bigint, 'the run stored pairs for the 3 sessions');
SELECT ok((SELECT bool_and(source_model = 'offline' AND cost_usd = 0 AND turn_count = 6)
             FROM trajc.qa_pairs WHERE session_id LIKE 'tap-cron-%'),
          '... offline pairs, free, from 6-turn trajectories');
SELECT ok((SELECT count(DISTINCT qa_type) >= 2 FROM trajc.qa_pairs WHERE session_id LIKE 'tap-cron-%'),
          '... of several types');
SELECT is((SELECT count(*) FROM trajc.compile_log
            WHERE session_id LIKE 'tap-cron-%' AND status = 'ok' AND provider = 'offline'),
          3::bigint, 'compile_log has one ok row per session');
SELECT is((SELECT count(*) FROM trajc.compile_log c
            WHERE c.session_id LIKE 'tap-cron-%' AND c.status = 'ok'
              AND c.pairs_kept = (SELECT count(*) FROM trajc.qa_pairs p WHERE p.compile_id = c.id)),
          3::bigint, '... each counting the pairs it kept');
SELECT ok((SELECT bool_and(c.started_at >= r.start_time - interval '1 s'
                           AND c.finished_at <= r.end_time + interval '1 s')
             FROM trajc.compile_log c, run r
            WHERE c.session_id LIKE 'tap-cron-%' AND c.status = 'ok'),
          '... written during the job''s run');
SELECT is_empty($$SELECT 1 FROM trajc.compile_log WHERE session_id = 'tap-cron-short'$$,
                'the 2-turn session was not considered (min_turns 3)');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-cron-%' AND status = 'ok'),
          3::bigint, 'no session was compiled twice');

SELECT * FROM finish();

-- ---- clean up ------------------------------------------------------------------------
SELECT count(*) >= 0 AS cleaned FROM dblink('tap_cron', format(
  'DELETE FROM cron.job_run_details WHERE jobid = %s RETURNING 1', (SELECT jobid FROM job))) AS t(x int) \gset
SELECT count(*) >= 0 AS unscheduled FROM dblink('tap_cron',
  $$SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'trajc-test'$$) AS t(ok boolean) \gset
SELECT dblink_disconnect('tap_cron') = 'OK' AS disconnected \gset
CALL pg_temp.tap_forget('tap-cron-%');
DROP TABLE public.tap_cron_log;
CALL pg_temp.tap_drop_role('trajc_tap_cron_user');
