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

-- The hint of the error a statement raises.
CREATE FUNCTION pg_temp.hint_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE hint text;
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RETURN hint;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM trajc_compile('mc-1', 'standard')), '>', 0::bigint,
              'a complete trajc.models row compiles');
SELECT is((SELECT source_model FROM trajc.qa_pairs WHERE session_id = 'mc-1' LIMIT 1), 'offline',
          'the tier''s model is recorded');

SELECT throws_ok($$SELECT trajc_compile('mc-1', 'deluxe')$$, '22023', NULL, 'an unknown tier is 22023');

-- trajc.models' NOT NULL constraints are the owner's to drop; a NULL that
-- gets in must stop the compile with 22004, not crash the backend (model)
-- or price the calls at 0 (prices).
ALTER TABLE trajc.models ALTER COLUMN model DROP NOT NULL,
                         ALTER COLUMN usd_per_mtok_in DROP NOT NULL;
UPDATE trajc.models SET usd_per_mtok_in = NULL WHERE provider = 'offline' AND tier = 'cheap';
SELECT throws_ok($$SELECT trajc_compile('mc-1', 'cheap')$$, '22004',
                 'trajc.models has a NULL model or price for offline "cheap"',
                 'a NULL price is 22004 naming the row');
SELECT matches(pg_temp.hint_of($$SELECT trajc_compile('mc-1', 'cheap')$$), 'both prices',
               'the hint says what to fix');
UPDATE trajc.models SET model = NULL WHERE provider = 'offline' AND tier = 'premium';
SELECT throws_ok($$SELECT trajc_compile('mc-1', 'premium')$$, '22004', NULL, 'a NULL model is 22004');
SELECT throws_ok($$SELECT * FROM trajc_estimate(1, 0, 'premium')$$, '22004', NULL,
                 'estimates check the row too');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'mc-1'), 1::bigint,
          'only the complete row''s compile was logged');

SELECT * FROM finish();
ROLLBACK;
