-- Recall: trajc_recall, trajc_recall_report and trajc_retrieve against
-- values computed by hand (the arithmetic is written next to each check),
-- and every bad argument with its SQLSTATE. Definitions: docs/eval-recall.md.
--
-- Everything runs in one transaction that is rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(47);

-- ---------------------------------------------------------------------------
-- One 8-turn session, plus a 9th turn logged after the pairs were compiled
-- (the baselines must not see it). Sessions are prefixed rc- (this file).
CREATE TABLE rc_audit_log (
  id         bigserial PRIMARY KEY,
  session_id text        NOT NULL,
  created_at timestamptz NOT NULL,
  agent      text,
  response   text
);
INSERT INTO rc_audit_log (session_id, created_at, agent, response)
SELECT 'rc-1', timestamptz '2026-04-01 10:00' + n * interval '1 minute', 'coder', response
  FROM (VALUES (1, 'started the session'),
               (2, 'deploy of the parser finished'),
               (3, 'reading documentation'),
               (4, 'lunch break'),
               (5, 'tool lint failed'),
               (6, 'nothing happened'),
               (7, 'the parser tool failed again'),
               (8, 'done for today'),
               (9, 'parser tool failed at deploy, logged later')) AS r(n, response);
SET trajc.source = 'rc_audit_log';

-- Pairs written by hand: A reasoning [2, 5, 7], B factoid [1, 3], C a
-- question of stop words only. All three cite the 8 turns compiled.
INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,
                            supporting_turns, qa_type, source_model, trajectory_hash)
VALUES ('00000000-0000-0000-0000-00000000000a', 'rc-1', 'coder', 8,
        'Which tool failed after the parser deploy?', 'lint, then the parser tool',
        '[2, 5, 7]', 'reasoning', 'hand', 'h'),
       ('00000000-0000-0000-0000-00000000000b', 'rc-1', 'coder', 8,
        'What came first?', 'the session start', '[1, 3]', 'factoid', 'hand', 'h'),
       ('00000000-0000-0000-0000-00000000000c', 'rc-1', 'coder', 8,
        'Which was it?', 'it', '[4, 6]', 'composition', 'hand', 'h');

CREATE FUNCTION rc_metrics(retrieved int[], k int) RETURNS TABLE(
    recall numeric, recall_all boolean, recall_any boolean, "precision" numeric, ndcg numeric)
  LANGUAGE sql AS $$
    SELECT round(r.recall::numeric, 5), r.recall_all, r.recall_any,
           round(r."precision"::numeric, 5), round(r.ndcg::numeric, 5)
      FROM trajc_recall('00000000-0000-0000-0000-00000000000a', retrieved, k) r
  $$;

-- ---------------------------------------------------------------------------
-- trajc_recall against A's supporting turns {2, 5, 7}.
-- IDCG for 3 relevant turns: 1/log2(2) + 1/log2(3) + 1/log2(4)
--                          = 1 + 0.6309298 + 0.5 = 2.1309298.
-- [5, 1, 2, 9, 7], k = 3: top 3 = 5, 1, 2; hits 5 at 1 and 2 at 3.
--   recall 2/3, precision 2/3, DCG 1 + 1/log2(4) = 1.5, nDCG 1.5 / 2.1309298.
SELECT results_eq($$SELECT * FROM rc_metrics('{5,1,2,9,7}', 3)$$,
  $$VALUES (0.66667, false, true, 0.66667, 0.70392)$$,
  'k = 3: two of three supporting turns, at positions 1 and 3');
-- k = 5: all three hit, 7 at position 5: DCG 1.5 + 1/log2(6) = 1.8868528.
SELECT results_eq($$SELECT * FROM rc_metrics('{5,1,2,9,7}', 5)$$,
  $$VALUES (1.00000, true, true, 0.60000, 0.88546)$$,
  'k = 5: all of them; precision 3/5; nDCG 1.8868528 / 2.1309298');
