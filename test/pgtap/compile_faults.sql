-- Faults, scripted through the mock model server's directives: a directive in
-- an audit-log row reaches the mock in the prompt (so the session is compiled
-- with the tier's priced model), or a directive in trajc.model reaches it as
-- the model name. Everything runs in one transaction that is rolled back.
--
-- The mock counts `times=` per (session, directive) for as long as it runs,
-- so every session id here carries a tag unique to this run.
\set ON_ERROR_STOP 1
SET client_min_messages = error;  -- single-session failures raise WARNINGs
BEGIN;
\ir fixtures/common.sql
SELECT plan(102);

CREATE TEMP TABLE cf_run AS SELECT substr(md5(random()::text || clock_timestamp()::text), 1, 10) AS tag;
CREATE FUNCTION cf_sid(name text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'cf-' || name || '-' || tag FROM cf_run
$$;

-- The fixture's ten-turn session; a directive rides in turn 5.
CALL pg_temp.tap_audit_log('cf_audit_log');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('good'));
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('nonjson'),   'mock:non_json');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('empty'),     'mock:empty');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('truncated'), 'mock:truncated');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('invalid'),   'mock:invalid');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('429'),       'mock:status=429,retry_after=1,times=1');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('503'),       'mock:status=503,times=1');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('500'),       'mock:status=500');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('400'),       'mock:status=400');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('401'),       'mock:status=401');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('drop'),      'mock:drop');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('big'),       'mock:big=300000');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('bigchunk'),  'mock:big=300000,chunked=1');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('hang'),      'mock:hang');
CALL pg_temp.tap_add_session('cf_audit_log', cf_sid('schema'),    'mock:schema_reject');

SET trajc.source = 'cf_audit_log';
SET trajc.provider = 'gemini';
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.max_retries = 0;
SET trajc.timeout_ms = 10000;

-- A session's last compile_log row and its pair count, by short name.
CREATE FUNCTION cf_log(name text) RETURNS trajc.compile_log LANGUAGE sql AS $$
  SELECT pg_temp.tap_last_log(cf_sid(name))
$$;
CREATE FUNCTION cf_pairs(name text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM trajc.qa_pairs WHERE session_id = cf_sid(name)
$$;

-- ---------------------------------------------------------------------------
-- Replies that cannot be used: failed, with the reason; nothing inserted;
-- the call is still paid for.
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('nonjson'))), 0::bigint, 'non-JSON reply: no pair returned');
SELECT results_eq($$SELECT status, http_status, attempts, pairs_kept FROM cf_log('nonjson')$$,
                  $$VALUES ('failed', 200, 1, 0)$$, 'non-JSON reply: status failed');
SELECT matches((cf_log('nonjson')).error, '(?i)json', 'non-JSON reply: the error says there is no JSON');
SELECT is(cf_pairs('nonjson'), 0::bigint, 'non-JSON reply: nothing stored for the session');
SELECT ok(pg_temp.tap_priced_right(cf_sid('nonjson')), 'non-JSON reply: tokens and cost are still recorded');

SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('empty'))), 0::bigint, 'empty reply: no pair returned');
SELECT results_eq($$SELECT status, http_status, pairs_kept FROM cf_log('empty')$$,
                  $$VALUES ('failed', 200, 0)$$, 'empty reply: status failed');
SELECT matches((cf_log('empty')).error, '(?i)empty', 'empty reply: the error says it was empty');
SELECT is(cf_pairs('empty'), 0::bigint, 'empty reply: nothing stored');

SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('truncated'))), 0::bigint, 'truncated reply: no pair returned');
SELECT results_eq($$SELECT status, http_status, pairs_kept FROM cf_log('truncated')$$,
                  $$VALUES ('failed', 200, 0)$$, 'truncated reply: status failed');
SELECT matches((cf_log('truncated')).error, '(?i)truncat', 'truncated reply: the error says it was truncated');
SELECT is(cf_pairs('truncated'), 0::bigint, 'truncated reply: nothing stored');
SELECT ok(pg_temp.tap_priced_right(cf_sid('truncated')), 'truncated reply: tokens and cost are still recorded');

