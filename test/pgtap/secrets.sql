-- secrets.sql: API keys and base URLs are out of reach of unprivileged roles,
-- and keys never leave the backend in any text a user or an operator reads.
--
-- Required server configuration (what this file proves holds):
--   shared_preload_libraries includes 'trajc'. The module then defines
--   trajc.<provider>_api_key (PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL)
--   and trajc.<provider>_base_url (PGC_SUSET) in the postmaster, before any
--   session starts, and reserves the "trajc" prefix. Without preloading, a
--   fresh session that has not loaded the library yet sees a key given in
--   postgresql.conf / ALTER SYSTEM as a plain placeholder that anyone can SHOW.
--   Keys are set with ALTER SYSTEM (or in postgresql.conf) or come from the
--   server's environment, never with ALTER DATABASE / ALTER ROLE ... SET, whose
--   values every role can read in pg_db_role_setting.
--   The fresh-session tests below (a dblink connection as the unprivileged
--   role) are the proof for the preloaded configuration.
--
-- The test environment (scripts/test-env.sh) sets keys ending in "s3cr3t" for
-- all three providers and points every base URL at the loopback mock, whose
-- 401/403 bodies echo the key they received.
--
-- Runs outside a transaction (the dblink session must see the role and the
-- grants), so it cleans up after itself and also before, after a failed run.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\ir fixtures/common.sql

-- The needle, never written whole in a statement (statements can reach the
-- server log).
CREATE FUNCTION pg_temp.needle() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 's3' || 'cr3t' $$;

-- Leftovers of an earlier, failed run.
DROP ROLE IF EXISTS trajc_tap_secrets_monitor;
CALL pg_temp.tap_drop_role('trajc_tap_secrets_user');
DROP TABLE IF EXISTS public.tap_secrets_log;
CALL pg_temp.tap_forget('tap-sec-%');

-- Where the server log is (scripts/pgcluster.sh: <root>/postgres.log next to
-- <root>/data); the log checks are skipped if it is elsewhere.
CREATE TEMP TABLE tap_log AS
  SELECT current_setting('data_directory') || '/../postgres.log' AS path,
         (pg_stat_file(current_setting('data_directory') || '/../postgres.log', true)).size AS start_size;

CREATE TABLE public.tap_secrets_log (
  id         serial PRIMARY KEY,
  session_id text NOT NULL,
  created_at timestamptz NOT NULL,
  agent      text,
  note       text
);
-- tap-sec-ok: valid pairs; tap-sec-401: the mock answers 401 quoting the key.
INSERT INTO public.tap_secrets_log (session_id, created_at, agent, note)
SELECT s, timestamptz '2024-05-01 10:00+00' + t * interval '1 minute', 'agent-sec',
       CASE WHEN s = 'tap-sec-401' AND t = 2 THEN 'mock:status=401' ELSE 'step ' || t || ' of ' || s END
  FROM unnest(ARRAY['tap-sec-ok', 'tap-sec-401', 'tap-sec-403']) s, generate_series(1, 5) t;

CREATE ROLE trajc_tap_secrets_user LOGIN;

SELECT plan(64);

-- ---- the compile functions are not for everyone ----------------------------
SELECT ok(NOT has_function_privilege('public', 'trajc_compile(text,text,boolean)', 'EXECUTE'),
          'PUBLIC cannot execute trajc_compile');
SELECT ok(NOT has_function_privilege('public', 'trajc_compile_batch(int,int,text,boolean)', 'EXECUTE'),
          'PUBLIC cannot execute trajc_compile_batch');
SELECT ok(NOT has_function_privilege('public', 'trajc_compile_pending(int,int,text)', 'EXECUTE'),
          'PUBLIC cannot execute trajc_compile_pending');
SELECT ok(NOT has_function_privilege('public', 'trajc_estimate(int,int,text)', 'EXECUTE'),
          'PUBLIC cannot execute trajc_estimate');
SELECT ok(NOT has_function_privilege('trajc_tap_secrets_user', 'trajc_compile(text,text,boolean)', 'EXECUTE'),
          'a new role cannot execute trajc_compile before a GRANT');