-- The first k positions count, not the first k distinct turns: [2, 2, 2, 5]
-- at k = 2 holds only turn 2 (at 1); IDCG for k = 2 is 1 + 0.6309298.
SELECT results_eq($$SELECT * FROM rc_metrics('{2,2,2,5}', 2)$$,
  $$VALUES (0.33333, false, true, 0.50000, 0.61315)$$,
  'a repeated turn scores once and takes its slots');
-- A NULL entry is a miss that takes a slot: 7 at position 2, DCG 1/log2(3).
SELECT results_eq($$SELECT * FROM rc_metrics('{NULL,7}', 2)$$,
  $$VALUES (0.33333, false, true, 0.50000, 0.38685)$$,
  'a NULL entry is a miss at its position');
-- Fewer turns than k: precision still divides by k; the ideal list is the
-- supporting turns first, so an exact list has nDCG 1.
SELECT results_eq($$SELECT * FROM rc_metrics('{7,2,5}', 10)$$,
  $$VALUES (1.00000, true, true, 0.30000, 1.00000)$$,
  'the exact list at k = 10: recall 1, precision 3/10, nDCG 1');
SELECT results_eq($$SELECT * FROM rc_metrics('{}', 10)$$,
  $$VALUES (0.00000, false, false, 0.00000, 0.00000)$$,
  'nothing retrieved: all zero');
-- Turns outside the session (0, 99, negative) are misses, not errors.
SELECT results_eq($$SELECT * FROM rc_metrics('{0,99,-5,5}', 4)$$,
  $$VALUES (0.33333, false, true, 0.25000, 0.20211)$$,
  'turns outside the session are misses (5 at position 4: 1/log2(5) / 2.1309298)');
-- Default k = 10.
SELECT is((SELECT recall FROM trajc_recall('00000000-0000-0000-0000-00000000000a',
                                            '{1,3,4,6,8,9,10,11,12,13,2,5,7}')),
          0::real, 'default k is 10: turns at positions 11 to 13 do not count');

SELECT throws_ok($$SELECT * FROM trajc_recall('00000000-0000-0000-0000-00000000000a', '{1}', 0)$$,
  '22023', 'k must be a positive number of turns, got 0', 'k = 0 is 22023');
SELECT throws_ok($$SELECT * FROM trajc_recall('00000000-0000-0000-0000-00000000000a', '{1}', -3)$$,
  '22023', 'k must be a positive number of turns, got -3', 'negative k is 22023');
SELECT throws_ok($$SELECT * FROM trajc_recall('00000000-0000-0000-0000-00000000000a', '{1}', NULL)$$,
  '22004', NULL, 'NULL k is 22004');
SELECT throws_ok($$SELECT * FROM trajc_recall('00000000-0000-0000-0000-0000000000ff', '{1}')$$,
  'P0002', 'no QA pair with id 00000000-0000-0000-0000-0000000000ff',
  'an unknown pair is P0002, as an unknown session is for trajc_compile');
SELECT throws_ok($$SELECT * FROM trajc_recall(NULL, '{1}')$$, '22004', NULL,
  'a NULL pair is 22004');
SELECT throws_ok($$SELECT * FROM trajc_recall('00000000-0000-0000-0000-00000000000a', NULL)$$,
  '22004', NULL, 'a NULL list is 22004 (an empty one is fine)');

-- ---------------------------------------------------------------------------
-- trajc_recall_report over a table of (pair_id, rank, turn), rows out of
-- order and a tie on rank (broken by turn).
CREATE TABLE rc_ret (pair_id uuid, rank int, turn int);
INSERT INTO rc_ret VALUES
  ('00000000-0000-0000-0000-00000000000a', 2, 1),
  ('00000000-0000-0000-0000-00000000000a', 5, 7),
  ('00000000-0000-0000-0000-00000000000a', 1, 5),
  ('00000000-0000-0000-0000-00000000000a', 4, 9),
  ('00000000-0000-0000-0000-00000000000a', 3, 2),
  ('00000000-0000-0000-0000-00000000000b', 2, 8),
  ('00000000-0000-0000-0000-00000000000b', 2, 3);  -- tie: 3 before 8