-- ---------------------------------------------------------------------------
-- Invalid pairs: counted by reason, only the valid one kept.
SELECT results_eq($$SELECT supporting_turns, qa_type FROM trajc_compile(cf_sid('invalid'))$$,
                  $$VALUES ('[1, 3]'::jsonb, 'factoid')$$, 'invalid pairs: only the valid pair is returned');
SELECT is(cf_pairs('invalid'), 1::bigint, 'invalid pairs: only the valid pair is stored');
SELECT results_eq($$SELECT status, pairs_kept, pairs_rejected FROM cf_log('invalid')$$,
                  $$VALUES ('ok', 1, 7)$$, 'invalid pairs: ok, 1 kept, 7 rejected');
SELECT results_eq(
  $$SELECT count(*), sum(value::int), min(value::int), max(value::int)
      FROM jsonb_each_text((cf_log('invalid')).rejected_reasons)$$,
  $$VALUES (7::bigint, 7::bigint, 1, 1)$$,
  'invalid pairs: seven reasons, each counted once, adding up to pairs_rejected');
SELECT is_empty($$
  SELECT want FROM unnest(ARRAY['few', 'range', 'adjacent', 'empty', 'type', 'duplicate', 'malformed']) want
   WHERE NOT EXISTS (SELECT 1 FROM jsonb_object_keys((cf_log('invalid')).rejected_reasons) k
                      WHERE k ILIKE '%' || want || '%')
$$, 'invalid pairs: reasons name too few turns, out of range, adjacent, empty, type, duplicate, malformed');
SELECT ok(pg_temp.tap_priced_right(cf_sid('invalid')), 'invalid pairs: the call''s cost is recorded');
SELECT is((SELECT cost_usd FROM trajc.qa_pairs WHERE session_id = cf_sid('invalid')),
          (cf_log('invalid')).cost_usd, 'invalid pairs: the one kept pair carries the whole call''s cost');

-- ---------------------------------------------------------------------------
-- Retries: 429 with Retry-After once, then ok; 503 once, then ok.
SET trajc.max_retries = 2;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('429'))), 2::bigint, '429 once: the retry gets the pairs');
SELECT results_eq($$SELECT status, http_status, attempts, error FROM cf_log('429')$$,
                  $$VALUES ('ok', 200, 2, NULL::text)$$, '429 once: ok after 2 attempts');
SELECT cmp_ok((SELECT finished_at - started_at FROM cf_log('429')), '>=', interval '0.95 s',
              '429 once: Retry-After: 1 was honoured before retrying');

SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('503'))), 2::bigint, '503 once: the retry gets the pairs');
SELECT results_eq($$SELECT status, http_status, attempts FROM cf_log('503')$$,
                  $$VALUES ('ok', 200, 2)$$, '503 once: ok after 2 attempts');

-- 500 every time: retried max_retries times, then failed.
SET trajc.max_retries = 1;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('500'))), 0::bigint, '500 always: no pair');
SELECT results_eq($$SELECT status, http_status, attempts, pairs_kept, cost_usd FROM cf_log('500')$$,
                  $$VALUES ('failed', 500, 2, 0, 0::numeric)$$,
                  '500 always: failed after max_retries + 1 = 2 attempts');
SELECT matches((cf_log('500')).error, 'mock error 500', '500 always: the vendor''s message is in the error');
SELECT is(cf_pairs('500'), 0::bigint, '500 always: nothing stored');

SET trajc.max_retries = 0;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('500'))), 0::bigint, '500 with max_retries = 0: no pair');
SELECT is((cf_log('500')).attempts, 1, 'max_retries = 0: a 500 is tried once');

-- 4xx other than 429: failed at once, whatever max_retries says.
SET trajc.max_retries = 3;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('400'))), 0::bigint, '400: no pair');
SELECT results_eq($$SELECT status, http_status, attempts FROM cf_log('400')$$,
                  $$VALUES ('failed', 400, 1)$$, '400: failed at once (1 attempt)');
SELECT matches((cf_log('400')).error, 'mock error 400', '400: the vendor''s message is in the error');

