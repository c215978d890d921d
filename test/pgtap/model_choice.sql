-- model_choice.sql: how a compile picks its model from trajc.models and the
-- settings, and what a broken trajc.models row gives: a clear error, never a
-- crash or a silent price of 0. Offline provider (no network); everything in
-- one transaction that is rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
BEGIN;
SELECT plan(8);

CREATE TABLE mc_audit_log (id serial PRIMARY KEY, session_id text NOT NULL,
                           created_at timestamptz NOT NULL, agent text, tool text, note text);
INSERT INTO mc_audit_log (session_id, created_at, agent, tool, note)
SELECT 'mc-1', timestamptz '2026-05-01 09:00+00' + t * interval '1 minute', 'coder',
       (ARRAY['search', 'read_file', 'run_tests'])[1 + t % 3], 'step ' || t
  FROM generate_series(1, 8) t;
SET trajc.source = 'mc_audit_log';
SET trajc.provider = 'offline';
SET trajc.model = '';

-- The error a statement raises: state, message, hint (all NULL if none).
CREATE FUNCTION pg_temp.error_of(q text, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM trajc_compile('mc-1', 'standard')), '>', 0::bigint,
              'a complete trajc.models row compiles');
SELECT is((SELECT source_model FROM trajc.qa_pairs WHERE session_id = 'mc-1' LIMIT 1), 'offline',
          'the tier''s model is recorded');

SELECT is((pg_temp.error_of($$SELECT trajc_compile('mc-1', 'deluxe')$$)).state, '22023',
          'an unknown tier is 22023');

-- trajc.models' NOT NULL constraints are the owner's to drop; a NULL that
-- gets in must stop the compile with 22004, not crash the backend (model)
-- or price the calls at 0 (prices).
ALTER TABLE trajc.models ALTER COLUMN model DROP NOT NULL,
                         ALTER COLUMN usd_per_mtok_in DROP NOT NULL;
UPDATE trajc.models SET usd_per_mtok_in = NULL WHERE provider = 'offline' AND tier = 'cheap';
SELECT results_eq($$SELECT state, message FROM pg_temp.error_of($q$SELECT trajc_compile('mc-1', 'cheap')$q$)$$,
                  $$VALUES ('22004', 'trajc.models has a NULL model or price for offline "cheap"')$$,
                  'a NULL price is 22004 naming the row');
SELECT matches((pg_temp.error_of($$SELECT trajc_compile('mc-1', 'cheap')$$)).hint, 'both prices',
               'the hint says what to fix');
UPDATE trajc.models SET model = NULL WHERE provider = 'offline' AND tier = 'premium';
SELECT is((pg_temp.error_of($$SELECT trajc_compile('mc-1', 'premium')$$)).state, '22004',
          'a NULL model is 22004');
SELECT is((pg_temp.error_of($$SELECT * FROM trajc_estimate(1, 0, 'premium')$$)).state, '22004',
          'estimates check the row too');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'mc-1'), 1::bigint,
          'only the complete row''s compile was logged');

SELECT * FROM finish();
ROLLBACK;
