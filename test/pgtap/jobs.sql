-- jobs.sql: background runs. trajc_start records a job in trajc.jobs and a
-- background worker runs CALL trajc_compile_pending's work as the calling
-- role with its settings of that moment; progress is visible to other
-- sessions while it runs; trajc_cancel stops it; trajc.max_jobs (2 in the
-- test cluster) queues the rest; roles see and cancel only their own jobs.
-- pg_cron starting a job is in cron.sql (one wait for the minute boundary);
-- a restart or crash during a job, and a server without the preload, are in
-- test/jobs/ (they stop the server).
--
-- Compiles against the loopback mock (scripts/test-env.sh): audit rows
-- carrying `mock:slow=MS` make the mock answer after MS ms, `mock:hang`
-- never. Workers and dblink connections must see the tables, so the file
-- runs outside a transaction: it cleans up before (after a failed run) and
-- after itself. Every wait is a bounded poll (pg_temp.tap_wait).
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\ir fixtures/common.sql

-- Leftovers of an earlier, failed run.
SELECT count(*) >= 0 AS closed FROM (
  SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c LIKE 'tap_jobs_%') d \gset
CALL pg_temp.tap_forget('tap-jobs-%');
DROP TABLE IF EXISTS public.tap_jobs_basic, public.tap_jobs_progress, public.tap_jobs_cancel,
  public.tap_jobs_twice, public.tap_jobs_q1, public.tap_jobs_q2, public.tap_jobs_q3,
  public.tap_jobs_q4, public.tap_jobs_roles, public.tap_jobs_tx, public.tap_jobs_owned;
ALTER TABLE trajc.jobs OWNER TO CURRENT_USER;  -- if an earlier run stopped half-way
CALL pg_temp.tap_drop_role('trajc_tap_jobs_owner');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_a');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_b');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_m');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_noread');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_nologin');

-- One audit table per scenario; growing sessions, so -N ... -1 is the listing order.
SELECT pg_temp.tap_make_log('tap_jobs_basic', 'tap-jobs-basic', 4, 3, 'mock:slow=300', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_progress', 'tap-jobs-progress', 5, 3, 'mock:slow=600', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_cancel', 'tap-jobs-cancel', 2, 3, NULL, growing => true);
-- -2 (listed first) answers at once, -1 never.
UPDATE public.tap_jobs_cancel SET note = 'mock:hang' WHERE session_id = 'tap-jobs-cancel-1' AND note LIKE 'step 2 %';
SELECT pg_temp.tap_make_log('tap_jobs_twice', 'tap-jobs-twice', 6, 3, 'mock:slow=500', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_q1', 'tap-jobs-q1', 2, 3, 'mock:slow=1200', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_q2', 'tap-jobs-q2', 2, 3, 'mock:slow=1200', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_q3', 'tap-jobs-q3', 2, 3, 'mock:slow=300', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_q4', 'tap-jobs-q4', 1, 3, NULL, growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_roles', 'tap-jobs-roles', 3, 3, 'mock:slow=800', growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_tx', 'tap-jobs-tx', 2, 3, NULL, growing => true);
SELECT pg_temp.tap_make_log('tap_jobs_owned', 'tap-jobs-owned', 2, 3, NULL, growing => true);

