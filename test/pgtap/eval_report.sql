-- trajc_eval_report over runs written by hand: accuracy per qa_type over the
-- pairs both runs graded, the delta, and the pairs only one got right; and
-- its bad arguments. (test/pgtap/eval.sql runs real evals against the mock.)
--
-- Everything runs in one transaction that is rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(9);

-- Six pairs: factoid 1-3, temporal 4-6.
INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,
                            supporting_turns, qa_type, source_model, trajectory_hash)
SELECT ('00000000-0000-0000-0000-00000000000' || n)::uuid, 'er-1', 'coder', 10, 'q' || n, 'a' || n,
       '[1, 3]', CASE WHEN n <= 3 THEN 'factoid' ELSE 'temporal' END, 'hand', 'h'
  FROM generate_series(1, 6) n;
INSERT INTO trajc.eval_runs (label, provider, model, grader)
VALUES ('er-a', 'openai', 'model-a', 'match'), ('er-b', 'openai', 'model-b', 'match');

-- pair:      1     2     3     4     5     6
-- run a:     ok    ok    no    ok    ok    --   (6 not asked)
-- run b:     ok    no    ok    no    NULL  ok   (5 not graded: a failed request)
-- Both graded: 1, 2, 3 (factoid) and 4 (temporal).
--   factoid:  a 2/3, b 2/3, delta 0, a_only 1 (pair 2), b_only 1 (pair 3)
--   temporal: a 1/1, b 0/1, delta -1, a_only 1 (pair 4), b_only 0
--   total:    a 3/4, b 2/4, delta -0.25, a_only 2, b_only 1
INSERT INTO trajc.eval_answers (run_id, session_id, pair_id, answer, correct, score)
SELECT r.id, p.session_id, p.id, 'x', v.ok, 1
  FROM (VALUES ('er-a', 1, true), ('er-a', 2, true), ('er-a', 3, false), ('er-a', 4, true),
               ('er-a', 5, true),
               ('er-b', 1, true), ('er-b', 2, false), ('er-b', 3, true), ('er-b', 4, false),
               ('er-b', 5, NULL), ('er-b', 6, true)) AS v(label, n, ok)
  JOIN trajc.eval_runs r ON r.label = v.label
  JOIN trajc.qa_pairs p ON p.id = ('00000000-0000-0000-0000-00000000000' || v.n)::uuid;

SELECT results_eq(
  $$SELECT qa_type, pairs, round(accuracy_a::numeric, 4), round(accuracy_b::numeric, 4),
           round(delta::numeric, 4), a_only, b_only FROM trajc_eval_report('er-a', 'er-b')$$,
  $$VALUES ('factoid', 3, 0.6667, 0.6667, 0.0000, 1, 1),
           ('reasoning', 0, NULL, NULL, NULL, 0, 0),
           ('composition', 0, NULL, NULL, NULL, 0, 0),
           ('temporal', 1, 1.0000, 0.0000, -1.0000, 1, 0),
           ('total', 4, 0.7500, 0.5000, -0.2500, 2, 1)$$,
  'two runs: over the pairs both graded, with the flips each way');
SELECT results_eq(
  $$SELECT qa_type, pairs, a_only, b_only FROM trajc_eval_report('er-b', 'er-a') WHERE qa_type = 'total'$$,
  $$VALUES ('total', 4, 1, 2)$$, 'swapping the runs swaps a_only and b_only');
-- One run: every pair it graded (1-5), nothing to compare.
SELECT results_eq(
  $$SELECT qa_type, pairs, round(accuracy_a::numeric, 4), accuracy_b, delta, a_only, b_only
      FROM trajc_eval_report('er-a') WHERE pairs > 0$$,
  $$VALUES ('factoid', 3, 0.6667, NULL::real, NULL::real, NULL::int, NULL::int),
           ('temporal', 2, 1.0000, NULL, NULL, NULL, NULL),
           ('total', 5, 0.8000, NULL, NULL, NULL, NULL)$$,
  'one run: its accuracy over every pair it graded');
SELECT results_eq(
  $$SELECT qa_type, pairs, correct, round(accuracy::numeric, 4) FROM trajc.eval_summary(trajc.eval_run_id('er-b'))
     WHERE pairs > 0$$,
  $$VALUES ('factoid', 3, 2, 0.6667), ('temporal', 2, 1, 0.5000), ('total', 5, 3, 0.6000)$$,
  'the run summary counts graded pairs only (pair 5 of b was not graded)');

SELECT throws_ok($$SELECT * FROM trajc_eval_report('er-none')$$, 'P0002',
  'no eval run labelled "er-none"', 'an unknown label is P0002');
SELECT throws_ok($$SELECT * FROM trajc_eval_report('er-a', 'er-none')$$, 'P0002', NULL,
  'an unknown second label is P0002');
SELECT throws_ok($$SELECT * FROM trajc_eval_report(NULL)$$, '22004', NULL, 'a NULL label is 22004');
SELECT throws_ok($$INSERT INTO trajc.eval_runs (label, provider, model, grader) VALUES ('er-a', 'x', 'y', 'match')$$,
  '23505', NULL, 'labels are unique');
-- A pair deleted later takes its answers with it.
DELETE FROM trajc.qa_pairs WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT is((SELECT pairs FROM trajc_eval_report('er-a', 'er-b') WHERE qa_type = 'total'), 3,
          'answers of a deleted pair are gone from the report');

SELECT * FROM finish();
ROLLBACK;