-- 401 for each provider: the mock echoes the key it got; it must not be kept.
CREATE TEMP TABLE auth_runs (provider text, log trajc.compile_log);
CREATE FUNCTION cf_auth_runs() RETURNS void LANGUAGE plpgsql AS $$
DECLARE p text;
BEGIN
  FOREACH p IN ARRAY ARRAY['gemini', 'openai', 'anthropic'] LOOP
    PERFORM set_config('trajc.provider', p, true);
    PERFORM count(*) FROM trajc_compile(cf_sid('401'));
    INSERT INTO auth_runs SELECT p, cf_log('401');
  END LOOP;
  PERFORM set_config('trajc.provider', 'gemini', true);
END
$$;
SELECT cf_auth_runs();
SELECT results_eq(
  $$SELECT provider, (log).status, (log).http_status, (log).attempts FROM auth_runs ORDER BY provider$$,
  $$VALUES ('anthropic', 'failed', 401, 1), ('gemini', 'failed', 401, 1), ('openai', 'failed', 401, 1)$$,
  '401 on every provider: failed at once');
SELECT results_eq(
  $$SELECT provider, (log).error ~ msg FROM auth_runs
      JOIN (VALUES ('gemini', 'API key not valid'), ('openai', 'Incorrect API key provided'),
                   ('anthropic', 'invalid x-api-key')) v(provider, msg) USING (provider)
     ORDER BY provider$$,
  $$VALUES ('anthropic', true), ('gemini', true), ('openai', true)$$,
  '401: the error carries each vendor''s own message');
SELECT is_empty($$SELECT provider, (log).error FROM auth_runs WHERE (log).error LIKE '%s3cr3t%'$$,
                '401: the key the vendor echoed is not in compile_log.error');
SELECT is(cf_pairs('401'), 0::bigint, '401: nothing stored');

-- Connection dropped without a response: retried as a connection error.
SET trajc.max_retries = 1;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('drop'))), 0::bigint, 'dropped connection: no pair');
SELECT results_eq($$SELECT status, http_status, attempts FROM cf_log('drop')$$,
                  $$VALUES ('failed', NULL::int, 2)$$,
                  'dropped connection: retried (max_retries 1), then failed with no HTTP status');
SELECT isnt((cf_log('drop')).error, NULL, 'dropped connection: the error says why');
SET trajc.max_retries = 0;

-- A body over trajc.max_response_kb, announced or chunked: failed cleanly.
SET trajc.max_response_kb = 64;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('big'))), 0::bigint, 'oversized body: no pair');
SELECT results_eq($$SELECT status, attempts FROM cf_log('big')$$, $$VALUES ('failed', 1)$$,
                  'oversized body (Content-Length): failed, not retried');
SELECT matches((cf_log('big')).error, '(?i)larger|too large|size', 'oversized body: the error says it was too large');
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('bigchunk'))), 0::bigint, 'oversized chunked body: no pair');
SELECT results_eq($$SELECT status, attempts FROM cf_log('bigchunk')$$, $$VALUES ('failed', 1)$$,
                  'oversized chunked body: failed, not retried');
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('good'))), 2::bigint,
          'after an oversized body the next compile works');
RESET trajc.max_response_kb;

-- A server that never answers: the request times out.
SET trajc.timeout_ms = 300;
SET trajc.max_retries = 0;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('hang'))), 0::bigint, 'hang: no pair');
SELECT results_eq($$SELECT status, attempts, http_status FROM cf_log('hang')$$,
                  $$VALUES ('failed', 1, NULL::int)$$, 'hang: failed after one attempt');
SELECT matches((cf_log('hang')).error, '(?i)time.?out|timed out', 'hang: the error is a timeout');
SELECT cmp_ok((SELECT finished_at - started_at FROM cf_log('hang')), '<', interval '2 s',
              'hang: given up after about trajc.timeout_ms');
SET trajc.timeout_ms = 10000;

-- An OpenAI-compatible server without json_schema support: JSON mode.
SET trajc.provider = 'openai';
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('schema'))), 2::bigint,
          'openai schema rejected: falls back to JSON mode and gets the pairs');