-- Roles: a and b start jobs, m is a member of a, noread may start jobs but
-- not read the audit table, nologin cannot log in.
CREATE ROLE trajc_tap_jobs_a LOGIN;
CREATE ROLE trajc_tap_jobs_b LOGIN;
CREATE ROLE trajc_tap_jobs_m LOGIN IN ROLE trajc_tap_jobs_a;
CREATE ROLE trajc_tap_jobs_noread LOGIN;
CREATE ROLE trajc_tap_jobs_nologin NOLOGIN;
CREATE FUNCTION pg_temp.may_start(r name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CALL pg_temp.tap_grant_compile(r);
  EXECUTE format('GRANT EXECUTE ON FUNCTION trajc_start(int, int, text), trajc_cancel(bigint) TO %I', r);
  EXECUTE format('GRANT SELECT ON trajc.jobs TO %I', r);
END $$;
SELECT pg_temp.may_start(r) FROM unnest(ARRAY['trajc_tap_jobs_a', 'trajc_tap_jobs_b', 'trajc_tap_jobs_m',
  'trajc_tap_jobs_noread', 'trajc_tap_jobs_nologin']::name[]) r;
GRANT SELECT ON public.tap_jobs_roles, public.tap_jobs_owned TO trajc_tap_jobs_a, trajc_tap_jobs_b,
  trajc_tap_jobs_m;
-- An owner of trajc.jobs that is not a superuser (as postgres on Supabase).
CREATE ROLE trajc_tap_jobs_owner NOLOGIN;
GRANT USAGE ON SCHEMA trajc TO trajc_tap_jobs_owner;

-- The job's row, and waiting for it.
CREATE FUNCTION pg_temp.job(id bigint) RETURNS trajc.jobs LANGUAGE sql AS $$
  SELECT * FROM trajc.jobs WHERE trajc.jobs.id = $1
$$;
CREATE FUNCTION pg_temp.await_status(id bigint, statuses text[], timeout_s float8 DEFAULT 30)
RETURNS boolean LANGUAGE sql AS $$
  SELECT pg_temp.tap_wait(format('(SELECT status FROM trajc.jobs WHERE id = %s) = ANY (%L::text[])',
                                 id, statuses), timeout_s)
$$;
CREATE FUNCTION pg_temp.seconds(a timestamptz, b timestamptz) RETURNS float8
  LANGUAGE sql IMMUTABLE AS $$ SELECT extract(epoch FROM b - a)::float8 $$;
-- A statement on a dblink connection, through tap_run (state, message).
CREATE FUNCTION pg_temp.remote(conn text, q text) RETURNS text LANGUAGE sql AS $$
  SELECT format('SELECT * FROM dblink(%L, %L) AS t(v text)', conn, q)
$$;

SELECT plan(85);

SELECT is(pg_temp.tap_connect('tap_jobs_watch'), 'OK', 'a second connection, to watch');

-- ---- the contract -----------------------------------------------------------------
SELECT columns_are('trajc', 'jobs', ARRAY['id', 'role', 'database', 'args', 'status', 'sessions_total',
  'sessions_done', 'pairs', 'cost_usd', 'started_at', 'finished_at', 'error', 'queued_at', 'pid', 'settings'],
  'trajc.jobs has the contract''s columns (then queued_at, pid, settings)');
SELECT function_returns('trajc_start', ARRAY['integer', 'integer', 'text'], 'bigint', 'trajc_start returns bigint');
SELECT function_returns('trajc_cancel', ARRAY['bigint'], 'boolean', 'trajc_cancel returns boolean');
SELECT is(current_setting('trajc.max_jobs'), '2', 'trajc.max_jobs is 2');
SELECT throws_ok('SET trajc.max_jobs = 3', '55P02', NULL, '... a server setting, not one a session may SET');
SELECT throws_ok('SELECT trajc_start(0)', '22023', NULL, 'min_turns below 1 is refused');
SELECT throws_ok('SELECT trajc_start(3, -1)', '22023', NULL, 'a negative "limit" is refused');
SELECT throws_ok($$SELECT trajc_start(3, 0, 'gold')$$, '22023', 'unknown tier "gold"', 'an unknown tier is refused');
SELECT throws_ok('SELECT trajc_cancel(-1)', 'P0002', 'trajc job -1 does not exist', 'cancelling no job is an error');
SELECT is(trajc_cancel(NULL), NULL, 'trajc_cancel(NULL) is NULL');
SET ROLE trajc_tap_jobs_nologin;
CREATE TEMP TABLE nologin AS SELECT * FROM pg_temp.tap_run('SELECT trajc_start(3, 0)');
RESET ROLE;
SELECT is((SELECT (state, message)::text FROM nologin),
          '(42501,"role ""trajc_tap_jobs_nologin"" cannot log in, so no background job can run as it")',
          'a role without LOGIN cannot start a job (its worker logs in as it)');

-- ---- a job runs to its end; its counts are compile_log's ---------------------------
SET trajc.source = 'public.tap_jobs_basic';
SET trajc.concurrency = 2;
SELECT trajc_start(3, 0) AS basic \gset
RESET trajc.source;  -- the job keeps the settings of the moment it was started
RESET trajc.concurrency;
SELECT ok((SELECT status IN ('queued', 'running') FROM pg_temp.job(:basic)),
          'trajc_start returns the id at once, the job queued or running');
SELECT ok(pg_temp.await_status(:basic, '{done,failed,cancelled}'), 'the job ends within 30 s');
SELECT is((SELECT (status, error)::text FROM pg_temp.job(:basic)), '(done,)', '... done, without an error');
SELECT is((SELECT (role::text, database::text, args)::text FROM pg_temp.job(:basic)),
          format('(%s,%s,"{""tier"": null, ""limit"": 0, ""min_turns"": 3}")', current_user, current_database()),
          '... its role, database and arguments recorded');
SELECT ok((SELECT queued_at <= started_at AND started_at <= finished_at AND pid IS NOT NULL FROM pg_temp.job(:basic)),
          '... queued, started and finished in that order, by a worker whose pid is recorded');
SELECT is((SELECT (sessions_total, sessions_done)::text FROM pg_temp.job(:basic)), '(4,4)',
          '... 4 sessions listed and done, from the audit table set when it started');
SELECT is((SELECT sessions_done::bigint FROM pg_temp.job(:basic)),
          (SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-basic-%'),
          'sessions_done counts its compile_log rows');
SELECT is((SELECT pairs::bigint FROM pg_temp.job(:basic)),
          (SELECT sum(pairs_kept) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-basic-%'),
          'pairs is the sum of their pairs_kept');
SELECT is((SELECT pairs::bigint FROM pg_temp.job(:basic)),
          (SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'tap-jobs-basic-%'), '... the pairs stored');
SELECT ok((SELECT j.cost_usd > 0 AND abs(j.cost_usd - (SELECT sum(cost_usd) FROM trajc.compile_log
             WHERE session_id LIKE 'tap-jobs-basic-%')) < 1e-9 FROM pg_temp.job(:basic) j),
          'cost_usd is the sum of their cost_usd');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-basic-%' AND status = 'ok'),
          4::bigint, 'the job compiled each session, through the mock');
SELECT is((SELECT (settings->>'trajc.source', settings->>'trajc.concurrency') FROM pg_temp.job(:basic))::text,
          '(public.tap_jobs_basic,2)', 'the settings of that moment are recorded');
SELECT ok((SELECT NOT (settings ?| ARRAY['trajc.gemini_api_key', 'trajc.openai_api_key', 'trajc.anthropic_api_key',
                                        'trajc.gemini_base_url', 'trajc.max_jobs'])
                  AND settings::text NOT LIKE '%s3cr3t%' FROM pg_temp.job(:basic)),
          '... but no key, base URL or server setting');
SELECT is(trajc_cancel(:basic), false, 'cancelling a finished job returns false');

-- ---- progress, seen from another session while the job runs ------------------------
-- Polls (every 50 ms, up to 30 s) the job's row together with its
-- compile_log rows, in one statement on the second connection, until the job ends.
CREATE FUNCTION pg_temp.watch(job bigint, pattern text)
RETURNS TABLE(n int, status text, total int, done int, pairs int, logged bigint) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  n := 0;
  LOOP
    SELECT * INTO status, total, done, pairs, logged FROM dblink('tap_jobs_watch', format(
      $q$SELECT j.status, j.sessions_total, j.sessions_done, j.pairs,
               (SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE %L)
          FROM trajc.jobs j WHERE j.id = %s$q$, pattern, job))
      AS t(status text, total int, done int, pairs int, logged bigint);
    n := n + 1;
    RETURN NEXT;
    EXIT WHEN status NOT IN ('queued', 'running') OR clock_timestamp() - t0 > interval '30 s';
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SET trajc.source = 'public.tap_jobs_progress';
SET trajc.concurrency = 1;
SELECT trajc_start(3, 0) AS progress \gset
RESET trajc.source;
RESET trajc.concurrency;
CREATE TEMP TABLE seen AS SELECT * FROM pg_temp.watch(:progress, 'tap-jobs-progress-%');
SELECT is((SELECT status FROM seen ORDER BY n DESC LIMIT 1), 'done', 'the watched job ends done');
SELECT ok(EXISTS (SELECT 1 FROM seen WHERE status = 'running' AND done > 0 AND done < 5),
          'another session sees sessions_done between 0 and 5 while the job runs');
SELECT cmp_ok((SELECT count(DISTINCT done) FROM seen WHERE status = 'running'), '>=', 3::bigint,
              '... at least three different counts along the way');
SELECT is_empty($$SELECT 1 FROM seen a JOIN seen b ON b.n = a.n + 1 WHERE b.done < a.done OR b.pairs < a.pairs$$,
                '... never going down');
SELECT is_empty($$SELECT 1 FROM seen WHERE done <> logged$$,
                'each session''s progress commits with its compile_log row (never one without the other)');
SELECT is_empty($$SELECT 1 FROM seen WHERE pairs <> 2 * done$$, '... and with its pairs (2 a session)');
SELECT ok(EXISTS (SELECT 1 FROM seen WHERE status = 'running' AND total = 5),
          'sessions_total is known while it runs');

-- ---- cancel while a request is in flight --------------------------------------------
SET trajc.source = 'public.tap_jobs_cancel';
SET trajc.concurrency = 1;
SELECT trajc_start(3, 0) AS cancelled \gset
RESET trajc.source;
RESET trajc.concurrency;
SELECT ok(pg_temp.tap_wait(format('(SELECT status = %L AND sessions_done = 1 FROM trajc.jobs WHERE id = %s)',
                                  'running', :cancelled), 20),
          'the job finished its first session and waits for the hung one');
SELECT clock_timestamp() AS cancel_at \gset
SELECT is(trajc_cancel(:cancelled), true, 'trajc_cancel of a running job returns true');
SELECT ok(pg_temp.await_status(:cancelled, '{done,failed,cancelled}', 10), 'the job stops');
SELECT is((SELECT (status, error)::text FROM pg_temp.job(:cancelled)), '(cancelled,)', '... cancelled, with no error');
SELECT cmp_ok((SELECT pg_temp.seconds(:'cancel_at', finished_at) FROM pg_temp.job(:cancelled)), '<', 2::float8,
              '... within a second or so of the cancel');
SELECT diag('cancelled ' || (SELECT round(pg_temp.seconds(:'cancel_at', finished_at)::numeric, 3)
                               FROM pg_temp.job(:cancelled)) || ' s after trajc_cancel');
SELECT is((SELECT array_agg(status) FROM trajc.compile_log WHERE session_id = 'tap-jobs-cancel-2'), ARRAY['ok'],
          'the session it finished stays');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-jobs-cancel-2'), 2::bigint, '... with its pairs');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'tap-jobs-cancel-1'), 0::bigint,
          'nothing of the interrupted session remains');
SELECT is((SELECT sessions_done FROM pg_temp.job(:cancelled)), 1, 'sessions_done stays at 1');
SELECT ok((SELECT pid IS NOT NULL FROM pg_temp.job(:cancelled))
          AND pg_temp.tap_wait(format('NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)',
                                      (SELECT coalesce(pid, 0) FROM pg_temp.job(:cancelled))), 10),
          'its worker has exited');
SELECT is(trajc_cancel(:cancelled), false, 'cancelling it again returns false');

-- ---- two jobs over the same sessions ---------------------------------------------------
SET trajc.source = 'public.tap_jobs_twice';
SET trajc.concurrency = 3;
SELECT trajc_start(3, 0) AS twice1 \gset
SELECT trajc_start(3, 0) AS twice2 \gset
RESET trajc.source;
RESET trajc.concurrency;
SELECT ok(pg_temp.await_status(:twice1, '{done,failed,cancelled}') AND pg_temp.await_status(:twice2, '{done,failed,cancelled}'),
          'two jobs over the same sessions both end');
SELECT is((SELECT array_agg(status || ':' || sessions_done ORDER BY id) FROM trajc.jobs WHERE id IN (:twice1, :twice2)),
          ARRAY['done:6', 'done:6'], '... done, each having handled the 6 sessions');
SELECT is_empty($$SELECT session_id FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-twice-%'
                   GROUP BY session_id HAVING count(*) FILTER (WHERE status = 'ok') <> 1$$,
                'each session was compiled once');
SELECT is((SELECT count(DISTINCT session_id) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-twice-%'
             AND status = 'ok'), 6::bigint, '... all 6 of them');
SELECT is((SELECT sum(pairs)::bigint FROM trajc.jobs WHERE id IN (:twice1, :twice2)),
          (SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'tap-jobs-twice-%'),
          'the two jobs'' pairs add up to the pairs stored');

-- ---- trajc.max_jobs: two run, the rest wait queued ----------------------------------------
-- Never more than two running at once (sampled every 50 ms until `last` ends).
CREATE FUNCTION pg_temp.most_running(last bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE most bigint := 0; t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    most := greatest(most, (SELECT count(*) FROM trajc.jobs WHERE status = 'running'));
    EXIT WHEN (SELECT status NOT IN ('queued', 'running') FROM trajc.jobs WHERE id = last)
           OR clock_timestamp() - t0 > interval '30 s';
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN most;
END $$;
SET trajc.concurrency = 1;
SET trajc.source = 'public.tap_jobs_q1';
SELECT trajc_start(3, 0) AS q1 \gset
SET trajc.source = 'public.tap_jobs_q2';
SELECT trajc_start(3, 0) AS q2 \gset
SET trajc.source = 'public.tap_jobs_q3';
SELECT trajc_start(3, 0) AS q3 \gset
SET trajc.source = 'public.tap_jobs_q4';
SELECT trajc_start(3, 0) AS q4 \gset
RESET trajc.source;
RESET trajc.concurrency;
SELECT ok(pg_temp.tap_wait(format($c$(SELECT array_agg(status ORDER BY id) = '{running,running,queued,queued}'
                                        FROM trajc.jobs WHERE id IN (%s, %s, %s, %s))$c$, :q1, :q2, :q3, :q4), 10),
          'with four jobs started, the first two run and the others wait queued');
SELECT is(trajc_cancel(:q4), true, 'trajc_cancel of a queued job returns true');
SELECT is((SELECT (status, started_at IS NULL, finished_at IS NOT NULL)::text FROM pg_temp.job(:q4)), '(cancelled,t,t)',
          '... it is cancelled at once, never having started');
SELECT cmp_ok(pg_temp.most_running(:q3), '<=', 2::bigint, 'no more than trajc.max_jobs jobs ran at once');
SELECT is((SELECT array_agg(status ORDER BY id) FROM trajc.jobs WHERE id IN (:q1, :q2, :q3)),
          ARRAY['done', 'done', 'done'], 'the queued third job ran once a place was free');
SELECT ok((SELECT j3.started_at >= least(j1.finished_at, j2.finished_at)
             FROM pg_temp.job(:q1) j1, pg_temp.job(:q2) j2, pg_temp.job(:q3) j3),
          '... only after one of the first two had finished');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-q4-%'), 0::bigint,
          'the cancelled queued job compiled nothing');

-- ---- roles ------------------------------------------------------------------------------------
SELECT is(pg_temp.tap_connect('tap_jobs_a', current_database(), 'trajc_tap_jobs_a'), 'OK', 'connected as role a');
SELECT is(pg_temp.tap_connect('tap_jobs_b', current_database(), 'trajc_tap_jobs_b'), 'OK', 'connected as role b');
SELECT is(pg_temp.tap_connect('tap_jobs_m', current_database(), 'trajc_tap_jobs_m'), 'OK', 'connected as m, a member of a');
SELECT dblink_exec('tap_jobs_a', 'SET trajc.source = ''public.tap_jobs_roles''; SET trajc.concurrency = 1') AS set \gset
SELECT id AS ja FROM dblink('tap_jobs_a', 'SELECT trajc_start(3, 0)') AS t(id bigint) \gset
SELECT ok(pg_temp.await_status(:ja, '{running}', 10), 'role a''s job runs');
SELECT is((SELECT (usename, backend_type)::text FROM pg_stat_activity WHERE pid = (SELECT pid FROM pg_temp.job(:ja))),
          '(trajc_tap_jobs_a,"trajc job")', '... in a worker logged in as role a, not as a superuser');
SELECT is((SELECT v FROM dblink('tap_jobs_a', format('SELECT count(*) FROM trajc.jobs WHERE id = %s', :ja)) AS t(v bigint)),
          1::bigint, 'role a sees its job');
SELECT is((SELECT v FROM dblink('tap_jobs_b', 'SELECT count(*) FROM trajc.jobs') AS t(v bigint)), 0::bigint,
          'role b sees no job of another role');
SELECT is((SELECT v FROM dblink('tap_jobs_m', format('SELECT count(*) FROM trajc.jobs WHERE id = %s', :ja)) AS t(v bigint)),
          1::bigint, 'm, a member of a, sees a''s job');
CREATE TEMP TABLE b_cancel AS
  SELECT * FROM pg_temp.tap_run(pg_temp.remote('tap_jobs_b', format('SELECT trajc_cancel(%s)::text', :ja)));
SELECT is((SELECT (state, message)::text FROM b_cancel), format('(42501,"permission denied to cancel trajc job %s")', :ja),
          'role b cannot cancel role a''s job');
CREATE TEMP TABLE a_write AS
  SELECT * FROM pg_temp.tap_run(pg_temp.remote('tap_jobs_a',
    format('UPDATE trajc.jobs SET status = %L WHERE id = %s RETURNING status', 'done', :ja)));
SELECT is((SELECT state FROM a_write), '42501', 'role a cannot write its job''s row: only the extension does');
SELECT is((SELECT status FROM pg_temp.job(:ja)), 'running', 'a''s job is still running');
SELECT is((SELECT v FROM dblink('tap_jobs_m', format('SELECT trajc_cancel(%s)', :ja)) AS t(v boolean)), true,
          'm, a member of a, cancels it');
SELECT ok(pg_temp.await_status(:ja, '{cancelled}', 10), '... and it is cancelled');

-- A job of a role that may start jobs but not read the audit log.
SELECT is(pg_temp.tap_connect('tap_jobs_noread', current_database(), 'trajc_tap_jobs_noread'), 'OK',
          'connected as a role without SELECT on the audit table');
SELECT dblink_exec('tap_jobs_noread', 'SET trajc.source = ''public.tap_jobs_roles''') AS set \gset
SELECT id AS noread FROM dblink('tap_jobs_noread', 'SELECT trajc_start(3, 0)') AS t(id bigint) \gset
SELECT ok(pg_temp.await_status(:noread, '{done,failed,cancelled}', 20), 'its job ends');
SELECT is((SELECT (status, error)::text FROM pg_temp.job(:noread)),
          '(failed,"permission denied for table tap_jobs_roles")', '... failed, with the permission error in its row');

-- Row-level security must not trip over a role that no longer exists.
INSERT INTO trajc.jobs (role, database, args, status) VALUES ('987654'::regrole, current_database(), '{}', 'done')
  RETURNING id AS orphan \gset
SELECT is((SELECT v FROM dblink('tap_jobs_b', 'SELECT count(*) FROM trajc.jobs') AS t(v bigint)), 0::bigint,
          'a job of a dropped role is hidden, not an error');
DELETE FROM trajc.jobs WHERE id = :orphan;

-- ---- transactions and interrupted jobs ---------------------------------------------------------------
SET trajc.source = 'public.tap_jobs_tx';
BEGIN;
SELECT trajc_start(3, 0) AS tx_kept \gset
SAVEPOINT s;
SELECT trajc_start(3, 0) AS tx_undone \gset
ROLLBACK TO s;
COMMIT;
BEGIN;
SELECT trajc_start(3, 0) AS tx_rolled_back \gset
ROLLBACK;
RESET trajc.source;
SELECT ok(pg_temp.await_status(:tx_kept, '{done,failed,cancelled}'), 'a job started in a committed transaction runs');
SELECT is((SELECT status FROM pg_temp.job(:tx_kept)), 'done', '... to its end');
SELECT is((SELECT count(*) FROM trajc.jobs WHERE id IN (:tx_undone, :tx_rolled_back)), 0::bigint,
          'jobs started in a rolled-back savepoint or transaction leave no row');
-- A worker applies only what trajc_start records (trajc.* and search_path):
-- a row changed to carry anything else fails its job.
SET trajc.source = 'public.tap_jobs_tx';
BEGIN;
SELECT trajc_start(3, 0) AS tampered \gset
UPDATE trajc.jobs SET settings = settings || '{"work_mem": "1MB"}' WHERE id = :tampered;
COMMIT;
RESET trajc.source;
SELECT ok(pg_temp.await_status(:tampered, '{done,failed,cancelled}'), 'a job whose row was given another setting ends');
SELECT is((SELECT (status, error)::text FROM pg_temp.job(:tampered)),
          format('(failed,"trajc job %s records a setting it may not apply: ""work_mem""")', :tampered),
          '... failed, without applying it');
-- A live row whose job has no worker (as a restart leaves behind) is failed
-- by the next trajc_start of its database; test/jobs/ restarts the server.
INSERT INTO trajc.jobs (role, database, args, status) VALUES (current_user::regrole, current_database(), '{}', 'running')
  RETURNING id AS ghost \gset
SET trajc.source = 'public.tap_jobs_tx';
SELECT trajc_start(3, 0) AS after_ghost \gset
RESET trajc.source;
SELECT is((SELECT status FROM pg_temp.job(:ghost)), 'failed', 'a running row without a worker is marked failed');
SELECT ok((SELECT error LIKE 'interrupted: %' FROM pg_temp.job(:ghost)), '... saying it was interrupted');
SELECT ok(pg_temp.await_status(:after_ghost, '{done,failed,cancelled}'), 'the job started meanwhile ends');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'tap-jobs-tx-%' AND status = 'skipped'
             AND error LIKE 'unchanged%'), 2::bigint, '... skipping what the first one compiled (the hash-skip)');

