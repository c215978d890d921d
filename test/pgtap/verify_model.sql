-- trajc.verify = 'model' end to end against the mock model server
-- (test/mock/PROTOCOL.md, "Verifier prompts"): supported pairs kept with
-- verified_by naming the verifier model on every vendor; verdicts injected
-- through the verifier's model name (unsupported, one turn suffices,
-- answerable without the log, garbled) rejected or failing the session; the
-- verifier's tokens and cost in compile_log and the pairs' cost_usd, worked
-- out by hand from the mock's usage figures and trajc.models' prices; a
-- failed verifier call failing the session with nothing stored; provider
-- batch mode refusing to verify with a model; trajc_verify() on stored pairs;
-- the verifier in trajc_estimate and under trajc.max_cost_usd (issue 17).
--
-- One transaction, rolled back: nothing here commits.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(40);

CALL pg_temp.tap_audit_log('vm_audit_log');
SET trajc.source = 'vm_audit_log';
SET trajc.provider = 'gemini';
SET trajc.tier = 'cheap';           -- gemini-2.5-flash: 0.30 / 2.50 per Mtok
SET trajc.model = '';
SET trajc.max_retries = 0;
SET trajc.verify_model = '';
SET trajc.verify_tier = 'standard';  -- gemini-2.5-pro: 1.25 / 10.00 per Mtok
CALL pg_temp.tap_add_session('vm_audit_log', 'vm-a');
CALL pg_temp.tap_add_session('vm_audit_log', 'vm-b', base => '2026-03-02 10:00:00+00');
CALL pg_temp.tap_add_session('vm_audit_log', 'vm-c', 'mock:ungrounded', base => '2026-03-03 10:00:00+00');
CALL pg_temp.tap_add_session('vm_audit_log', 'vm-f', base => '2026-03-04 10:00:00+00');

-- ---------------------------------------------------------------------------
-- Literal first, then the same session verified by the model: the second
-- log row is the first plus the verifier's call.
SET trajc.verify = 'literal';
SELECT is((SELECT concat_ws('/', status, pairs) FROM trajc_compile_session('vm-a')), 'ok/2',
          'literal: two pairs');
CREATE TEMP TABLE vm_literal AS SELECT * FROM pg_temp.tap_last_log('vm-a');
SET trajc.verify = 'model';
SELECT is((SELECT concat_ws('/', status, pairs, rejected) FROM trajc_compile_session('vm-a')), 'ok/2/0',
          'model: the mock verifier supports both pairs');
CREATE TEMP TABLE vm_model AS SELECT * FROM pg_temp.tap_last_log('vm-a');
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc.qa_pairs
            WHERE session_id = 'vm-a' AND compile_id = (SELECT id FROM vm_model)),
          ARRAY['gemini-2.5-pro'], 'verified_by names the verifier model of trajc.verify_tier');
SELECT is((SELECT model FROM vm_model), 'gemini-2.5-flash', 'the log row keeps the compile model');
SELECT ok((SELECT m.tokens_in > l.tokens_in FROM vm_model m, vm_literal l),
          'the verifier''s input tokens are added');
-- The mock replies with one verdict per pair; its output tokens are the
-- reply's characters / 4, plus Gemini's 7 thought tokens.
SELECT is((SELECT m.tokens_out - l.tokens_out FROM vm_model m, vm_literal l),
          (length('{"verdicts": [{"pair": 1, "supported": true, "needs_multiple_turns": true, '
                  '"answerable_without_log": false, "reason": "The cited turns give every part of the answer."}, '
                  '{"pair": 2, "supported": true, "needs_multiple_turns": true, '
                  '"answerable_without_log": false, "reason": "The cited turns give every part of the answer."}]}')
           / 4 + 7)::bigint,
          'the verifier''s output tokens are added (324 chars / 4 + 7)');
SELECT is((SELECT round(m.cost_usd - l.cost_usd, 12) FROM vm_model m, vm_literal l),
          (SELECT round(((m.tokens_in - l.tokens_in) * 1.25 + (m.tokens_out - l.tokens_out) * 10.00) / 1e6, 12)
             FROM vm_model m, vm_literal l),
          'the verifier''s cost, at gemini-2.5-pro''s prices, is added to the log row');
SELECT is((SELECT round(cost_usd, 12) FROM vm_literal),
          (SELECT round((tokens_in * 0.30 + tokens_out * 2.50) / 1e6, 12) FROM vm_literal),
          'the compile call alone is at gemini-2.5-flash''s prices');
SELECT is((SELECT array_agg(DISTINCT round(cost_usd, 12)) FROM trajc.qa_pairs
            WHERE compile_id = (SELECT id FROM vm_model)),
          ARRAY[(SELECT round(cost_usd / 2, 12) FROM vm_model)],
          'each pair''s cost_usd is its share of both calls');