CREATE FUNCTION rc_report(rel regclass, k int) RETURNS TABLE(
    qa_type text, pairs int, recall numeric, recall_all numeric, recall_any numeric,
    ndcg numeric, "precision" numeric)
  LANGUAGE sql AS $$
    SELECT r.qa_type, r.pairs, round(r.recall::numeric, 5), round(r.recall_all::numeric, 5),
           round(r.recall_any::numeric, 5), round(r.ndcg::numeric, 5),
           round(r."precision"::numeric, 5)
      FROM trajc_recall_report(rel, k) r
  $$;

-- k = 3. A: [5, 1, 2] as above: recall 2/3, nDCG 0.70392, precision 2/3.
-- B {1, 3}: [3, 8]: 3 at 1; recall 1/2; DCG 1; IDCG (2 relevant) 1.6309298
--   -> nDCG 0.61315; precision 1/3.
-- total: recall (2/3 + 1/2)/2 = 0.58333, nDCG (0.70392 + 0.61315)/2 =
--   0.65853 (from unrounded values), precision (2/3 + 1/3)/2 = 0.5.
SELECT results_eq($$SELECT * FROM rc_report('rc_ret', 3)$$,
  $$VALUES ('factoid', 1, 0.50000, 0.00000, 1.00000, 0.61315, 0.33333),
           ('reasoning', 1, 0.66667, 0.00000, 1.00000, 0.70392, 0.66667),
           ('composition', 0, NULL, NULL, NULL, NULL, NULL),
           ('temporal', 0, NULL, NULL, NULL, NULL, NULL),
           ('total', 2, 0.58333, 0.00000, 1.00000, 0.65853, 0.50000)$$,
  'report at k = 3: per qa_type (types without pairs shown empty) and total');
-- k = 5: A has all three (nDCG 0.88546, precision 3/5), B still 1 of 2
--   (nDCG 0.61315, precision 1/5); recall_all: 1 of 2 pairs.
SELECT results_eq($$SELECT * FROM rc_report('rc_ret', 5) WHERE qa_type = 'total'$$,
  $$VALUES ('total', 2, 0.75000, 0.50000, 1.00000, 0.74930, 0.40000)$$,
  'report at k = 5: total');
SELECT results_eq(
  $$SELECT recall, recall_all, recall_any, ndcg, "precision" FROM trajc_recall_report('rc_ret')
     WHERE qa_type = 'reasoning'$$,
  $$SELECT recall, recall_all::int::real, recall_any::int::real, ndcg, "precision"
      FROM trajc_recall('00000000-0000-0000-0000-00000000000a', '{5,1,2,9,7}')$$,
  'the report of one pair equals trajc_recall of its list (default k 10)');

-- A view works as well as a table; so do bigint and smallint columns.
CREATE VIEW rc_ret_view AS SELECT pair_id, rank::bigint AS rank, turn::smallint AS turn FROM rc_ret;
SELECT results_eq($$SELECT * FROM rc_report('rc_ret_view', 3)$$,
                  $$SELECT * FROM rc_report('rc_ret', 3)$$, 'a view with integer columns of other widths');
-- An empty table: zero pairs everywhere.
CREATE TABLE rc_empty (pair_id uuid, rank int, turn int);
SELECT is((SELECT pairs FROM trajc_recall_report('rc_empty') WHERE qa_type = 'total'), 0,
          'an empty retrievals table reports 0 pairs');