-- ---- an owner of trajc.jobs that is not a superuser ------------------------------------------------
-- Every write is made as the table's owner: with a non-superuser owner,
-- jobs still start, progress and end, and roles still see only their own.
ALTER TABLE trajc.jobs OWNER TO trajc_tap_jobs_owner;
SELECT dblink_exec('tap_jobs_a', 'SET trajc.source = ''public.tap_jobs_owned''') AS set \gset
SELECT id AS owned FROM dblink('tap_jobs_a', 'SELECT trajc_start(3, 0)') AS t(id bigint) \gset
SELECT ok(pg_temp.await_status(:owned, '{done,failed,cancelled}'), 'with a non-superuser owner, a job ends');
SELECT is((SELECT (status, sessions_done, error)::text FROM pg_temp.job(:owned)), '(done,2,)',
          '... done, its progress and end recorded as that owner');
SELECT is((SELECT v FROM dblink('tap_jobs_b', 'SELECT count(*) FROM trajc.jobs') AS t(v bigint)), 0::bigint,
          '... and role b still sees no job of another role');
ALTER TABLE trajc.jobs OWNER TO CURRENT_USER;

SELECT * FROM finish();

-- ---- clean up --------------------------------------------------------------------------------------------
SELECT count(*) >= 0 AS closed FROM (
  SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c LIKE 'tap_jobs_%') d \gset
SELECT bool_and(pg_temp.await_status(id, '{done,failed,cancelled}')) AS ended FROM trajc.jobs
 WHERE status IN ('queued', 'running') \gset
CALL pg_temp.tap_forget('tap-jobs-%');
DROP TABLE public.tap_jobs_basic, public.tap_jobs_progress, public.tap_jobs_cancel, public.tap_jobs_twice,
  public.tap_jobs_q1, public.tap_jobs_q2, public.tap_jobs_q3, public.tap_jobs_q4, public.tap_jobs_roles,
  public.tap_jobs_tx, public.tap_jobs_owned;
CALL pg_temp.tap_drop_role('trajc_tap_jobs_owner');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_a');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_b');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_m');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_noread');
CALL pg_temp.tap_drop_role('trajc_tap_jobs_nologin');