GRANT SELECT ON public.tap_secrets_log TO trajc_tap_secrets_user;
SET ROLE trajc_tap_secrets_user;
SET trajc.source = 'public.tap_secrets_log';
SELECT throws_ok($$SELECT * FROM trajc_compile('tap-sec-ok')$$, '42501', NULL,
                 'calling trajc_compile without the GRANT fails with 42501');
SELECT throws_ok($$CALL trajc_compile_pending(3, 0)$$, '42501', NULL,
                 'CALL trajc_compile_pending without the GRANT fails with 42501');
RESET ROLE;

CALL pg_temp.tap_grant_compile('trajc_tap_secrets_user');
GRANT EXECUTE ON FUNCTION trajc_compile(text, text, boolean), trajc_compile_batch(int, int, text, boolean),
                          trajc_estimate(int, int, text) TO trajc_tap_secrets_user;
GRANT EXECUTE ON PROCEDURE trajc_compile_pending(int, int, text) TO trajc_tap_secrets_user;

SELECT ok(has_function_privilege('trajc_tap_secrets_user', 'trajc_compile(text,text,boolean)', 'EXECUTE'),
          'after the GRANT the role can execute trajc_compile');
SELECT ok(NOT has_function_privilege('public', 'trajc_compile(text,text,boolean)', 'EXECUTE'),
          '... and PUBLIC still cannot');
SELECT ok(NOT pg_has_role('trajc_tap_secrets_user', 'pg_read_all_settings', 'USAGE'),
          'the role does not have the privileges of pg_read_all_settings');

-- ---- the role's own session (SET ROLE) ---------------------------------------
SET ROLE trajc_tap_secrets_user;
SET trajc.source = 'public.tap_secrets_log';

SELECT throws_ok('SHOW trajc.gemini_api_key', '42501', NULL, 'SHOW trajc.gemini_api_key: 42501');
SELECT throws_ok('SHOW trajc.openai_api_key', '42501', NULL, 'SHOW trajc.openai_api_key: 42501');
SELECT throws_ok('SHOW trajc.anthropic_api_key', '42501', NULL, 'SHOW trajc.anthropic_api_key: 42501');
SELECT throws_ok($$SELECT current_setting('trajc.openai_api_key')$$, '42501', NULL,
                 'current_setting(trajc.openai_api_key): 42501');
SELECT throws_ok($$SELECT current_setting('trajc.gemini_api_key', true)$$, '42501', NULL,
                 'current_setting(trajc.gemini_api_key, missing_ok): 42501, not a value');

CREATE FUNCTION pg_temp.show_all() RETURNS TABLE(name text, setting text, description text)
  LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'SHOW ALL'; END $$;
SELECT ok((SELECT count(*) FROM pg_temp.show_all()) > 100, 'SHOW ALL works for the role');
SELECT is_empty($$SELECT name FROM pg_temp.show_all()
                   WHERE name LIKE '%api_key%' OR setting LIKE '%' || pg_temp.needle() || '%'$$,
                'SHOW ALL lists no *_api_key and no key value');
SELECT is_empty($$SELECT name FROM pg_settings
                   WHERE name LIKE '%api_key%' OR setting LIKE '%' || pg_temp.needle() || '%'
                      OR reset_val LIKE '%' || pg_temp.needle() || '%'
                      OR boot_val LIKE '%' || pg_temp.needle() || '%'$$,
                'pg_settings shows no *_api_key and no key value');
SELECT ok((SELECT count(*) FROM pg_settings WHERE name = 'trajc.provider') = 1,
          '... while ordinary trajc settings are visible in pg_settings');

SELECT throws_ok($$SET trajc.gemini_api_key = 'stolen'$$, '42501', NULL, 'SET trajc.gemini_api_key: 42501');
SELECT throws_ok($$SET trajc.gemini_base_url = 'http://127.0.0.1:1'$$, '42501', NULL,
                 'SET trajc.gemini_base_url: 42501');
SELECT throws_ok($$SET LOCAL trajc.anthropic_base_url = 'http://127.0.0.1:1'$$, '42501', NULL,
                 'SET LOCAL trajc.anthropic_base_url: 42501');
