-- trajc_eval against the mock model server (test/mock/PROTOCOL.md, "Eval
-- prompts"): a candidate that answers right, wrong and not at all, a call
-- that fails, a judge that says yes, no or neither, costs of both, a run
-- resumed by its label, two runs compared with known flips, the procedure
-- form interrupted by a timeout and resumed, and every bad argument.
--
-- The pairs are written by hand so that each question carries the mock's
-- directive for the candidate (mock:answer=N replies with turn N's text).
-- The procedure part needs commits and a second connection (dblink), so the
-- file runs in autocommit mode and removes what it made at the end (and at
-- the start, should an earlier run have stopped half-way). Sessions and
-- labels are prefixed ev-.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\o /dev/null
\ir fixtures/common.sql
SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c = 'ev_proc';
DELETE FROM trajc.eval_runs WHERE label LIKE 'ev-%';
CALL pg_temp.tap_forget('ev-%');
DROP VIEW IF EXISTS ev_view;
DROP TABLE IF EXISTS ev_audit_log;
CALL pg_temp.tap_audit_log('ev_audit_log');
CALL pg_temp.tap_add_session('ev_audit_log', 'ev-1');
CALL pg_temp.tap_add_session('ev_audit_log', 'ev-p');
CALL pg_temp.tap_add_session('ev_audit_log', 'ev-bad');
-- A log whose session ev-bad cannot be read (a value that fails to compute).
CREATE OR REPLACE VIEW ev_view AS
  SELECT id, session_id, created_at, agent, tool, success, arguments,
         CASE WHEN session_id = 'ev-bad' THEN (1 / (length(session_id) - 6))::text ELSE response END
           AS response
    FROM ev_audit_log;
\o
SELECT plan(48);

-- ---------------------------------------------------------------------------
-- Function form.
SET trajc.source = 'ev_audit_log';
SET trajc.provider = 'openai';  -- the judge's provider
SET trajc.max_retries = 0;
SET trajc.judge_model = '';

-- Turn 3 says "TimeoutError after 30s", turn 6 the reviewer's request,
-- turn 8 "3 passed". The answer of p4 is in turn 8, but its first ask fails.
INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,
                            supporting_turns, qa_type, source_model, trajectory_hash)
VALUES ('00000000-0000-0000-0000-0000000000e1', 'ev-1', 'coder', 10,
        'What did the first test run report? mock:answer=3', 'TimeoutError after 30s',
        '[1, 3]', 'factoid', 'hand', 'h'),
       ('00000000-0000-0000-0000-0000000000e2', 'ev-1', 'coder', 10,
        'What did the reviewer ask for? mock:answer_wrong=6', 'Check the off-by-one in the read loop.',
        '[4, 6]', 'reasoning', 'hand', 'h'),
       ('00000000-0000-0000-0000-0000000000e3', 'ev-1', 'coder', 10,
        'When did the tests pass? mock:answer_none', 'At turn 8.', '[5, 8]', 'temporal', 'hand', 'h'),
       ('00000000-0000-0000-0000-0000000000e4', 'ev-1', 'coder', 10,
        'What did the last test run report? mock:status=500', '3 passed', '[3, 8]', 'composition',
        'hand', 'h');

-- gpt-5-mini is openai's cheap model in trajc.models: 0.25 / 2.00 USD per
-- million tokens in / out.
CREATE TEMP TABLE ev_first AS
  SELECT * FROM trajc_eval('ev-match', 'openai', 'gpt-5-mini', 0, NULL, 'match');
SELECT results_eq($$SELECT qa_type, pairs, correct, round(accuracy::numeric, 4) FROM ev_first$$,
  $$VALUES ('factoid', 1, 1, 1.0000), ('reasoning', 1, 0, 0.0000), ('composition', 0, 0, NULL),
           ('temporal', 1, 0, 0.0000), ('total', 3, 1, 0.3333)$$,
  'match: right, wrong and no answer graded; the failed call is not');
SELECT ok((SELECT correct AND score = 1 AND answer LIKE '%TimeoutError after 30s%'
             AND judge_reason = 'match: contains the reference'
             FROM trajc.eval_answers WHERE pair_id = '00000000-0000-0000-0000-0000000000e1'),
          'a right answer: it contains the reference (score 1)');
SELECT results_eq($$SELECT answer, correct, judge_reason FROM trajc.eval_answers
                     WHERE pair_id = '00000000-0000-0000-0000-0000000000e2'$$,
  $$VALUES ('It was the banana service, at turn 99.', false, 'match: token F1 < 0.5')$$,
  'a wrong answer is stored and graded wrong');
SELECT results_eq($$SELECT answer, correct, score, judge_reason FROM trajc.eval_answers
                     WHERE pair_id = '00000000-0000-0000-0000-0000000000e3'$$,
  $$VALUES ('unknown', false, 0::real, 'no answer')$$, 'no answer is wrong');
SELECT ok((SELECT answer IS NULL AND correct IS NULL AND score IS NULL
             AND judge_reason LIKE 'candidate call failed: %mock error 500%'
             FROM trajc.eval_answers WHERE pair_id = '00000000-0000-0000-0000-0000000000e4'),
          'a failed call: no answer, not graded, the reason kept');
SELECT ok((SELECT bool_and(a.tokens_in > 0 AND a.tokens_out > 0
                           AND a.cost_usd = (a.tokens_in * 0.25 + a.tokens_out * 2.00) / 1e6
                           AND a.judge_cost_usd = 0)
             FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
            WHERE r.label = 'ev-match' AND a.correct IS NOT NULL),
          'each answer''s cost is its tokens at the candidate''s prices');
SELECT results_eq(
  $$SELECT provider, model, grader, judge_model, pairs, correct,
           cost_usd = (SELECT sum(cost_usd + judge_cost_usd) FROM trajc.eval_answers a WHERE a.run_id = r.id),
           finished_at IS NULL
      FROM trajc.eval_runs r WHERE label = 'ev-match'$$,
  $$VALUES ('openai', 'gpt-5-mini', 'match', NULL::text, 3, 1, true, true)$$,
  'the run row: candidate, grader, totals; not finished while a pair is ungraded');
SELECT is((SELECT cost_usd FROM ev_first WHERE qa_type = 'total'),
          (SELECT cost_usd FROM trajc.eval_runs WHERE label = 'ev-match'),
          'trajc_eval''s total cost is the run''s');

-- Resume: the same label asks only the pair not graded yet.
CREATE TEMP TABLE ev_before AS
  SELECT pair_id, answered_at, tokens_in FROM trajc.eval_answers a
    JOIN trajc.eval_runs r ON r.id = a.run_id WHERE r.label = 'ev-match';
UPDATE trajc.qa_pairs SET question = 'What did the last test run report? mock:answer=8'
 WHERE id = '00000000-0000-0000-0000-0000000000e4';
SELECT results_eq(
  $$SELECT qa_type, pairs, correct FROM trajc_eval('ev-match', 'openai', 'gpt-5-mini', 0, NULL, 'match')
     WHERE qa_type IN ('composition', 'total')$$,
  $$VALUES ('composition', 1, 1), ('total', 4, 2)$$,
  'resumed: the failed pair is asked again and right this time');
-- A pair asked again adds its new call's tokens to its row.
SELECT is((SELECT count(*)::int FROM ev_before b JOIN trajc.eval_answers a USING (pair_id)
            JOIN trajc.eval_runs r ON r.id = a.run_id AND r.label = 'ev-match'
           WHERE b.pair_id <> '00000000-0000-0000-0000-0000000000e4' AND a.tokens_in = b.tokens_in), 3,
          'resumed: the three graded pairs were not asked again');
SELECT ok((SELECT finished_at IS NOT NULL AND pairs = 4 AND correct = 2
             FROM trajc.eval_runs WHERE label = 'ev-match'),
          'resumed: every pair graded, the run is finished');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-match', 'openai', 'gpt-5', 0, NULL, 'match')$$,
  '22023', NULL, 'resuming with another model is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-match', 'openai', 'gpt-5-mini', 2, NULL, 'match')$$,
  '22023', NULL, 'resuming with another "limit" is 22023');