-- Wrong shapes.
CREATE TABLE rc_no_turn (pair_id uuid, rank int, position int);
CREATE TABLE rc_text_rank (pair_id uuid, rank text, turn int);
CREATE TABLE rc_text_pair (pair_id text, rank int, turn int);
CREATE TABLE rc_dropped (pair_id uuid, rank int, turn int);
ALTER TABLE rc_dropped DROP COLUMN turn;
CREATE SEQUENCE rc_seq;
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_no_turn')$$, '42703',
  'retrievals public.rc_no_turn has no column "turn"', 'a missing column is 42703');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_dropped')$$, '42703', NULL,
  'a dropped column is missing too (42703)');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_text_rank')$$, '42804',
  'column "rank" of retrievals public.rc_text_rank is text, not integer', 'a text rank is 42804');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_text_pair')$$, '42804',
  'column "pair_id" of retrievals public.rc_text_pair is text, not uuid', 'a text pair_id is 42804');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_seq')$$, '42809',
  'public.rc_seq is not a table or view', 'a sequence is 42809');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_no_such_table')$$, '42P01', NULL,
  'a missing relation is 42P01 (from regclass)');
SELECT throws_ok($$SELECT * FROM trajc_recall_report(NULL)$$, '22004', NULL,
  'a NULL relation is 22004');
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_ret', -1)$$, '22023',
  'k must be a positive number of turns, got -1', 'negative k is 22023');
INSERT INTO rc_empty VALUES ('00000000-0000-0000-0000-0000000000ff', 1, 1);
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_empty')$$, 'P0002',
  'retrievals public.rc_empty names pair 00000000-0000-0000-0000-0000000000ff which is not in trajc.qa_pairs',
  'a pair that is not in trajc.qa_pairs is P0002');
DELETE FROM rc_empty;
INSERT INTO rc_empty VALUES (NULL, 1, 1);
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_empty')$$, '22004',
  'retrievals public.rc_empty has rows with a NULL pair_id', 'a NULL pair_id is 22004');

-- The caller's rights apply to the relation: regclass is no way around a
-- missing SELECT privilege, nor around row-level security.
CREATE ROLE rc_analyst;
GRANT USAGE ON SCHEMA trajc TO rc_analyst;
GRANT SELECT ON trajc.qa_pairs TO rc_analyst;
SET ROLE rc_analyst;
SELECT throws_ok($$SELECT * FROM trajc_recall_report('rc_ret')$$, '42501', NULL,
  'without SELECT on the retrievals table: 42501');
RESET ROLE;
GRANT SELECT ON rc_ret TO rc_analyst;
ALTER TABLE rc_ret ENABLE ROW LEVEL SECURITY;
CREATE POLICY rc_only_b ON rc_ret FOR SELECT TO rc_analyst
  USING (pair_id = '00000000-0000-0000-0000-00000000000b');
SET ROLE rc_analyst;
SELECT results_eq($$SELECT qa_type, pairs FROM trajc_recall_report('rc_ret', 3) WHERE pairs > 0$$,
  $$VALUES ('factoid', 1), ('total', 1)$$,
  'with SELECT granted, row-level security still decides which rows count');
RESET ROLE;
ALTER TABLE rc_ret DISABLE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- trajc_retrieve. 'recent': the last k of the 8 compiled turns (the 9th,
-- logged later, is not part of the pair's trajectory); score turn / 8.
SELECT results_eq(
  $$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 3, 'recent')$$,
  $$VALUES (1, 8, 1::real), (2, 7, 0.875::real), (3, 6, 0.75::real)$$,
  'recent: the last 3 of the compiled turns, newest first');
SELECT is((SELECT count(*)::int FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 20,
                                                     'recent')), 8,
          'recent with k above the turn count: every compiled turn');

-- 'fts': question A's lexemes are tool, fail, parser, deploy (which, after
-- and the are stop words). Turn 7 has three of them (parser, tool, fail),
-- turns 2 (deploy, parser) and 5 (tool, fail) two each: an AND of the four
-- words would match no turn. Turn 9 matches all four but was logged after
-- the pair was compiled.
SELECT results_eq(
  $$SELECT turn FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 10, 'fts') ORDER BY rank$$,
  $$VALUES (7), (2), (5)$$,
  'fts: only matching turns, most lexemes first, ties by turn, nothing after turn_count');