SELECT results_eq($$SELECT status, http_status FROM cf_log('schema')$$, $$VALUES ('ok', 200)$$,
                  'openai schema rejected: ok');
SET trajc.provider = 'gemini';

-- Directive as the model name (trajc.model): unpriced, so the cost is 0.
SET trajc.model = 'mock:status=500';
SET trajc.max_retries = 0;
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('good'))), 0::bigint, 'trajc.model mock:status=500: no pair');
SELECT results_eq($$SELECT model, status, http_status, attempts FROM cf_log('good')$$,
                  $$VALUES ('mock:status=500', 'failed', 500, 1)$$, 'trajc.model mock:status=500: failed');
SET trajc.model = 'mock:non_json';
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('good'))), 0::bigint, 'trajc.model mock:non_json: no pair');
SELECT results_eq($$SELECT status, cost_usd, tokens_in > 0 FROM cf_log('good')$$,
                  $$VALUES ('failed', 0::numeric, true)$$, 'trajc.model mock:non_json: failed, unpriced');
SET trajc.model = '';

-- Keys never kept anywhere.
SELECT is_empty($$SELECT id, error FROM trajc.compile_log WHERE error LIKE '%s3cr3t%'$$,
                'no compile_log error holds a key');
SELECT is_empty($$SELECT id FROM trajc.qa_pairs WHERE raw_extraction::text LIKE '%s3cr3t%'
                    OR question LIKE '%s3cr3t%' OR answer LIKE '%s3cr3t%'$$,
                'no pair holds a key');

-- ---------------------------------------------------------------------------
-- Missing key: a clear error saying how to set it or to use offline.
SET trajc.gemini_api_key = '';
CREATE TEMP TABLE missing_key AS
  SELECT * FROM pg_temp.tap_run(format('SELECT * FROM trajc_compile(%L)', cf_sid('good')));
SELECT CASE WHEN (SELECT state FROM missing_key) = '00000'
  THEN skip('the server has GEMINI_API_KEY in its environment', 4)
  ELSE collect_tap(
    is((SELECT state FROM missing_key), '22023', 'missing key: SQLSTATE 22023'),
    matches((SELECT message FROM missing_key), 'no API key.*gemini', 'missing key: the message names the provider'),
    matches((SELECT hint FROM missing_key), 'trajc\.gemini_api_key', 'missing key: the hint names the setting'),
    matches((SELECT hint FROM missing_key), 'offline', 'missing key: the hint offers the offline provider'))
  END;
RESET trajc.gemini_api_key;

-- Bad arguments.
SELECT throws_ok(format('SELECT * FROM trajc_compile(%L, %L)', cf_sid('good'), 'ultra'), '22023',
                 'unknown tier "ultra"', 'trajc_compile: unknown tier is 22023');
SELECT throws_ok($$SELECT * FROM trajc_compile_batch(10, 5, 'ultra')$$, '22023', 'unknown tier "ultra"',
                 'trajc_compile_batch: unknown tier is 22023');
SELECT throws_ok($$SET trajc.tier = 'ultra'$$, '22023', NULL, 'SET trajc.tier to an unknown tier is 22023');
SELECT throws_ok($$SELECT * FROM trajc_compile('cf-no-such-session')$$, 'P0002', NULL,
                 'a session with no turns is P0002');
SELECT throws_ok($$SELECT * FROM trajc_compile(NULL)$$, '22004', NULL, 'a NULL session is 22004');

-- ---------------------------------------------------------------------------
-- A batch with bad sessions among good ones keeps the good sessions' pairs:
-- a bad reply, a 401, and a session whose pairs cannot be stored (a trigger).
CREATE TABLE cf_batch_log (LIKE cf_audit_log INCLUDING ALL);
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('b-good1'), NULL, 2);
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('b-good2'), NULL, 1);
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('b-nonjson'), 'mock:non_json');
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('b-auth'), 'mock:status=401');
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('b-store'));
CREATE FUNCTION cf_refuse_pair() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.session_id = cf_sid('b-store') THEN RAISE EXCEPTION 'this session''s pairs are refused'; END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER cf_refuse_pair BEFORE INSERT ON trajc.qa_pairs FOR EACH ROW EXECUTE FUNCTION cf_refuse_pair();