-- The judge. trajc.judge_model set: grader auto judges.
SET trajc.judge_model = 'mock:judge_yes';
SELECT results_eq(
  $$SELECT pairs, correct FROM trajc_eval('ev-judge-yes', 'openai', 'gpt-5-mini', 0, 'reasoning')
     WHERE qa_type = 'total'$$,
  $$VALUES (1, 1)$$, 'judge yes: the wrong answer is graded right (auto with trajc.judge_model)');
SELECT ok((SELECT grader = 'judge' AND judge_model = 'mock:judge_yes' FROM trajc.eval_runs
            WHERE label = 'ev-judge-yes'), 'the run records the judge');
SELECT ok((SELECT a.judge_reason = 'judge mock:judge_yes: yes' AND a.score = 1
                  AND a.judge_tokens_in > 0  -- (a "yes" is 0 output tokens to the mock)
             FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
            WHERE r.label = 'ev-judge-yes'),
          'the judge''s verdict and tokens are stored');
SET trajc.judge_model = 'mock:judge_no';
SELECT results_eq(
  $$SELECT pairs, correct FROM trajc_eval('ev-judge-no', 'openai', 'gpt-5-mini', 0, 'factoid', 'judge')
     WHERE qa_type = 'total'$$,
  $$VALUES (1, 0)$$, 'judge no: the right answer is graded wrong');
