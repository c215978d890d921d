-- Pair quality end to end: the settings; redaction of a log full of planted
-- PII (the mock's recorded request bodies hold none of it, the pairs refer to
-- placeholders, compile_log.redactions counts by kind); ungrounded and
-- near_duplicate rejections counted; repeats across sessions kept and
-- marked through the band index; trajc_quality(); the fingerprint functions.
--
-- One transaction, rolled back: nothing here commits.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(54);

CALL pg_temp.tap_audit_log('q_audit_log');
SET trajc.source = 'q_audit_log';
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.provider = 'gemini';
SET trajc.max_retries = 0;

-- ---------------------------------------------------------------------------
-- The settings and their defaults.
SELECT is(current_setting('trajc.verify'), 'literal', 'trajc.verify defaults to literal');
SELECT is(current_setting('trajc.redact'), 'off', 'trajc.redact defaults to off');
SELECT is(current_setting('trajc.dedup_threshold'), '0.8', 'trajc.dedup_threshold defaults to 0.8');
SELECT is(current_setting('trajc.verify_tier'), 'cheap', 'trajc.verify_tier defaults to cheap');
SELECT is(current_setting('trajc.verify_model'), '', 'trajc.verify_model defaults to empty');
SELECT throws_ok($$SET trajc.redact = 'all'$$, '22023', NULL, 'trajc.redact takes off or pii only');
SELECT throws_ok($$SET trajc.dedup_threshold = 1.5$$, '22023', NULL, 'the threshold is at most 1');
SELECT throws_ok($$SET trajc.verify_tier = 'huge'$$, '22023', NULL, 'the verifier tier is a tier');

-- ---------------------------------------------------------------------------
-- A log full of planted PII. Turn 5 carries the mock directive.
CREATE TEMP TABLE q_planted(value text, kind text);
INSERT INTO q_planted VALUES
  ('alice.smith@example.com', 'email'), ('+1 415 555 0100', 'phone'), ('(212) 555-0199', 'phone'),
  ('203.0.113.9', 'ip'), ('2001:db8::8a2e:370:7334', 'ip'), ('4111 1111 1111 1111', 'card'),
  ('sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd', 'secret'), ('AKIAIOSFODNN7EXAMPLE', 'secret'),
  ('ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5', 'secret');

CREATE FUNCTION pg_temp.q_add_pii_session(sid text, directive text, base timestamptz) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO q_audit_log (session_id, created_at, agent, tool, success, arguments, response)
  SELECT sid, base + n * interval '7 seconds', agent, tool, true, args::jsonb, response
    FROM (VALUES
      (1, 'support', 'lookup_user', '{"email": "alice.smith@example.com", "ip": "203.0.113.9"}',
          'found alice.smith@example.com, phone +1 415 555 0100'),
      (2, 'support', 'charge',      '{"card": "4111 1111 1111 1111"}', 'charged, receipt r-17'),
      (3, 'support', 'mail',        '{"to": "alice.smith@example.com"}', 'sent from 2001:db8::8a2e:370:7334'),
      (4, 'ops',     'deploy',      '{"token": "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"}', 'Authorization: Bearer sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd'),
      (5, 'ops',     'configure',   '{"aws": "AKIAIOSFODNN7EXAMPLE"}', 'call back (212) 555-0199 ' || directive),
      (6, 'support', 'close',       '{"ticket": 17}', 'closed for alice.smith@example.com')
    ) AS r(n, agent, tool, args, response)
$$;
SELECT pg_temp.q_add_pii_session('q-pii', 'mock:record', '2026-04-01 10:00:00+00');

SELECT is((SELECT count(DISTINCT p.value) FROM trajc_turns('q-pii') t, q_planted p
            WHERE strpos(t.content, p.value) > 0), 9::bigint, 'the log holds every planted value');

SET trajc.redact = 'pii';
SELECT ok(count(*) = 3, 'the redacted session compiles (3 pairs, one about a placeholder)')
  FROM trajc_compile('q-pii');