SET trajc.source = 'cf_batch_log';
SET trajc.concurrency = 3;
SET trajc.max_retries = 0;
CREATE TEMP TABLE batch1 AS SELECT * FROM trajc_compile_batch(3, 0);

SELECT set_eq($$SELECT session_id, status, pairs, rejected FROM batch1 WHERE session_id <> cf_sid('b-store')$$,
              $$VALUES (cf_sid('b-good1'), 'ok', 2, 0), (cf_sid('b-good2'), 'ok', 2, 0),
                       (cf_sid('b-nonjson'), 'failed', 0, 0), (cf_sid('b-auth'), 'failed', 0, 0)$$,
              'batch: one row per session; the good ones ok, the bad ones failed');
SELECT is((SELECT count(*) FROM batch1), 5::bigint, 'batch: five rows for five sessions');
SELECT results_eq(
  $$SELECT session_id, count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'cf-b-%' GROUP BY 1 ORDER BY 1$$,
  $$VALUES (cf_sid('b-good1'), 2::bigint), (cf_sid('b-good2'), 2::bigint)$$,
  'batch: the good sessions'' pairs are stored, none of the bad ones''');
SELECT is_empty($$SELECT * FROM batch1 WHERE (status = 'ok') <> (error IS NULL)$$,
                'batch: failed rows carry an error, ok rows none');
SELECT is_empty($$SELECT * FROM batch1 b WHERE b.status <> 'skipped' AND b.cost_usd IS DISTINCT FROM
                   (SELECT l.cost_usd FROM trajc.compile_log l WHERE l.session_id = b.session_id
                     ORDER BY l.id DESC LIMIT 1)$$,
                'batch: each row''s cost is its compile_log cost');
SELECT ok((SELECT cost_usd > 0 FROM batch1 WHERE session_id = cf_sid('b-nonjson')),
          'batch: the failed non-JSON call''s cost is reported');
SELECT matches((SELECT error FROM batch1 WHERE session_id = cf_sid('b-auth')), 'API key not valid',
               'batch: the 401 row has the vendor''s message');
SELECT unalike((SELECT error FROM batch1 WHERE session_id = cf_sid('b-auth')), '%s3cr3t%',
              'batch: the 401 row does not have the key');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'cf-b-%'), 5::bigint,
          'batch: one compile_log row per session');
SELECT matches((SELECT error FROM batch1 WHERE session_id = cf_sid('b-store')), 'refused',
               'batch: a session whose pairs cannot be stored reports why');
SELECT is((SELECT status FROM batch1 WHERE session_id = cf_sid('b-store')), 'failed',
          'batch: a session whose pairs cannot be stored is reported failed');
SELECT is((SELECT status FROM trajc.compile_log WHERE session_id = cf_sid('b-store')), 'failed',
          'batch: a session whose pairs cannot be stored is logged failed');
SELECT ok((SELECT tokens_in > 0 AND cost_usd > 0 FROM trajc.compile_log WHERE session_id = cf_sid('b-store')),
          'batch: a session whose pairs cannot be stored still has the call''s tokens and cost logged');

-- Again: the unchanged good sessions are skipped, the failed ones retried;
-- force compiles everything again.
CREATE TEMP TABLE batch2 AS SELECT * FROM trajc_compile_batch(3, 0);
SELECT set_eq($$SELECT session_id, status FROM batch2 WHERE session_id <> cf_sid('b-store')$$,
              $$VALUES (cf_sid('b-good1'), 'skipped'), (cf_sid('b-good2'), 'skipped'),
                       (cf_sid('b-nonjson'), 'failed'), (cf_sid('b-auth'), 'failed')$$,
              'batch again: unchanged ok sessions skipped, failed ones compiled again');