SET trajc.judge_model = 'mock:judge_garbled';
SELECT results_eq(
  $$SELECT pairs, correct FROM trajc_eval('ev-judge-garbled', 'openai', 'gpt-5-mini', 0, 'factoid', 'judge')
     WHERE qa_type = 'total'$$,
  $$VALUES (0, 0)$$, 'a judge reply that is neither yes nor no leaves the pair ungraded');
SELECT ok((SELECT a.correct IS NULL AND a.answer LIKE '%TimeoutError%'
                  AND a.judge_reason LIKE 'judge reply was neither yes nor no: Perhaps%'
             FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
            WHERE r.label = 'ev-judge-garbled'), '... with the answer and the reason kept');
-- No judge model: the judge tier's, at its prices; the mock judges by
-- containment.
SET trajc.judge_model = '';
SET trajc.judge_tier = 'standard';
SELECT results_eq(
  $$SELECT qa_type, pairs, correct FROM trajc_eval('ev-judge-tier', 'openai', 'gpt-5-mini', 0, NULL, 'judge')
     WHERE qa_type = 'total'$$,
  $$VALUES ('total', 4, 2)$$, 'grader judge without trajc.judge_model: the tier''s model judges');
SELECT ok((SELECT r.judge_model = 'gpt-5'
                  AND bool_and(a.judge_cost_usd = (a.judge_tokens_in * 1.25 + a.judge_tokens_out * 10.00) / 1e6)
                  AND bool_and(a.judge_tokens_in > 0) FILTER (WHERE a.answer <> 'unknown')
                  AND r.cost_usd = sum(a.cost_usd + a.judge_cost_usd)
             FROM trajc.eval_runs r JOIN trajc.eval_answers a ON a.run_id = r.id
            WHERE r.label = 'ev-judge-tier' GROUP BY r.id),
          'the judge''s cost is its tokens at gpt-5''s prices, added to the run''s');
SELECT is((SELECT judge_tokens_in FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
            WHERE r.label = 'ev-judge-tier' AND a.pair_id = '00000000-0000-0000-0000-0000000000e3'),
          0::bigint, 'no answer: the judge is not asked');
SELECT lives_ok($$SELECT * FROM trajc_eval('ev-auto-match', 'openai', 'gpt-5-mini', 1)$$,
                'grader auto without trajc.judge_model ...');
SELECT is((SELECT grader || ' ' || pairs FROM trajc.eval_runs WHERE label = 'ev-auto-match'),
          'match 1', '... grades by match ("limit" 1: one pair)');

-- Two runs, known flips: mock:flip swaps right and wrong for answer=N and
-- answer_wrong=N. e1 right -> wrong, e2 wrong -> right, e4 right -> wrong,
-- e3 no answer in both.
SELECT lives_ok($$SELECT * FROM trajc_eval('ev-b', 'openai', 'mock:flip', 0, NULL, 'match')$$,
                'a second run with a candidate that flips');
