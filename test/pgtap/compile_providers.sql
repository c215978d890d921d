-- Compiling against each provider, end to end through the mock model server
-- (scripts/test-env.sh points every provider's base URL at it), and the
-- offline compiler; then trajc_stats(), trajc_sample() and trajc_estimate().
--
-- Everything runs in one transaction that is rolled back: nothing here
-- commits (trajc_compile and trajc_compile_batch are plain functions).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(61);

-- ---------------------------------------------------------------------------
-- The fixture's audit log of a coding agent's tool calls: failures, a retry
-- that changes an argument, a reviewer. Sessions are prefixed cp- (this file).
CALL pg_temp.tap_audit_log('cp_audit_log');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-gemini', base => '2026-03-01 10:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-openai', base => '2026-03-01 11:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-anthropic', base => '2026-03-01 12:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-tiers', base => '2026-03-01 13:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-override', base => '2026-03-01 14:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-unpriced', base => '2026-03-01 15:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-offline', base => '2026-03-01 16:00:00+00');
CALL pg_temp.tap_add_session('cp_audit_log', 'cp-long', extra_turns => 2, base => '2026-03-01 17:00:00+00');  -- 12 turns: the longest

SET trajc.source = 'cp_audit_log';
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.max_retries = 0;
SET trajc.timeout_ms = 10000;

-- Every way a stored pair can break the contract, as text (empty = fine).
CREATE FUNCTION cp_pair_problems(sid text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  p record;
  turns int[];
  n_rows int;
BEGIN
  SELECT count(*) INTO n_rows FROM cp_audit_log WHERE session_id = sid;
  FOR p IN SELECT q.*, l.model AS log_model, l.cost_usd AS log_cost, l.pairs_kept,
                  l.trajectory_hash AS log_hash, l.session_id AS log_session
             FROM trajc.qa_pairs q LEFT JOIN trajc.compile_log l ON l.id = q.compile_id
            WHERE q.session_id = sid LOOP
    IF jsonb_typeof(p.supporting_turns) <> 'array' THEN
      RETURN NEXT format('%s: supporting_turns is not an array', p.question); CONTINUE;
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p.supporting_turns) e
                WHERE jsonb_typeof(e) <> 'number' OR e::text !~ '^[0-9]+$') THEN
      RETURN NEXT format('%s: non-integer turn in %s', p.question, p.supporting_turns); CONTINUE;
    END IF;
    SELECT array_agg(e::int ORDER BY ord) INTO turns
      FROM jsonb_array_elements_text(p.supporting_turns) WITH ORDINALITY AS t(e, ord);
    IF cardinality(turns) < 2 THEN
      RETURN NEXT format('%s: fewer than 2 turns %s', p.question, p.supporting_turns);
    END IF;
    IF turns <> (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(turns) x) THEN
      RETURN NEXT format('%s: turns not sorted and distinct %s', p.question, p.supporting_turns);
    END IF;
    IF turns[1] < 1 OR turns[cardinality(turns)] > p.turn_count THEN
      RETURN NEXT format('%s: turn out of 1..%s %s', p.question, p.turn_count, p.supporting_turns);
    END IF;
    IF turns[cardinality(turns)] - turns[1] < 2 THEN
      RETURN NEXT format('%s: no two non-adjacent turns %s', p.question, p.supporting_turns);
    END IF;
    IF p.qa_type NOT IN ('factoid', 'reasoning', 'composition', 'temporal') THEN
      RETURN NEXT format('%s: qa_type %s', p.question, p.qa_type);
    END IF;
    IF coalesce(btrim(p.question), '') = '' OR coalesce(btrim(p.answer), '') = '' THEN
      RETURN NEXT format('%s: empty question or answer', p.id);
    END IF;
    IF p.agent IS DISTINCT FROM 'coder' THEN
      RETURN NEXT format('%s: agent %s, expected coder (the most frequent)', p.question, p.agent);
    END IF;
    IF p.turn_count <> n_rows THEN
      RETURN NEXT format('%s: turn_count %s, log has %s rows', p.question, p.turn_count, n_rows);
    END IF;
    IF p.log_session IS DISTINCT FROM sid THEN
      RETURN NEXT format('%s: no compile_log row of this session (compile_id %s)', p.question, p.compile_id);
    END IF;
    IF p.source_model IS DISTINCT FROM p.log_model THEN
      RETURN NEXT format('%s: source_model %s, compile_log.model %s', p.question, p.source_model, p.log_model);
    END IF;
    IF abs(p.cost_usd - p.log_cost / p.pairs_kept) > 1e-12 THEN
      RETURN NEXT format('%s: cost_usd %s, expected %s / %s', p.question, p.cost_usd, p.log_cost, p.pairs_kept);
    END IF;
    IF p.trajectory_hash IS DISTINCT FROM p.log_hash THEN
      RETURN NEXT format('%s: trajectory_hash %s, compile_log has %s', p.question, p.trajectory_hash, p.log_hash);
    END IF;
    IF jsonb_typeof(p.raw_extraction) IS DISTINCT FROM 'object'
       OR p.raw_extraction ->> 'question' IS DISTINCT FROM p.question THEN
      RETURN NEXT format('%s: raw_extraction %s', p.question, p.raw_extraction);
    END IF;
    IF p.created_at IS NULL THEN
      RETURN NEXT format('%s: no created_at', p.question);
    END IF;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- The table as the contract names it.