-- The mock's request log (GET /_requests), read by psql; mock:record kept
-- this request's whole body.
\set requests `python3 -c 'import os, urllib.request; print(urllib.request.urlopen(os.environ["TRAJC_MOCK_URL"] + "/_requests").read().decode())'`
CREATE TEMP TABLE q_requests AS
  SELECT r FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r ->> 'session' = 'q-pii';
SELECT is((SELECT count(*) FROM q_requests), 1::bigint, 'one request was sent');
SELECT is((SELECT string_agg(p.value, ', ') FROM q_requests, q_planted p
            WHERE strpos((r -> 'body')::text, p.value) > 0), NULL,
          'the request body holds none of the planted values');
SELECT ok((SELECT bool_and(strpos((r -> 'body')::text, ph) > 0) FROM q_requests,
                  unnest(ARRAY['[EMAIL_1]', '[PHONE_1]', '[PHONE_2]', '[IP_1]', '[IP_2]', '[CARD_1]',
                               '[SECRET_1]', '[SECRET_2]', '[SECRET_3]']) ph),
          'it holds a typed placeholder for each distinct value');
SELECT is((pg_temp.tap_last_log('q-pii')).redactions,
          '{"card": 1, "email": 4, "ip": 2, "phone": 2, "secret": 3}'::jsonb,
          'compile_log.redactions counts the replacements by kind');
SELECT is((SELECT count(*) FROM trajc.qa_pairs
            WHERE session_id = 'q-pii' AND answer ~ '^"\[(EMAIL|PHONE|IP|CARD|SECRET)_1\]" \(turns 1 and 3\)\.$'),
          1::bigint, 'the model''s pair about a placeholder is kept, placeholder and all');
SELECT is((SELECT count(*) FROM trajc.qa_pairs q, q_planted p
            WHERE q.session_id = 'q-pii' AND strpos(q.question || q.answer || q.raw_extraction::text, p.value) > 0),
          0::bigint, 'no stored pair holds a planted value');
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc.qa_pairs WHERE session_id = 'q-pii'),
          ARRAY['literal'], 'every pair was literally verified against the redacted turns');

-- Offline: the deterministic compiler sees the redacted trajectory too.
SELECT pg_temp.q_add_pii_session('q-pii-off', '', '2026-04-01 11:00:00+00');
SET trajc.provider = 'offline';
SELECT ok(count(*) > 0, 'the offline compiler compiles the redacted session') FROM trajc_compile('q-pii-off');
SELECT is((SELECT count(*) FROM trajc.qa_pairs q, q_planted p
            WHERE q.session_id = 'q-pii-off' AND strpos(q.question || q.answer, p.value) > 0),
          0::bigint, 'no offline pair holds a planted value');
SELECT is((pg_temp.tap_last_log('q-pii-off')).redactions ->> 'email', '4', 'offline redactions are counted');

-- Redaction off: compile_log.redactions stays NULL and the values go out.
SET trajc.provider = 'gemini';
SET trajc.redact = 'off';
SELECT pg_temp.q_add_pii_session('q-raw', 'mock:record', '2026-04-01 12:00:00+00');
SELECT ok(count(*) >= 2, 'an unredacted session compiles') FROM trajc_compile('q-raw');
SELECT is((pg_temp.tap_last_log('q-raw')).redactions, NULL, 'no redactions recorded when off');
\set requests `python3 -c 'import os, urllib.request; print(urllib.request.urlopen(os.environ["TRAJC_MOCK_URL"] + "/_requests").read().decode())'`
SELECT ok((SELECT strpos((r -> 'body')::text, 'alice.smith@example.com') > 0
             FROM jsonb_array_elements(:'requests'::jsonb) r WHERE r ->> 'session' = 'q-raw'),
          'without redaction the values are sent (the check above can fail)');

-- ---------------------------------------------------------------------------
-- Rejections: ungrounded and near_duplicate, counted with the others.
CALL pg_temp.tap_add_session('q_audit_log', 'q-ungrounded', 'mock:ungrounded', base => '2026-04-02 10:00:00+00');
CALL pg_temp.tap_add_session('q_audit_log', 'q-near', 'mock:near_duplicate', base => '2026-04-02 11:00:00+00');
SELECT is((SELECT count(*) FROM trajc_compile('q-ungrounded')), 2::bigint, 'the ungrounded pair is not kept');
SELECT is((pg_temp.tap_last_log('q-ungrounded')).rejected_reasons, '{"ungrounded": 1}'::jsonb,
          'it is counted as ungrounded');