SELECT results_eq(
  $$SELECT qa_type, pairs, round(accuracy_a::numeric, 4), round(accuracy_b::numeric, 4), a_only, b_only
      FROM trajc_eval_report('ev-match', 'ev-b')$$,
  $$VALUES ('factoid', 1, 1.0000, 0.0000, 1, 0), ('reasoning', 1, 0.0000, 1.0000, 0, 1),
           ('composition', 1, 1.0000, 0.0000, 1, 0), ('temporal', 1, 0.0000, 0.0000, 0, 0),
           ('total', 4, 0.5000, 0.2500, 2, 1)$$,
  'the report shows the flips each way');

-- A session that cannot be read fails its own pairs only.
INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,
                            supporting_turns, qa_type, source_model, trajectory_hash)
VALUES ('00000000-0000-0000-0000-0000000000e5', 'ev-bad', 'coder', 10,
        'What did the first test run report? mock:answer=3', 'TimeoutError after 30s',
        '[1, 3]', 'factoid', 'hand', 'h');
SET trajc.source = 'ev_view';
SELECT results_eq(
  $$SELECT pairs, correct FROM trajc_eval('ev-unreadable', 'openai', 'gpt-5-mini', 0, NULL, 'match')
     WHERE qa_type = 'total'$$,
  $$VALUES (4, 2)$$, 'an unreadable session: the other pairs are still graded');
SELECT ok((SELECT a.correct IS NULL AND a.judge_reason LIKE 'not asked: reading the session failed: division by zero%'
             FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
            WHERE r.label = 'ev-unreadable' AND a.pair_id = '00000000-0000-0000-0000-0000000000e5'),
          '... and its own pair is stored ungraded with the reason');
SET trajc.source = 'ev_audit_log';
DELETE FROM trajc.qa_pairs WHERE id = '00000000-0000-0000-0000-0000000000e5';

-- Bad arguments.
SELECT throws_ok($$SELECT * FROM trajc_eval(NULL)$$, '22004', 'label must not be NULL',
                 'a NULL label is 22004');
SELECT throws_ok($$SELECT * FROM trajc_eval('', 'openai', 'gpt-5-mini')$$, '22023', NULL,
                 'an empty label is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'openai', 'gpt-5-mini', -1)$$, '22023', NULL,
                 'a negative "limit" is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'openai', 'gpt-5-mini', NULL)$$, '22023', NULL,
                 'a NULL "limit" is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'openai', 'gpt-5-mini', 0, 'trivia')$$, '22023',
                 'unknown qa_type "trivia"', 'an unknown qa_type is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'openai', 'gpt-5-mini', 0, NULL, 'vibes')$$, '22023',
                 'unknown grader "vibes"', 'an unknown grader is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'nope', 'm')$$, '22023', NULL,
                 'an unknown provider is 22023');
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'offline')$$, '22023',
                 'the offline provider compiles pairs; it cannot answer questions',
                 'the offline provider cannot be a candidate (22023)');
SET trajc.provider = 'offline';
SELECT throws_ok($$SELECT * FROM trajc_eval('ev-x', 'openai', 'gpt-5-mini', 0, NULL, 'judge')$$, '22023',
                 'the judge needs a model, but trajc.provider is offline', 'no judge model is 22023');
SELECT throws_ok($$SET trajc.judge_tier = 'luxury'$$, '22023', NULL, 'an unknown judge tier is 22023');

-- Privileges: the functions reach the network.
SELECT ok(NOT has_function_privilege('public', 'trajc_eval(text, text, text, int, text, text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'trajc_eval_pending(text, text, text, int, text, text)', 'EXECUTE'),
          'trajc_eval and trajc_eval_pending are revoked from PUBLIC');
RESET trajc.provider;
RESET trajc.judge_model;
RESET trajc.judge_tier;
DELETE FROM trajc.eval_runs WHERE label LIKE 'ev-%';
DELETE FROM trajc.qa_pairs WHERE session_id = 'ev-1';

-- ---------------------------------------------------------------------------
-- The procedure form: commits each answer, so a run stopped by a timeout
-- keeps what it has, and the same CALL resumes it. q2's candidate hangs.
INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,
                            supporting_turns, qa_type, source_model, trajectory_hash)