SELECT is_empty($$
  SELECT * FROM (VALUES ('id', 'uuid'), ('session_id', 'text'), ('agent', 'text'),
                        ('turn_count', 'integer'), ('question', 'text'), ('answer', 'text'),
                        ('supporting_turns', 'jsonb'), ('qa_type', 'text'), ('source_model', 'text'),
                        ('cost_usd', 'numeric'), ('raw_extraction', 'jsonb'),
                        ('created_at', 'timestamp with time zone')) AS want(c, t)
  EXCEPT
  SELECT column_name::text, data_type::text FROM information_schema.columns
   WHERE table_schema = 'trajc' AND table_name = 'qa_pairs'
$$, 'trajc.qa_pairs has every contract column with its type');

-- ---------------------------------------------------------------------------
-- gemini
SET trajc.provider = 'gemini';
CREATE TEMP TABLE ret_gemini AS SELECT * FROM trajc_compile('cp-gemini');

SELECT is((SELECT count(*) FROM ret_gemini), 2::bigint,
          'gemini: trajc_compile returns the two pairs the mock gives');
SELECT set_eq('SELECT id FROM ret_gemini',
              $$SELECT id FROM trajc.qa_pairs WHERE session_id = 'cp-gemini'$$,
              'gemini: the rows returned are exactly the rows inserted');
SELECT is_empty($$SELECT * FROM cp_pair_problems('cp-gemini')$$,
                'gemini: every pair meets the contract (turns, type, agent, cost share, raw, hash)');
SELECT is((SELECT array_agg(DISTINCT source_model) FROM ret_gemini),
          ARRAY[(SELECT model FROM trajc.models WHERE provider = 'gemini' AND tier = 'cheap')],
          'gemini: source_model is the cheap tier''s model from trajc.models');
SELECT results_eq(
  $$SELECT provider, model, status, http_status, attempts, pairs_kept, pairs_rejected,
           rejected_reasons, turn_count, error FROM pg_temp.tap_last_log('cp-gemini')$$,
  $$VALUES ('gemini', 'gemini-2.5-flash', 'ok', 200, 1, 2, 0, '{}'::jsonb, 10, NULL::text)$$,
  'gemini: compile_log row: ok, HTTP 200, one attempt, two pairs kept');
SELECT ok(pg_temp.tap_priced_right('cp-gemini'),
          'gemini: compile_log has tokens and cost = tokens x trajc.models prices');
SELECT ok((SELECT trajectory_hash IS NOT NULL AND started_at <= finished_at FROM pg_temp.tap_last_log('cp-gemini')),
          'gemini: compile_log has the trajectory hash and start <= finish');
SELECT is((SELECT sum(cost_usd) FROM ret_gemini), (SELECT cost_usd FROM pg_temp.tap_last_log('cp-gemini')),
          'gemini: pair costs add up to the call''s cost');