-- ---------------------------------------------------------------------------
-- trajc_estimate counts the verifier (issue 17): per session, an upper bound
-- of its prompt (5 pairs, each citing every turn) at gemini-2.5-pro's input
-- price, and 64 tokens a verdict for 5 verdicts at its output price.
SET trajc.verify = 'literal';
CREATE TEMP TABLE vm_est_literal AS SELECT * FROM trajc_estimate(1, 100);
SET trajc.verify = 'model';
CREATE TEMP TABLE vm_est_model AS SELECT * FROM trajc_estimate(1, 100);
SELECT is((SELECT m.sessions || ': ' || round(m.cost_usd - l.cost_usd, 9) FROM vm_est_model m, vm_est_literal l),
          (SELECT '4: ' || round(((m.tokens_in - l.tokens_in) * p.usd_per_mtok_in
                                 + 4 * 5 * 64 * p.usd_per_mtok_out) / 1e6, 9)
             FROM vm_est_model m, vm_est_literal l, trajc.models p
            WHERE p.provider = 'gemini' AND p.tier = 'standard'),
          'verify = model adds the verifier''s part, for each of the 4 sessions, at the verifier model''s prices');
SELECT ok((SELECT m.tokens_in - l.tokens_in FROM vm_est_model m, vm_est_literal l)
            >= 4 * (SELECT m.tokens_in - l.tokens_in FROM vm_model m, vm_literal l),
          'its input tokens bound what a verifier call really took, for each session');

-- ---------------------------------------------------------------------------
-- Wrong verdicts, injected through the verifier's model name.
SET trajc.verify_model = 'mock:verdict_unsupported';
SELECT is((SELECT concat_ws('/', status, pairs, rejected) FROM trajc_compile_session('vm-b')), 'empty/0/2',
          'every pair unsupported: none kept');
SELECT is((pg_temp.tap_last_log('vm-b')).rejected_reasons, '{"unsupported": 2}'::jsonb,
          'counted as unsupported in rejected_reasons');
SELECT is((pg_temp.tap_last_log('vm-b')).pairs_rejected, 2, 'and in pairs_rejected');
SET trajc.verify_model = 'mock:verdict_unsupported=2';
SELECT is((SELECT concat_ws('/', status, pairs, rejected) FROM trajc_compile_session('vm-b')), 'ok/1/1',
          'pair 2 unsupported: pair 1 kept');
SELECT is((SELECT supporting_turns FROM trajc.qa_pairs
            WHERE compile_id = (pg_temp.tap_last_log('vm-b')).id),
          '[1, 3]'::jsonb, 'the kept pair is the first');
SELECT is((SELECT verified_by FROM trajc.qa_pairs WHERE compile_id = (pg_temp.tap_last_log('vm-b')).id),
          'mock:verdict_unsupported=2', 'verified_by names trajc.verify_model');
SET trajc.verify_model = 'mock:verdict_single';
SELECT is((SELECT rejected FROM trajc_compile_session('vm-b')), 2,
          'a pair one cited turn answers is unsupported');
SET trajc.verify_model = 'mock:verdict_trivial';
SELECT is((SELECT rejected FROM trajc_compile_session('vm-b')), 2,
          'a pair answerable without the log is unsupported');
SET trajc.verify_model = '';
SELECT is((SELECT concat_ws('/', pairs, rejected) FROM trajc_compile_session('vm-c')), '2/1',
          'a literally ungrounded pair is rejected before the verifier');
SELECT is((pg_temp.tap_last_log('vm-c')).rejected_reasons, '{"ungrounded": 1}'::jsonb,
          'and counted as ungrounded, not unsupported');

-- ---------------------------------------------------------------------------
-- A failed verifier call fails the session: nothing stored.
SET trajc.verify_model = 'mock:status=500';
SELECT is((SELECT concat_ws('/', status, pairs) FROM trajc_compile_session('vm-f')), 'failed/0',
          'a verifier HTTP 500 fails the session');
SELECT matches((pg_temp.tap_last_log('vm-f')).error, '^verifier: gemini HTTP 500',
               'its error names the verifier');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'vm-f'), 0::bigint,
          'no pair of the session is stored');
SELECT ok((pg_temp.tap_last_log('vm-f')).cost_usd > 0, 'the compile call is still paid for');
SET trajc.verify_model = 'mock:verdict_garbled';
SELECT is((SELECT concat_ws('/', status, left(error, 44)) FROM trajc_compile_session('vm-f')),
          'failed/verifier: the verifier''s reply is not usable',
          'a verdict that is not well typed fails the session');
SET trajc.verify_model = '';

-- ---------------------------------------------------------------------------
-- Every vendor, and batch mode.
SET trajc.provider = 'openai';
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc_compile('vm-a')), ARRAY['gpt-5'],
          'openai: verified by its standard model');
SET trajc.provider = 'anthropic';
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc_compile('vm-a')), ARRAY['claude-sonnet-4-5'],
          'anthropic: verified by its standard model');
SET trajc.provider = 'gemini';
SELECT throws_ok($$CALL trajc_batch_submit(1, 10)$$, '0A000', NULL,
                 'provider batch mode refuses to verify with a model');