CREATE TEMP TABLE batch3 AS SELECT * FROM trajc_compile_batch(3, 0, force => true);
SELECT set_eq($$SELECT session_id, status FROM batch3 WHERE session_id <> cf_sid('b-store')$$,
              $$VALUES (cf_sid('b-good1'), 'ok'), (cf_sid('b-good2'), 'ok'),
                       (cf_sid('b-nonjson'), 'failed'), (cf_sid('b-auth'), 'failed')$$,
              'batch with force: every session compiled again');
SELECT results_eq($$SELECT session_id FROM trajc_compile_batch(11, 0, force => true) ORDER BY 1$$,
                  $$VALUES (cf_sid('b-good1')), (cf_sid('b-good2'))$$,
                  'batch min_turns: only sessions with enough turns');

-- trajc_compile returns only what it inserted: when the second pair of a
-- session is refused, the first one (already inserted, then rolled back)
-- is not returned either.
CALL pg_temp.tap_add_session('cf_batch_log', cf_sid('s-half'));
CREATE FUNCTION cf_refuse_second() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.session_id = cf_sid('s-half') AND EXISTS (
       SELECT 1 FROM trajc.qa_pairs WHERE session_id = NEW.session_id AND compile_id = NEW.compile_id) THEN
    RAISE EXCEPTION 'the second pair is refused';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER cf_refuse_second BEFORE INSERT ON trajc.qa_pairs FOR EACH ROW EXECUTE FUNCTION cf_refuse_second();
SELECT is((SELECT count(*) FROM trajc_compile(cf_sid('s-half'))), 0::bigint,
          'compile: a session whose second pair is refused returns no row');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = cf_sid('s-half')), 0::bigint,
          '... and keeps none');
DROP TRIGGER cf_refuse_second ON trajc.qa_pairs;


-- A batch reads the audit log with its statement's snapshot: rows deleted
-- while it runs (retention; here a trigger deleting a session when the first
-- one is logged) do not abort it. (The procedure form, which commits and
-- takes new snapshots, is tested in compile_cancel.sql.)
CREATE TABLE cf_race_log (LIKE cf_audit_log INCLUDING ALL);
CALL pg_temp.tap_add_session('cf_race_log', cf_sid('r-a'), NULL, 2);
CALL pg_temp.tap_add_session('cf_race_log', cf_sid('r-b'), NULL, 1);
CALL pg_temp.tap_add_session('cf_race_log', cf_sid('r-c'));
CALL pg_temp.tap_add_session('cf_race_log', cf_sid('r-d'));
CREATE FUNCTION cf_retention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cf_race_log WHERE session_id = cf_sid('r-c');
  RETURN NULL;
END
$$;
CREATE TRIGGER cf_retention AFTER INSERT ON trajc.compile_log FOR EACH ROW
  WHEN (NEW.session_id LIKE 'cf-r-a-%') EXECUTE FUNCTION cf_retention();
SET trajc.source = 'cf_race_log';
SET trajc.concurrency = 1;
SELECT lives_ok($$CREATE TEMP TABLE race_batch AS SELECT * FROM trajc_compile_batch(3, 0)$$,
                'batch: rows deleted while it runs do not abort it');
SELECT set_eq(
  $$SELECT session_id, status FROM race_batch WHERE session_id <> cf_sid('r-c')$$,
  $$VALUES (cf_sid('r-a'), 'ok'), (cf_sid('r-b'), 'ok'), (cf_sid('r-d'), 'ok')$$,
  'batch: the other sessions are compiled');
DROP TRIGGER cf_retention ON trajc.compile_log;

-- Two sessions whose ids hash alike (hashtext) in one batch: both compiled,
-- neither taken for "being compiled by another run".
CREATE TABLE cf_twin_log (LIKE cf_audit_log INCLUDING ALL);
CALL pg_temp.tap_add_session('cf_twin_log', 'cf-twin-88077');
CALL pg_temp.tap_add_session('cf_twin_log', 'cf-twin-91005');
SET trajc.source = 'cf_twin_log';
SET trajc.concurrency = 4;
SELECT is(hashtext('cf-twin-88077'), hashtext('cf-twin-91005'), 'the twins'' ids have the same 32-bit hash');
SELECT set_eq($$SELECT session_id, status FROM trajc_compile_batch(3, 0)$$,
              $$VALUES ('cf-twin-88077', 'ok'), ('cf-twin-91005', 'ok')$$,
              'batch: two sessions with colliding hashes are both compiled');