SELECT results_eq(
  $$SELECT supporting_turns, qa_type FROM ret_gemini ORDER BY qa_type$$,
  $$VALUES ('[1, 3]'::jsonb, 'factoid'), ('[1, 10]'::jsonb, 'temporal')$$,
  'gemini: the mock''s pairs arrive intact (turns and types)');

-- ---------------------------------------------------------------------------
-- openai
SET trajc.provider = 'openai';
CREATE TEMP TABLE ret_openai AS SELECT * FROM trajc_compile('cp-openai');

SELECT is((SELECT count(*) FROM ret_openai), 2::bigint, 'openai: two pairs returned');
SELECT set_eq('SELECT id FROM ret_openai',
              $$SELECT id FROM trajc.qa_pairs WHERE session_id = 'cp-openai'$$,
              'openai: the rows returned are exactly the rows inserted');
SELECT is_empty($$SELECT * FROM cp_pair_problems('cp-openai')$$, 'openai: every pair meets the contract');
SELECT is((SELECT array_agg(DISTINCT source_model) FROM ret_openai),
          ARRAY[(SELECT model FROM trajc.models WHERE provider = 'openai' AND tier = 'cheap')],
          'openai: source_model is the cheap tier''s model');
SELECT results_eq(
  $$SELECT provider, model, status, http_status, attempts, pairs_kept, pairs_rejected, error
      FROM pg_temp.tap_last_log('cp-openai')$$,
  $$VALUES ('openai', 'gpt-5-mini', 'ok', 200, 1, 2, 0, NULL::text)$$,
  'openai: compile_log row: ok, HTTP 200, one attempt');
SELECT ok(pg_temp.tap_priced_right('cp-openai'), 'openai: tokens, and cost = tokens x prices');

-- The mock reports output tokens = reply chars / 4 for both, and Gemini adds
-- 7 thinking tokens, which count as output: same reply text (10 turns each).
SELECT is((SELECT tokens_out FROM pg_temp.tap_last_log('cp-gemini')),
          (SELECT tokens_out + 7 FROM pg_temp.tap_last_log('cp-openai')),
          'gemini counts its thinking tokens as output tokens');

-- ---------------------------------------------------------------------------
-- anthropic
SET trajc.provider = 'anthropic';
CREATE TEMP TABLE ret_anthropic AS SELECT * FROM trajc_compile('cp-anthropic');

SELECT is((SELECT count(*) FROM ret_anthropic), 2::bigint, 'anthropic: two pairs returned');
SELECT set_eq('SELECT id FROM ret_anthropic',
              $$SELECT id FROM trajc.qa_pairs WHERE session_id = 'cp-anthropic'$$,
              'anthropic: the rows returned are exactly the rows inserted');
SELECT is_empty($$SELECT * FROM cp_pair_problems('cp-anthropic')$$, 'anthropic: every pair meets the contract');
SELECT is((SELECT array_agg(DISTINCT source_model) FROM ret_anthropic),
          ARRAY[(SELECT model FROM trajc.models WHERE provider = 'anthropic' AND tier = 'cheap')],
          'anthropic: source_model is the cheap tier''s model');
SELECT results_eq(
  $$SELECT provider, model, status, http_status, attempts, pairs_kept, pairs_rejected, error
      FROM pg_temp.tap_last_log('cp-anthropic')$$,
  $$VALUES ('anthropic', 'claude-haiku-4-5', 'ok', 200, 1, 2, 0, NULL::text)$$,
  'anthropic: compile_log row: ok, HTTP 200, one attempt');
SELECT ok(pg_temp.tap_priced_right('cp-anthropic'), 'anthropic: tokens, and cost = tokens x prices');

-- ---------------------------------------------------------------------------
-- Tiers pick models: the tier argument, else trajc.tier, for every provider.
CREATE TEMP TABLE tier_runs (provider text, tier text, how text, source_model text, log_model text,
                             priced boolean);
CREATE FUNCTION cp_run_tiers() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  m record;
  sm text;