SELECT ok((SELECT bool_and(score > 0) FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a')),
          'fts scores are positive');
SELECT cmp_ok(
  (SELECT score FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a') WHERE turn = 7), '>',
  (SELECT score FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a') WHERE turn = 2),
  'fts: three matching lexemes rank above two');
SELECT results_eq(
  $$SELECT rank, turn FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 2)$$,
  $$VALUES (1, 7), (2, 2)$$, 'fts with k = 2: the best two (default method fts)');
SELECT is((SELECT ndcg FROM trajc_recall('00000000-0000-0000-0000-00000000000a',
            (SELECT array_agg(turn ORDER BY rank)
               FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 10)))),
          1::real, 'fts puts all of A''s supporting turns first: nDCG 1');
SELECT is((SELECT count(*)::int FROM trajc_retrieve('00000000-0000-0000-0000-00000000000c')), 0,
          'fts: a question of stop words only matches nothing');
-- Quotes and backslashes in a question are lexemes, not tsquery syntax.
UPDATE trajc.qa_pairs SET question = $q$Did O'Neil's C:\tmp\x 'parser' | !fail & run?$q$
 WHERE id = '00000000-0000-0000-0000-00000000000b';
SELECT results_eq(
  $$SELECT turn FROM trajc_retrieve('00000000-0000-0000-0000-00000000000b') ORDER BY rank$$,
  $$VALUES (7), (2), (5)$$, 'tsquery operators and quotes in the question are plain words');

SELECT throws_ok($$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 5, 'bm25')$$,
  '22023', 'unknown retrieval method "bm25"', 'an unknown method is 22023');
SELECT throws_ok($$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 5, NULL)$$,
  '22023', NULL, 'a NULL method is 22023');
SELECT throws_ok($$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', 0)$$,
  '22023', NULL, 'k = 0 is 22023');
SELECT throws_ok($$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-00000000000a', -2, 'recent')$$,
  '22023', NULL, 'negative k is 22023');
SELECT throws_ok($$SELECT * FROM trajc_retrieve('00000000-0000-0000-0000-0000000000ff')$$,
  'P0002', NULL, 'an unknown pair is P0002');

-- Baseline retrievals feed the report: the documented recipe, where a pair
-- with nothing retrieved keeps one row of NULLs and so counts as a miss.
CREATE TEMP TABLE rc_fts AS
  SELECT p.id AS pair_id, r.rank, r.turn
    FROM trajc.qa_pairs p LEFT JOIN LATERAL trajc_retrieve(p.id, 10, 'fts') r ON true
   WHERE p.session_id = 'rc-1';
CREATE TEMP TABLE rc_recent AS
  SELECT p.id AS pair_id, r.rank, r.turn
    FROM trajc.qa_pairs p, trajc_retrieve(p.id, 2, 'recent') r WHERE p.session_id = 'rc-1';
-- recent k = 2 returns [8, 7] for every pair: A has 7 (1 of 3), B none, C none.
SELECT results_eq($$SELECT qa_type, pairs, round(recall::numeric, 5) FROM trajc_recall_report('rc_recent', 2)$$,
  $$VALUES ('factoid', 1, 0.00000), ('reasoning', 1, 0.33333), ('composition', 1, 0.00000),
           ('temporal', 0, NULL), ('total', 3, 0.11111)$$,
  'recent baseline through the report (a temp table works too)');
-- fts at k = 10: A [7, 2, 5] has all of {2, 5, 7}; B (now the question of
-- operators) gets [7, 2, 5] too, none of {1, 3}; C nothing: recall 1/3.
SELECT results_eq($$SELECT qa_type, pairs, round(recall::numeric, 5), round(recall_any::numeric, 5)
                     FROM trajc_recall_report('rc_fts') WHERE pairs > 0$$,
  $$VALUES ('factoid', 1, 0.00000, 0.00000), ('reasoning', 1, 1.00000, 1.00000),
           ('composition', 1, 0.00000, 0.00000), ('total', 3, 0.33333, 0.33333)$$,
  'fts baseline: the stop-word pair retrieved nothing and counts as a miss');

SELECT * FROM finish();
ROLLBACK;
