-- model_choice.sql: how a compile picks its model from trajc.models and the
-- settings, and what a broken trajc.models row gives: a clear error, never a
-- crash or a silent price of 0. Offline provider (no network); everything in
-- one transaction that is rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
BEGIN;
\ir fixtures/common.sql
SELECT plan(8);

CALL pg_temp.tap_audit_log('mc_audit_log');
CALL pg_temp.tap_add_session('mc_audit_log', 'mc-1');
SET trajc.source = 'mc_audit_log';
SET trajc.provider = 'offline';
SET trajc.model = '';

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
SELECT matches((pg_temp.tap_run($$SELECT trajc_compile('mc-1', 'cheap')$$)).hint, 'both prices',
               'the hint says what to fix');
UPDATE trajc.models SET model = NULL WHERE provider = 'offline' AND tier = 'premium';
SELECT throws_ok($$SELECT trajc_compile('mc-1', 'premium')$$, '22004', NULL, 'a NULL model is 22004');
SELECT throws_ok($$SELECT * FROM trajc_estimate(1, 0, 'premium')$$, '22004', NULL,
                 'estimates check the row too');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id = 'mc-1'), 1::bigint,
          'only the complete row''s compile was logged');

SELECT * FROM finish();
ROLLBACK;