BEGIN
  FOR m IN SELECT * FROM trajc.models WHERE provider <> 'offline' ORDER BY provider, tier LOOP
    PERFORM set_config('trajc.provider', m.provider, true);
    -- as an argument, against a different trajc.tier
    PERFORM set_config('trajc.tier', CASE m.tier WHEN 'cheap' THEN 'premium' ELSE 'cheap' END, true);
    SELECT min(source_model) INTO sm FROM trajc_compile('cp-tiers', m.tier);
    INSERT INTO tier_runs SELECT m.provider, m.tier, 'argument', sm, l.model, pg_temp.tap_priced_right('cp-tiers')
      FROM pg_temp.tap_last_log('cp-tiers') l;
    -- as the setting
    PERFORM set_config('trajc.tier', m.tier, true);
    SELECT min(source_model) INTO sm FROM trajc_compile('cp-tiers');
    INSERT INTO tier_runs SELECT m.provider, m.tier, 'setting', sm, l.model, pg_temp.tap_priced_right('cp-tiers')
      FROM pg_temp.tap_last_log('cp-tiers') l;
  END LOOP;
  PERFORM set_config('trajc.tier', 'cheap', true);
END
$$;
SELECT cp_run_tiers();

SELECT set_eq(
  'SELECT provider, tier, how, source_model, log_model, priced FROM tier_runs',
  $$SELECT provider, tier, how, model AS sm, model AS lm, true FROM trajc.models
      CROSS JOIN (VALUES ('argument'), ('setting')) h(how) WHERE provider <> 'offline'$$,
  'every provider x tier (argument or trajc.tier) compiles with the tier''s model at its prices');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'cp-tiers'), 36::bigint,
          'each of the 18 tier compiles stored its two pairs');
SELECT is_empty($$SELECT * FROM cp_pair_problems('cp-tiers')$$, 'tier compiles: every pair meets the contract');

-- ---------------------------------------------------------------------------
-- trajc.model overrides the tier, priced from trajc.models when listed there.
SET trajc.provider = 'gemini';
SET trajc.tier = 'cheap';
SET trajc.model = 'gemini-2.5-pro';
CREATE TEMP TABLE ret_override AS SELECT * FROM trajc_compile('cp-override');
SELECT is((SELECT array_agg(DISTINCT source_model) FROM ret_override), ARRAY['gemini-2.5-pro'],
          'trajc.model overrides the tier''s model');
SELECT results_eq($$SELECT model, status FROM pg_temp.tap_last_log('cp-override')$$,
                  $$VALUES ('gemini-2.5-pro', 'ok')$$, 'compile_log records the overriding model');
SELECT ok(pg_temp.tap_priced_right('cp-override'), 'the overriding model is charged at its own trajc.models prices');

-- An override not in trajc.models: compiled, cost recorded as 0, tokens kept.
SET trajc.model = 'my-finetuned-flash';
CREATE TEMP TABLE ret_unpriced AS SELECT * FROM trajc_compile('cp-unpriced', 'premium');
SELECT results_eq(
  $$SELECT model, status, cost_usd, tokens_in > 0 AND tokens_out > 0 FROM pg_temp.tap_last_log('cp-unpriced')$$,
  $$VALUES ('my-finetuned-flash', 'ok', 0::numeric, true)$$,
  'an unpriced trajc.model (even with a tier argument) compiles, with tokens and cost 0');
SELECT results_eq($$SELECT DISTINCT source_model, cost_usd FROM ret_unpriced$$,
                  $$VALUES ('my-finetuned-flash', 0::numeric)$$,
                  'its pairs name the overriding model and cost 0');
SET trajc.model = '';

-- ---------------------------------------------------------------------------
-- offline: no key, no network, source_model 'offline', cost 0, all four types.
SET trajc.provider = 'offline';
SET trajc.gemini_api_key = '';
SET trajc.openai_api_key = '';
SET trajc.anthropic_api_key = '';
SET trajc.gemini_base_url = 'http://127.0.0.1:9';  -- nothing listens: offline must not care
CREATE TEMP TABLE ret_offline AS SELECT * FROM trajc_compile('cp-offline');

SELECT cmp_ok((SELECT count(*) FROM ret_offline), '>=', 4::bigint, 'offline: at least four pairs');
SELECT set_eq('SELECT id FROM ret_offline',
              $$SELECT id FROM trajc.qa_pairs WHERE session_id = 'cp-offline'$$,
              'offline: the rows returned are exactly the rows inserted');