VALUES ('00000000-0000-0000-0000-0000000000f1', 'ev-p', 'coder', 10,
        'What did the first test run report? mock:answer=3', 'TimeoutError after 30s', '[1, 3]',
        'factoid', 'hand', 'h'),
       ('00000000-0000-0000-0000-0000000000f2', 'ev-p', 'coder', 10,
        'What did the reviewer ask for? mock:hang', 'Check the off-by-one in the read loop.', '[4, 6]',
        'reasoning', 'hand', 'h'),
       ('00000000-0000-0000-0000-0000000000f3', 'ev-p', 'coder', 10,
        'What did the last test run report? mock:answer=8', '3 passed', '[3, 8]', 'factoid', 'hand', 'h');
SELECT is(pg_temp.tap_connect('ev_proc'), 'OK', 'a second connection for the procedure');
SELECT dblink_exec('ev_proc', $$SET trajc.source = 'ev_audit_log'$$);
SELECT dblink_exec('ev_proc', $$SET trajc.max_retries = 0$$);
SELECT dblink_exec('ev_proc', $$SET statement_timeout = '2s'$$);
CREATE TEMP TABLE ev_interrupted AS
  SELECT * FROM pg_temp.tap_run($$SELECT dblink_exec('ev_proc', 'CALL trajc_eval_pending(''ev-proc'', ''openai'', ''gpt-5-mini'')')$$);
SELECT alike((SELECT message FROM ev_interrupted), '%statement timeout%',
            'the CALL is stopped by statement_timeout while a candidate hangs');
SELECT results_eq($$SELECT a.pair_id, a.correct FROM trajc.eval_answers a
                     JOIN trajc.eval_runs r ON r.id = a.run_id WHERE r.label = 'ev-proc' ORDER BY 1$$,
  $$VALUES ('00000000-0000-0000-0000-0000000000f1'::uuid, true),
           ('00000000-0000-0000-0000-0000000000f3'::uuid, true)$$,
  'the answers that came before the timeout were committed');
SELECT ok((SELECT finished_at IS NULL AND pairs = 2 FROM trajc.eval_runs WHERE label = 'ev-proc'),
          'the interrupted run is not finished');
CREATE TEMP TABLE ev_kept AS
  SELECT pair_id, answered_at FROM trajc.eval_answers a JOIN trajc.eval_runs r ON r.id = a.run_id
   WHERE r.label = 'ev-proc';
UPDATE trajc.qa_pairs SET question = 'What did the reviewer ask for? mock:answer=6'
 WHERE id = '00000000-0000-0000-0000-0000000000f2';
SELECT dblink_exec('ev_proc', $$SET statement_timeout = 0$$);
SELECT is(dblink_exec('ev_proc', $$CALL trajc_eval_pending('ev-proc', 'openai', 'gpt-5-mini')$$),
          'CALL', 'the same CALL resumes the run');
SELECT ok((SELECT finished_at IS NOT NULL AND pairs = 3 AND correct = 3
             FROM trajc.eval_runs WHERE label = 'ev-proc'),
          'resumed: the hung pair is answered, the run finished');
SELECT is((SELECT count(*)::int FROM ev_kept k JOIN trajc.eval_answers a USING (pair_id, answered_at)),
          2, 'resumed: the committed answers were not asked again');
-- One label runs in one session at a time: this transaction's trajc_eval
-- holds the run until it ends.
BEGIN;
SELECT results_eq($$SELECT pairs, correct FROM trajc_eval('ev-proc', 'openai', 'gpt-5-mini')
                     WHERE qa_type = 'total'$$,
                  $$VALUES (3, 3)$$, 'a finished run called again asks nothing');
SELECT is((SELECT state FROM pg_temp.tap_run($$SELECT dblink_exec('ev_proc', 'CALL trajc_eval_pending(''ev-proc'', ''openai'', ''gpt-5-mini'')')$$)),
          '55P03', 'meanwhile another session''s CALL of the same label is refused (55P03)');
COMMIT;

SELECT dblink_disconnect('ev_proc');
DELETE FROM trajc.eval_runs WHERE label LIKE 'ev-%';
DELETE FROM trajc.qa_pairs WHERE session_id LIKE 'ev-%';
DROP VIEW ev_view;
DROP TABLE ev_audit_log;
RESET trajc.source;
RESET trajc.max_retries;
SELECT * FROM finish();