-- ---------------------------------------------------------------------------
-- Text from a server that Postgres, or a restore of its dump, could not take
-- back (issue 9, item 6): an error body with NUL bytes, invalid UTF-8 and a
-- character cut in two; a 5 MB error message; a reply whose pair holds a NUL
-- character. Stored valid in the database encoding, NUL-free, errors bounded.
CREATE TABLE cf_text_log (LIKE cf_audit_log INCLUDING ALL);
CALL pg_temp.tap_add_session('cf_text_log', cf_sid('t-nasty'), 'mock:nasty_error');
CALL pg_temp.tap_add_session('cf_text_log', cf_sid('t-huge'), 'mock:huge_error=5000000');
CALL pg_temp.tap_add_session('cf_text_log', cf_sid('t-nul'), 'mock:echo_key');
SET trajc.source = 'cf_text_log';
SET trajc.max_retries = 0;
-- Whether a text is valid in the database encoding and free of NUL bytes
-- (convert_to to the same encoding checks exactly that, raising otherwise).
CREATE FUNCTION cf_storable(t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM convert_to(t, current_setting('server_encoding'));
  RETURN true;
EXCEPTION WHEN others THEN
  RETURN false;
END
$$;
-- The NUL pair quotes the key, which no turn shows: literal verification
-- would reject it (as it should), so it is off for this storage test.
SET trajc.verify = 'off';
CREATE TEMP TABLE text1 AS SELECT * FROM trajc_compile_batch(3, 0);
RESET trajc.verify;
SELECT set_eq($$SELECT session_id, status FROM text1$$,
              $$VALUES (cf_sid('t-nasty'), 'failed'), (cf_sid('t-huge'), 'failed'), (cf_sid('t-nul'), 'ok')$$,
              'hostile text: the two error replies failed, the reply with a NUL character is stored ok');
SELECT ok((SELECT bool_and(cf_storable(error)) FROM trajc.compile_log WHERE session_id LIKE 'cf-t-%'),
          'hostile text: every logged error is valid UTF-8 without NUL bytes');
SELECT ok((SELECT bool_and(cf_storable(b.error) AND b.error = (pg_temp.tap_last_log(b.session_id)).error)
             FROM text1 b WHERE b.error IS NOT NULL),
          'hostile text: the batch returned the same errors, as stored');
SELECT matches((cf_log('t-nasty')).error, '^gemini HTTP 400: bad request. from .. proxy',
               'hostile text: the NUL and each invalid byte became one replacement character');
SELECT ok((cf_log('t-nasty')).error LIKE '%caf' || U&'\FFFD',
          'hostile text: a character cut at the end became a replacement character');
SELECT ok((SELECT octet_length(error) <= 4096 AND error LIKE 'gemini HTTP 400: xxx%'
             FROM trajc.compile_log WHERE session_id = cf_sid('t-huge')),
          'hostile text: a 5 MB error message is stored cut to a few KB');
SELECT ok((SELECT octet_length(error) <= 4096 AND error LIKE '%[cut: %' FROM text1 WHERE session_id = cf_sid('t-huge')),
          'hostile text: ... returned cut as well, saying so');
SELECT is(cf_pairs('t-nul'), 2::bigint, 'hostile text: the pairs of a reply with a NUL character are stored');
SELECT ok((SELECT bool_and(cf_storable(question) AND cf_storable(answer)) FROM trajc.qa_pairs
            WHERE session_id = cf_sid('t-nul')), '... their texts valid and NUL-free');
SELECT ok((SELECT bool_or(answer LIKE '%' || U&'\FFFD' || ' done%') FROM trajc.qa_pairs WHERE session_id = cf_sid('t-nul')),
          '... the NUL character replaced');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = cf_sid('t-nul')
              AND strpos(raw_extraction::text, '\u0000') = 0), 2::bigint,
          '... and no \u0000 in their raw_extraction (jsonb refuses it)');

SELECT * FROM finish();
ROLLBACK;