-- ---------------------------------------------------------------------------
-- trajc_verify() on stored pairs.
SET trajc.verify = 'literal';
DELETE FROM trajc.qa_pairs WHERE session_id LIKE 'vm-%';
SELECT is((SELECT count(*) FROM trajc_compile('vm-a')), 2::bigint, 'vm-a compiled, literally verified');
SET trajc.verify = 'off';
SELECT is((SELECT count(*) FROM trajc_compile('vm-c')), 3::bigint, 'vm-c compiled unverified, 3 pairs');
SELECT is((SELECT array_agg(verdict ORDER BY verdict) FROM trajc_verify('vm-c')),
          ARRAY['supported', 'supported', 'ungrounded'], 'the literal check runs first');
SELECT is((SELECT array_agg(verified_by ORDER BY verified_by) FROM trajc.qa_pairs WHERE session_id = 'vm-c'),
          ARRAY['gemini-2.5-pro', 'gemini-2.5-pro', NULL], 'verified_by filled for the supported pairs only');
SET trajc.verify_model = 'mock:verdict_unsupported=1';
SELECT is((SELECT array_agg((verdict, reason LIKE 'the cited turns do not fully support%')::text ORDER BY verdict)
             FROM trajc_verify('vm-a')),
          ARRAY['(supported,f)', '(unsupported,t)'], 'an unsupported pair is reported with its reason');
SELECT is((SELECT concat_ws('/', count(*), count(verified_by)) FROM trajc.qa_pairs WHERE session_id = 'vm-a'),
          '2/1', 'nothing is deleted; the unsupported pair is no longer verified');
SELECT is((SELECT count(*) FROM trajc_verify('vm-a', 'premium')), 2::bigint,
          'the tier argument is accepted');
-- The log grows after the compile: its pairs are no longer grounded in it.
INSERT INTO vm_audit_log (session_id, created_at, agent, tool, success, arguments, response)
  VALUES ('vm-a', '2026-03-01 11:00:00+00', 'coder', 'shell', true, '{}', 'late turn');
SELECT is((SELECT array_agg(DISTINCT verdict || ': ' || left(reason, 25)) FROM trajc_verify('vm-a')),
          ARRAY['ungrounded: the session''s log changed'], 'a changed log makes every pair ungrounded');
SELECT is((SELECT count(*) FROM trajc_verify() v JOIN trajc.qa_pairs p ON p.id = v.pair_id
            WHERE p.session_id LIKE 'vm-%'), 5::bigint, 'NULL session: every stored pair');
SELECT ok(NOT has_function_privilege('public', 'trajc_verify(text, text)', 'EXECUTE'),
          'PUBLIC cannot run trajc_verify');

-- ---------------------------------------------------------------------------
-- A budget with model verification (issue 17): sixteen sessions, a verifier
-- far dearer than the compile (made so for this test: about $0.42 a call),
-- a budget of 1.05 sessions' estimates (about $4.5, the verifier's bound
-- being about ten times its real call here). The verifier is reserved at
-- admission, so the run stops before passing the budget; counting the
-- compile alone, all sixteen would start and their verifier calls pass it
-- (about $6.7).
SET trajc.verify = 'model';
SET trajc.verify_model = '';
SET trajc.verify_tier = 'premium';
UPDATE trajc.models SET usd_per_mtok_in = 1000, usd_per_mtok_out = 0
 WHERE provider = 'gemini' AND tier = 'premium';
CALL pg_temp.tap_audit_log('vb_audit_log');
DO $$
BEGIN
  FOR i IN 1..16 LOOP
    CALL pg_temp.tap_add_session('vb_audit_log', 'vb-' || i, base => '2026-04-01 10:00:00+00'::timestamptz + i * interval '1 day');
  END LOOP;
END $$;
SET trajc.source = 'vb_audit_log';
SELECT set_config('trajc.max_cost_usd', (SELECT round(cost_usd / sessions * 1.05, 6)::text FROM trajc_estimate(1, 100)), true);
CREATE TEMP TABLE vb_run AS SELECT * FROM trajc_compile_batch(1, 100, NULL, true);
-- One assertion: the run compiled what fits, skipped the rest as over
-- budget (for the next run), stored pairs only of verified sessions, and
-- spent no more than trajc.max_cost_usd (compile_log sums, verifier calls
-- included).
SELECT is((SELECT concat_ws('/', count(*) FILTER (WHERE status = 'ok') >= 1,
                           count(*) FILTER (WHERE status = 'skipped'
                                              AND error = 'not started: trajc.max_cost_usd reached') >= 1,
                           count(*) FILTER (WHERE status NOT IN ('ok', 'skipped')) = 0,
                           sum(cost_usd) <= current_setting('trajc.max_cost_usd')::numeric)
             FROM trajc.compile_log WHERE session_id LIKE 'vb-%')
          || '/' || (SELECT count(*) FROM vb_run) || '/'
          || (SELECT count(*) FROM trajc.qa_pairs p JOIN trajc.compile_log l ON l.id = p.compile_id
               WHERE p.session_id LIKE 'vb-%' AND l.status <> 'ok'),
          't/t/t/t/16/0',
          'a budgeted run with model verification stops within trajc.max_cost_usd');

SELECT * FROM finish();
ROLLBACK;