SELECT set_eq('SELECT DISTINCT qa_type FROM ret_offline',
              $$VALUES ('factoid'), ('reasoning'), ('composition'), ('temporal')$$,
              'offline: all four qa_types on a tool log');
SELECT is_empty($$SELECT * FROM cp_pair_problems('cp-offline')$$, 'offline: every pair meets the contract');
SELECT results_eq($$SELECT DISTINCT source_model, cost_usd FROM ret_offline$$,
                  $$VALUES ('offline', 0::numeric)$$, 'offline: source_model offline, cost 0');
SELECT results_eq(
  $$SELECT provider, model, status, tokens_in, tokens_out, cost_usd, http_status, attempts, error
      FROM pg_temp.tap_last_log('cp-offline')$$,
  $$VALUES ('offline', 'offline', 'ok', 0::bigint, 0::bigint, 0::numeric, NULL::int, 1, NULL::text)$$,
  'offline: compile_log row: ok, no tokens, no cost, no HTTP status');
-- Grounding: every turn number an answer names is cited, and every quoted
-- value in an answer occurs in one of the cited turns.
SELECT is_empty($$
  SELECT p.question, p.answer, p.supporting_turns, m[1] AS turn_named
    FROM ret_offline p,
         regexp_matches(p.answer, '(?:turns? |, | and )([0-9]+)', 'g') m
   WHERE NOT p.supporting_turns @> to_jsonb(m[1]::int)
$$, 'offline: every turn an answer names is among its supporting turns');
SELECT is_empty($$
  SELECT p.question, p.answer, q[1] AS quoted
    FROM ret_offline p, regexp_matches(p.answer, '"([^"]+)"', 'g') q
   WHERE NOT EXISTS (SELECT 1 FROM trajc_turns('cp-offline') t
                      WHERE p.supporting_turns @> to_jsonb(t.turn) AND strpos(t.content, q[1]) > 0)
$$, 'offline: every value an answer quotes appears in a cited turn');
RESET trajc.gemini_base_url;
RESET trajc.gemini_api_key;
RESET trajc.openai_api_key;
RESET trajc.anthropic_api_key;

-- ---------------------------------------------------------------------------
-- trajc_stats(): one row per qa_type (zeros included), then the total.
SELECT results_eq(
  'SELECT qa_type, pairs, sessions, cost_usd FROM trajc_stats()',
  $$SELECT qa_type, pairs, sessions, cost_usd FROM (
      SELECT t.qa_type, count(p.id) AS pairs, count(DISTINCT p.session_id) AS sessions,
             coalesce(sum(p.cost_usd), 0) AS cost_usd, t.n
        FROM unnest(ARRAY['factoid', 'reasoning', 'composition', 'temporal'])
             WITH ORDINALITY t(qa_type, n)
        LEFT JOIN trajc.qa_pairs p USING (qa_type) GROUP BY t.qa_type, t.n
      UNION ALL
      SELECT 'total', count(*), count(DISTINCT session_id), coalesce(sum(cost_usd), 0), 5
        FROM trajc.qa_pairs) s
     ORDER BY n$$,
  'trajc_stats(): a row per qa_type (pairs, sessions, cost), then the total');
SELECT ok((SELECT array_agg(qa_type) FROM trajc_stats()) @> ARRAY['factoid', 'reasoning', 'composition', 'temporal'],
          'trajc_stats(): every qa_type is listed (all four were compiled)');
SELECT results_eq($$SELECT qa_type FROM trajc_stats() OFFSET 4$$, $$VALUES ('total')$$,
                  'trajc_stats(): the total row comes last');
SELECT ok((SELECT cost_usd > 0 AND sessions >= 7 FROM trajc_stats() WHERE qa_type = 'total'),
          'trajc_stats(): the total counts the compiled sessions and their cost');

-- ---------------------------------------------------------------------------
-- trajc_sample()
SELECT is((SELECT count(*) FROM trajc_sample()),
          least(5, (SELECT count(*) FROM trajc.qa_pairs)),
          'trajc_sample(): five pairs by default');
SELECT is((SELECT count(*) FROM trajc_sample(3)), 3::bigint, 'trajc_sample(3): three pairs');
SELECT is((SELECT count(*) FROM trajc_sample("limit" => 1000, qa_type => 'reasoning')),
          (SELECT count(*) FROM trajc.qa_pairs WHERE qa_type = 'reasoning'),
          'trajc_sample(qa_type => reasoning) returns every reasoning pair when the limit allows');