SELECT is((pg_temp.tap_last_log('q-ungrounded')).pairs_rejected, 1, 'and in pairs_rejected');
SELECT is((SELECT count(*) FROM trajc_compile('q-near')), 2::bigint, 'the repunctuated repeat is not kept');
SELECT is((pg_temp.tap_last_log('q-near')).rejected_reasons, '{"near_duplicate": 1}'::jsonb,
          'it is counted as near_duplicate');

SET trajc.verify = 'off';
CALL pg_temp.tap_add_session('q_audit_log', 'q-unverified', 'mock:ungrounded', base => '2026-04-02 12:00:00+00');
SELECT is((SELECT count(*) FROM trajc_compile('q-unverified')), 3::bigint, 'verify off keeps the ungrounded pair');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'q-unverified' AND verified_by IS NULL),
          3::bigint, 'and leaves verified_by NULL');
SET trajc.verify = 'model';
SET trajc.provider = 'offline';
SELECT throws_ok($$SELECT trajc_compile('q-unverified')$$, '22023', NULL,
                 'the model verifier needs a model provider, not offline (verify_model.sql tests it)');
SET trajc.provider = 'gemini';
RESET trajc.verify;

-- ---------------------------------------------------------------------------
-- Across sessions: the mock asks the same questions of every session of
-- the same length. The earliest pair is the original; later ones are kept
-- and marked.
DELETE FROM trajc.qa_pairs;  -- the sessions above asked these questions too
CALL pg_temp.tap_add_session('q_audit_log', 'q-dup-a', base => '2026-04-03 10:00:00+00');
CALL pg_temp.tap_add_session('q_audit_log', 'q-dup-b', base => '2026-04-03 11:00:00+00');
SELECT is((SELECT count(*) FROM trajc_compile('q-dup-a')), 2::bigint, 'session a compiles');
UPDATE trajc.qa_pairs SET created_at = created_at - interval '1 minute' WHERE session_id = 'q-dup-a';
SELECT is((SELECT count(*) FROM trajc_compile('q-dup-b')), 2::bigint, 'session b keeps its repeats');
SELECT is((SELECT count(*) FROM trajc.qa_pairs b JOIN trajc.qa_pairs a ON a.id = b.duplicate_of
            WHERE b.session_id = 'q-dup-b' AND a.session_id = 'q-dup-a' AND a.question_key = b.question_key),
          2::bigint, 'each of b''s pairs is marked duplicate_of a''s');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'q-dup-a' AND duplicate_of IS NOT NULL),
          0::bigint, 'the originals are not marked');
SELECT is((SELECT count(*) FROM trajc.qa_pair_bands b JOIN trajc.qa_pairs p ON p.id = b.pair_id
            WHERE p.session_id = 'q-dup-b'), 0::bigint, 'marked repeats have no band keys');
SELECT is((SELECT count(*) FROM trajc.qa_pair_bands b JOIN trajc.qa_pairs p ON p.id = b.pair_id
            WHERE p.session_id = 'q-dup-a'), 32::bigint, '16 band keys per original');
SELECT is((SELECT question_key FROM trajc.qa_pairs WHERE session_id = 'q-dup-a' AND qa_type = 'factoid'),
          'what was done in turn 1 and in turn 3', 'question_key is the normalized question');

-- A near (not exact) repeat is found through the band index: the temporal
-- question of a 12-turn session ends "to turn 12" where a's ends "to turn 10".
CALL pg_temp.tap_add_session('q_audit_log', 'q-dup-c', extra_turns => 2, base => '2026-04-03 12:00:00+00');
SELECT ok(trajc.question_similarity('How did the session change from turn 1 to turn 10?',
                                    'How did the session change from turn 1 to turn 12?') BETWEEN 0.8 AND 0.99,
          'the two temporal questions are similar, not equal');