SELECT throws_ok($$SELECT set_config('trajc.openai_base_url', 'http://127.0.0.1:1', false)$$, '42501', NULL,
                 'set_config(trajc.openai_base_url): 42501');
SELECT throws_ok($$ALTER ROLE CURRENT_USER SET trajc.gemini_base_url = 'http://127.0.0.1:1'$$, '42501', NULL,
                 'ALTER ROLE ... SET trajc.gemini_base_url by the role itself: 42501');
SELECT throws_like($$CREATE FUNCTION pg_temp.redirect() RETURNS int LANGUAGE sql
                       SET trajc.openai_base_url = 'http://127.0.0.1:1' AS 'SELECT 1'$$,
                   '%permission denied to set parameter%',
                   'a function SET clause cannot redirect requests either');
SELECT throws_ok($$SET trajc.anthropic_apikey = 'x'$$, '42602', NULL,
                 'the trajc prefix is reserved: no placeholder setting can be made under it');
SELECT throws_ok('SELECT * FROM pg_file_settings', '42501', NULL,
                 'pg_file_settings (which would show ALTER SYSTEM values) is not readable');

-- Compiles by the role: a good session, and a 401 that echoes the key, on
-- each provider; then a 403 asked for through trajc.model.
SELECT cmp_ok((SELECT count(*) FROM trajc_compile('tap-sec-ok')), '>', 0::bigint,
              'the role compiles a session against the mock');
SELECT lives_ok($$SELECT * FROM trajc_compile('tap-sec-401')$$,
                'gemini 401: trajc_compile records the failure, no error');
SET trajc.provider = 'openai';
SELECT lives_ok($$SELECT * FROM trajc_compile('tap-sec-401')$$,
                'openai 401: trajc_compile records the failure, no error');
SET trajc.provider = 'anthropic';
SELECT lives_ok($$SELECT * FROM trajc_compile('tap-sec-401')$$,
                'anthropic 401: trajc_compile records the failure, no error');
SET trajc.provider = 'gemini';
SET trajc.model = 'mock:status=403';
SELECT lives_ok($$SELECT * FROM trajc_compile('tap-sec-403')$$,
                'gemini 403 through trajc.model: trajc_compile records the failure, no error');
CREATE TEMP TABLE tap_batch AS SELECT * FROM trajc_compile_batch(3, 0, NULL, true);
RESET trajc.model;
SELECT is((SELECT count(*) FROM tap_batch WHERE status = 'failed'), 3::bigint,
          'a forced batch as the role: the 403 model fails every session');
SELECT is_empty($$SELECT * FROM tap_batch WHERE error LIKE '%' || pg_temp.needle() || '%'$$,
                'no error returned by trajc_compile_batch contains the key');
SELECT throws_like($$SELECT current_setting('trajc.gemini_api_key')$$,
                   'must be superuser or have privileges of pg_read_all_settings%',
                   'the 42501 message names the setting but not its value');
RESET ROLE;

-- What the compiles left behind (read as the superuser: everything).
SELECT is((SELECT count(*) FROM trajc.compile_log
            WHERE session_id = 'tap-sec-401' AND status = 'failed' AND http_status = 401),
          3::bigint, 'three 401 failures are logged, one per provider');
SELECT is((SELECT array_agg(DISTINCT provider ORDER BY provider) FROM trajc.compile_log
            WHERE session_id = 'tap-sec-401' AND http_status = 401),
          ARRAY['anthropic', 'gemini', 'openai'], '... for gemini, openai and anthropic');
SELECT is((SELECT count(*) FROM trajc.compile_log
            WHERE session_id LIKE 'tap-sec-%' AND http_status IN (401, 403) AND error LIKE '%[redacted]%'),
          (SELECT count(*) FROM trajc.compile_log
            WHERE session_id LIKE 'tap-sec-%' AND http_status IN (401, 403)),
          'every 401/403 error shows [redacted] where the vendor quoted the key');