SELECT is_empty($$SELECT * FROM trajc_sample(1000, 'temporal') WHERE qa_type <> 'temporal'$$,
                'trajc_sample(qa_type) returns only that type');
SELECT is_empty($$SELECT * FROM trajc_sample(20) s
                   WHERE NOT EXISTS (SELECT 1 FROM trajc.qa_pairs p WHERE p.id = s.id
                                     AND p.question = s.question AND p.supporting_turns = s.supporting_turns)$$,
                'trajc_sample() returns stored pairs');
SELECT throws_ok($$SELECT * FROM trajc_sample(5, 'trivia')$$, '22023', 'unknown qa_type "trivia"',
                 'trajc_sample(): unknown qa_type is 22023');
SELECT throws_ok($$SELECT * FROM trajc_sample(-1)$$, '22023', NULL,
                 'trajc_sample(): a negative limit is 22023');

-- ---------------------------------------------------------------------------
-- trajc_estimate(): before anything is sent.
CREATE TEMP TABLE before_estimate AS
  SELECT (SELECT count(*) FROM trajc.compile_log) AS logs, (SELECT count(*) FROM trajc.qa_pairs) AS pairs,
         (SELECT max(id) FROM trajc.compile_log) AS last_log;

SET trajc.provider = 'gemini';
CREATE TEMP TABLE est_gemini AS SELECT * FROM trajc_estimate(10, 0);
SELECT results_eq('SELECT sessions FROM est_gemini',
                  $$SELECT count(*)::int FROM trajc_extract(10, 0)$$,
                  'trajc_estimate(gemini): one session per candidate of trajc_extract');
SELECT ok((SELECT sessions > 0 AND tokens_in > 0 AND cost_usd > 0 FROM est_gemini),
          'trajc_estimate(gemini): sessions, tokens and cost > 0');
SELECT ok((SELECT cost_usd >= tokens_in * (SELECT usd_per_mtok_in FROM trajc.models
                                            WHERE provider = 'gemini' AND tier = 'cheap') / 1e6
             FROM est_gemini),
          'trajc_estimate(gemini): the cost covers at least the input tokens at the cheap tier price');
SELECT ok((SELECT e2.cost_usd > e1.cost_usd FROM est_gemini e1, trajc_estimate(10, 0, 'premium') e2),
          'trajc_estimate(tier => premium) costs more than cheap');
SELECT results_eq('SELECT * FROM trajc_estimate(10, 0)', 'SELECT * FROM est_gemini',
                  'trajc_estimate is repeatable');

SET trajc.provider = 'offline';
SELECT results_eq('SELECT sessions, cost_usd FROM trajc_estimate(10, 0)',
                  $$SELECT sessions, 0::numeric FROM est_gemini$$,
                  'trajc_estimate(offline): same sessions, cost 0');

SELECT results_eq(
  $$SELECT count(*), max(id) FROM trajc.compile_log$$,
  $$SELECT logs, last_log FROM before_estimate$$,
  'trajc_estimate sends nothing: no compile_log row added');
SELECT is((SELECT count(*) FROM trajc.qa_pairs), (SELECT pairs FROM before_estimate),
          'trajc_estimate stores no pair');

-- The estimate's input tokens match what the model is sent: the mock counts
-- prompt chars / 4 (rounded down); the estimate rounds up.
SET trajc.provider = 'gemini';
CREATE TEMP TABLE est_long AS SELECT * FROM trajc_estimate(11, 1);
SELECT is((SELECT sessions FROM est_long), 1, 'trajc_estimate(min_turns 11, limit 1): the one 12-turn session');
SELECT is(count(*), 2::bigint, 'compiling the 12-turn session with gemini')
  FROM trajc_compile('cp-long');
SELECT ok((SELECT abs(e.tokens_in - l.tokens_in) <= 1 FROM est_long e, pg_temp.tap_last_log('cp-long') l),
          'the estimate''s input tokens equal the tokens the model counted (+-1)');

SELECT * FROM finish();
ROLLBACK;