SELECT is((SELECT count(*) FROM trajc_compile('q-dup-c')), 2::bigint, 'session c compiles');
SELECT is((SELECT a.session_id FROM trajc.qa_pairs c JOIN trajc.qa_pairs a ON a.id = c.duplicate_of
            WHERE c.session_id = 'q-dup-c' AND c.qa_type = 'temporal'), 'q-dup-a',
          'the near repeat is marked duplicate_of the original, found by band keys');
SELECT is((SELECT a.session_id FROM trajc.qa_pairs c JOIN trajc.qa_pairs a ON a.id = c.duplicate_of
            WHERE c.session_id = 'q-dup-c' AND c.qa_type = 'factoid'), 'q-dup-a',
          'an exact repeat of a marked repeat points to the original');
SET trajc.dedup_threshold = 1;
CALL pg_temp.tap_add_session('q_audit_log', 'q-dup-d', extra_turns => 3, base => '2026-04-03 13:00:00+00');
SELECT is((SELECT count(*) FROM trajc_compile('q-dup-d')), 2::bigint, 'session d compiles');
SELECT is((SELECT duplicate_of FROM trajc.qa_pairs WHERE session_id = 'q-dup-d' AND qa_type = 'temporal'), NULL,
          'with threshold 1 a near repeat is not marked');
SELECT isnt((SELECT duplicate_of FROM trajc.qa_pairs WHERE session_id = 'q-dup-d' AND qa_type = 'factoid'), NULL,
            'but an exact one is');
RESET trajc.dedup_threshold;
-- Deleting an original unmarks its repeats, and drops its band keys.
DELETE FROM trajc.qa_pairs WHERE session_id = 'q-dup-a';
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'q-dup-b' AND duplicate_of IS NOT NULL),
          0::bigint, 'deleting the original clears duplicate_of');

-- ---------------------------------------------------------------------------
-- trajc_quality(): per qa_type and in total.
SELECT is((SELECT array_agg(qa_type) FROM trajc_quality()),
          ARRAY['factoid', 'reasoning', 'composition', 'temporal', 'total'], 'one row per qa_type, then total');
SELECT is((SELECT (pairs, duplicates) FROM trajc_quality() WHERE qa_type = 'total'),
          (SELECT (count(*), count(duplicate_of)) FROM trajc.qa_pairs), 'total pairs and duplicates');
SELECT is((SELECT verified_share FROM trajc_quality() WHERE qa_type = 'factoid'),
          (SELECT (count(verified_by)::float8 / count(*))::real FROM trajc.qa_pairs WHERE qa_type = 'factoid'),
          'verified share per type');
SELECT is((SELECT median_turn_distance FROM trajc_quality() WHERE qa_type = 'factoid'),
          2::real, 'the mock''s factoids cite turns 1 and 3: median distance 2');

-- The fingerprint functions are the core's.
SELECT is(trajc.question_key('  Which TOOL ran "read_file" at turn 1,000?? '),
          'which tool ran read_file at turn 1000', 'trajc.question_key');
SELECT is(cardinality(trajc.question_bands('Which tool failed first?')), 16, '16 band keys');

-- One batch call: a session sees the pairs of the sessions compiled before
-- it in the same call, so its repeats are marked too (issue 17).
DELETE FROM trajc.qa_pairs;
CALL pg_temp.tap_audit_log('q_batch_log');
CALL pg_temp.tap_add_session('q_batch_log', 'q-bat-a', base => '2026-04-05 10:00:00+00');
CALL pg_temp.tap_add_session('q_batch_log', 'q-bat-b', base => '2026-04-05 11:00:00+00');
SET trajc.source = 'q_batch_log';
SELECT is((SELECT sum(pairs) FROM trajc_compile_batch(3, 0)), 4::bigint, 'two sessions in one batch');
SELECT is((SELECT count(duplicate_of) FROM trajc.qa_pairs), 2::bigint,
          'the second session''s repeats are marked within the batch');
SET trajc.source = 'q_audit_log';

SELECT * FROM finish();
ROLLBACK;