SELECT ok((SELECT count(*) FROM trajc.compile_log
            WHERE session_id LIKE 'tap-sec-%' AND http_status = 403) >= 4,
          'the 403s (trajc.model directive) are logged too');
SELECT is_empty($$SELECT id FROM trajc.compile_log c
                   WHERE c::text LIKE '%' || pg_temp.needle() || '%'$$,
                'no compile_log row contains the key (error or any other column)');
SELECT ok((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'tap-sec-ok') > 0,
          'the good session has pairs');
SELECT is_empty($$SELECT id FROM trajc.qa_pairs p
                   WHERE p.raw_extraction::text LIKE '%' || pg_temp.needle() || '%'
                      OR p::text LIKE '%' || pg_temp.needle() || '%'$$,
                'no qa_pairs row (raw_extraction included) contains the key');

-- A key missing on the server: a clear error saying how to set it, no key.
-- (Skipped if the server's environment supplies ANTHROPIC_API_KEY.)
SET trajc.anthropic_api_key = '';
SET trajc.provider = 'anthropic';
CREATE TEMP TABLE tap_missing AS
  SELECT CASE WHEN state <> '00000' THEN state || ': ' || message || ' HINT: ' || coalesce(hint, '') END AS e
    FROM pg_temp.tap_run($$SELECT * FROM trajc_compile('tap-sec-ok')$$);
RESET trajc.provider;
RESET trajc.anthropic_api_key;
SELECT CASE WHEN e IS NULL THEN skip('the server environment has ANTHROPIC_API_KEY', 1)
            ELSE ok(e LIKE '22023: no API key for provider "anthropic"%'
                    AND e LIKE '%trajc.anthropic_api_key%' AND e LIKE '%offline%'
                    AND e NOT LIKE '%' || pg_temp.needle() || '%',
                    'no key: 22023 naming the setting and the offline provider')
       END FROM tap_missing;

-- ---- a fresh session as the role (dblink) -----------------------------------
SELECT is(pg_temp.tap_connect('tap_secrets_fresh', username => 'trajc_tap_secrets_user'),
          'OK', 'a fresh connection as the role');
SELECT is((SELECT u FROM dblink('tap_secrets_fresh', 'SELECT current_user::text') AS t(u text)),
          'trajc_tap_secrets_user', '... runs as the role');
SELECT throws_ok($$SELECT * FROM dblink('tap_secrets_fresh', 'SHOW trajc.gemini_api_key') AS t(v text)$$,
                 '42501', NULL, 'fresh session: SHOW trajc.gemini_api_key: 42501');
SELECT throws_ok($$SELECT * FROM dblink('tap_secrets_fresh', 'SHOW trajc.anthropic_api_key') AS t(v text)$$,
                 '42501', NULL, 'fresh session: SHOW trajc.anthropic_api_key: 42501');
SELECT throws_ok($$SELECT * FROM dblink('tap_secrets_fresh',
                   'SELECT current_setting(''trajc.openai_api_key'')') AS t(v text)$$,
                 '42501', NULL, 'fresh session: current_setting(trajc.openai_api_key): 42501');
SELECT is_empty($$SELECT name FROM dblink('tap_secrets_fresh', 'SHOW ALL')
                     AS t(name text, setting text, description text)
                   WHERE name LIKE '%api_key%' OR setting LIKE '%' || pg_temp.needle() || '%'$$,
                'fresh session: SHOW ALL lists no *_api_key and no key value');
SELECT is_empty($$SELECT name FROM dblink('tap_secrets_fresh',
                     'SELECT name, setting, reset_val FROM pg_settings')
                     AS t(name text, setting text, reset_val text)
                   WHERE name LIKE '%api_key%' OR setting LIKE '%' || pg_temp.needle() || '%'
                      OR reset_val LIKE '%' || pg_temp.needle() || '%'$$,
                'fresh session: pg_settings shows no *_api_key and no key value');
SELECT throws_ok($$SELECT dblink_exec('tap_secrets_fresh', 'SET trajc.gemini_api_key = ''stolen''')$$,
                 '42501', NULL, 'fresh session: SET trajc.gemini_api_key: 42501');
SELECT throws_ok($$SELECT dblink_exec('tap_secrets_fresh', 'SET trajc.gemini_base_url = ''http://127.0.0.1:1''')$$,
                 '42501', NULL, 'fresh session: SET trajc.gemini_base_url: 42501');
SELECT is(dblink_exec('tap_secrets_fresh',
            'SET trajc.source = ''public.tap_secrets_log''; SET trajc.provider = ''openai''; '
            'SET client_min_messages = error'),
          'SET', 'fresh session: user settings can be set');
SELECT is((SELECT n FROM dblink('tap_secrets_fresh',
             'SELECT count(*) FROM trajc_compile(''tap-sec-401'')') AS t(n bigint)),
          0::bigint, 'fresh session: an openai 401 inserts nothing');
SELECT is((SELECT n FROM dblink('tap_secrets_fresh',
             $q$SELECT count(*) FROM trajc.compile_log WHERE session_id = 'tap-sec-401' AND provider = 'openai'
                  AND http_status = 401 AND error LIKE '%[redacted]%'$q$) AS t(n bigint)),
          2::bigint, 'fresh session: its 401 is logged with the key redacted');
SELECT is_empty($$SELECT e FROM dblink('tap_secrets_fresh',
                     'SELECT coalesce(error, '''') FROM trajc.compile_log') AS t(e text)
                   WHERE e LIKE '%' || pg_temp.needle() || '%'$$,
                'fresh session: no compile_log error the role can read contains the key');
SELECT is(dblink_disconnect('tap_secrets_fresh'), 'OK', 'fresh session closed');

-- ---- even a superuser sees only a mask -----------------------------------------
CREATE FUNCTION pg_temp.show(name text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN EXECUTE format('SHOW %I', name) INTO v; RETURN v; END $$;
SELECT is(pg_temp.show('trajc.gemini_api_key'), '********',
          'a superuser''s SHOW trajc.gemini_api_key is masked');
SELECT is(current_setting('trajc.anthropic_api_key'), '********',
          '... and so is current_setting(''trajc.anthropic_api_key'')');

-- pg_read_all_settings (a member of pg_monitor, for instance) is not a
-- superuser, yet PostgreSQL lets it read GUC_SUPERUSER_ONLY settings: the
-- show hook masks the value for it too.
CREATE ROLE trajc_tap_secrets_monitor LOGIN IN ROLE pg_monitor;
SET ROLE trajc_tap_secrets_monitor;
SELECT is(pg_temp.show('trajc.gemini_api_key'), '********',
          'a pg_monitor member (not a superuser) sees only the mask of trajc.gemini_api_key');
RESET ROLE;
DROP ROLE trajc_tap_secrets_monitor;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.show_all() WHERE name = 'trajc.provider')
          AND NOT EXISTS (SELECT 1 FROM pg_temp.show_all() WHERE name LIKE '%api_key%'),
          'SHOW ALL hides the keys even from a superuser (GUC_NO_SHOW_ALL)');
SELECT is_empty($$SELECT 1 FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'trajc.%api_key=%'$$,
                'no key is stored in the world-readable pg_db_role_setting');

-- ---- the server log: the WARNINGs of the failed compiles, redacted ------------
CREATE TEMP TABLE tap_log_text AS
  SELECT CASE WHEN l.start_size IS NULL THEN NULL
              ELSE pg_read_file(l.path, l.start_size,
                                (pg_stat_file(l.path)).size - l.start_size) END AS text
    FROM tap_log l;
SELECT CASE WHEN text IS NULL THEN skip('server log not found next to the data directory', 2)
            ELSE collect_tap(
                   ok(text LIKE '%HTTP 401%[redacted]%', 'the server log has the 401 warnings, redacted'),
                   ok(text NOT LIKE '%' || pg_temp.needle() || '%', 'the server log has no key'))
       END FROM tap_log_text;

SELECT * FROM finish();

-- ---- clean up -------------------------------------------------------------------
CALL pg_temp.tap_forget('tap-sec-%');
DROP TABLE public.tap_secrets_log;
CALL pg_temp.tap_drop_role('trajc_tap_secrets_user');
