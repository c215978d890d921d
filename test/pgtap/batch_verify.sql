-- Provider batch mode verifies what it collects as an online compile does:
-- an ungrounded answer is rejected as `ungrounded` and the kept pairs are
-- verified_by 'literal'; a session changed since submission is stored
-- against the hash that was sent, unverified (its cited turns are no longer
-- what the model read); with trajc.redact = 'pii' at submit the vendor's job
-- holds placeholders only and collect verifies the replies against the
-- redacted session, whatever trajc.redact says when it runs.
--
-- One transaction, rolled back. Sessions are prefixed bv-.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(16);

SET trajc.max_retries = 0;
SET trajc.timeout_ms = 10000;
SET trajc.tier = 'cheap';
SET trajc.model = '';
SET trajc.provider = 'gemini';
SET trajc.verify = 'literal';

CALL pg_temp.tap_audit_log('bv_log');
CALL pg_temp.tap_add_session('bv_log', 'bv-ungrounded', 'mock:ungrounded');
CALL pg_temp.tap_add_session('bv_log', 'bv-changed', 'mock:ungrounded', 1);
-- A session full of planted PII; turn 5 asks the mock for a pair about the
-- first placeholder the prompt shows.
CREATE TEMP TABLE bv_planted(value text);
INSERT INTO bv_planted VALUES ('alice.smith@example.com'), ('+1 415 555 0100'), ('203.0.113.9'),
  ('4111 1111 1111 1111'), ('sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd');
INSERT INTO bv_log (session_id, created_at, agent, tool, success, arguments, response)
SELECT 'bv-pii', '2026-03-02 10:00:00+00'::timestamptz + n * interval '7 seconds', 'support', tool, true,
       args::jsonb, response
  FROM (VALUES
    (1, 'lookup_user', '{"email": "alice.smith@example.com", "ip": "203.0.113.9"}',
        'found alice.smith@example.com, phone +1 415 555 0100'),
    (2, 'charge', '{"card": "4111 1111 1111 1111"}', 'charged, receipt r-17'),
    (3, 'mail', '{"to": "alice.smith@example.com"}', 'sent'),
    (4, 'deploy', '{"ticket": 4}', 'Authorization: Bearer sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd'),
    (5, 'configure', '{"ticket": 5}', 'done mock:record'),
    (6, 'close', '{"ticket": 17}', 'closed for alice.smith@example.com')
  ) AS r(n, tool, args, response);
SET trajc.source = 'bv_log';

SET trajc.redact = 'pii';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT count(*), bool_and(redacted) FROM trajc.batches$$, $$VALUES (1::bigint, true)$$,
                  'one job, recorded as redacted (trajc.redact was pii at submit)');

-- What the vendor holds: the mock's jobs and their prompts.
\set batches `python3 -c 'import os, urllib.request; print(urllib.request.urlopen(os.environ["TRAJC_MOCK_URL"] + "/_batches").read().decode())'`
CREATE TEMP TABLE bv_prompts AS
  SELECT s.session, p.prompt
    FROM jsonb_each(:'batches'::jsonb) j,
         LATERAL jsonb_array_elements_text(j.value -> 'sessions') WITH ORDINALITY s(session, i),
         LATERAL jsonb_array_elements_text(j.value -> 'prompts') WITH ORDINALITY p(prompt, k)
   WHERE j.key = (SELECT remote_id FROM trajc.batches) AND s.i = p.k;
SELECT is((SELECT count(*) FROM bv_prompts WHERE session = 'bv-pii'), 1::bigint, 'the PII session was sent in the job');
SELECT is((SELECT string_agg(v.value, ', ') FROM bv_prompts p, bv_planted v
            WHERE strpos(p.prompt, v.value) > 0), NULL,
          'no prompt of the job holds a planted value');
SELECT ok((SELECT strpos(prompt, '[EMAIL_1]') > 0 FROM bv_prompts WHERE session = 'bv-pii'),
          'the prompt shows placeholders instead');

-- A turn arrives after submission; and redaction is off when collect runs.
INSERT INTO bv_log (session_id, created_at, agent, tool, success, arguments, response)
VALUES ('bv-changed', '2026-03-01 12:00:00+00', 'coder', 'shell', true, '{}', 'a late turn');
SET trajc.redact = 'off';
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT ok((SELECT collected_at IS NOT NULL FROM trajc.batches), 'the job is collected');

-- Unchanged: verified literally, the ungrounded answer rejected.
SELECT results_eq($$SELECT status::text, pairs_kept, rejected_reasons FROM trajc.compile_log
                     WHERE session_id = 'bv-ungrounded' AND status <> 'skipped'$$,
                  $$VALUES ('ok', 2, '{"ungrounded": 1}'::jsonb)$$,
                  'a batch answer naming an id no cited turn shows is rejected as ungrounded');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'bv-ungrounded' AND answer LIKE '%ord-99999-x%'),
          0::bigint, 'the ungrounded pair is not stored');
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc.qa_pairs WHERE session_id = 'bv-ungrounded'),
          ARRAY['literal'], 'the kept pairs are verified_by literal, as online');

-- Changed since submission: kept against the hash sent, unverified.
SELECT is((SELECT trajectory_hash FROM trajc.compile_log WHERE session_id = 'bv-changed' AND status <> 'skipped'),
          (SELECT trajectory_hash FROM trajc.batch_requests WHERE session_id = 'bv-changed'),
          'a changed session is logged against the hash that was sent');
SELECT results_eq($$SELECT count(*), count(verified_by) FROM trajc.qa_pairs WHERE session_id = 'bv-changed'$$,
                  $$VALUES (3::bigint, 0::bigint)$$,
                  'its pairs are kept unverified (verified_by NULL): the turns they cite changed');
SELECT is((SELECT rejected_reasons FROM trajc.compile_log WHERE session_id = 'bv-changed' AND status <> 'skipped'),
          '{}'::jsonb, 'and nothing is rejected as ungrounded without the turns that were sent');

-- Redacted at submit: verified against the redacted session.
SELECT is((SELECT redactions FROM trajc.compile_log WHERE session_id = 'bv-pii' AND status <> 'skipped'),
          '{"card": 1, "email": 4, "ip": 1, "phone": 1, "secret": 1}'::jsonb,
          'compile_log.redactions counts what the job''s prompt replaced');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'bv-pii' AND answer ~ '^"\[(EMAIL|PHONE|IP|CARD|SECRET)_1\]" \(turns 1 and \d+\)\.$'),
          1::bigint, 'the model''s pair about a placeholder is kept, placeholder and all');
SELECT is((SELECT array_agg(DISTINCT verified_by) FROM trajc.qa_pairs WHERE session_id = 'bv-pii'),
          ARRAY['literal'], 'every pair was verified against the redacted turns');
SELECT is((SELECT count(*) FROM trajc.qa_pairs q, bv_planted v
            WHERE q.session_id = 'bv-pii' AND strpos(q.question || q.answer || q.raw_extraction::text, v.value) > 0),
          0::bigint, 'no stored pair holds a planted value');

-- The audit log unreadable at collect: stored, unverified, with a warning.
CALL pg_temp.tap_add_session('bv_log', 'bv-unread', 'mock:ungrounded', base => '2026-03-03 10:00:00+00');
CALL trajc_batch_submit(3);
SET trajc.source = 'bv_no_such_log';
SET client_min_messages = error;  -- the WARNING saying so
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SET client_min_messages = warning;
SELECT results_eq($$SELECT count(*), count(verified_by) FROM trajc.qa_pairs WHERE session_id = 'bv-unread'$$,
                  $$VALUES (3::bigint, 0::bigint)$$,
                  'a session collect cannot read is stored unverified');

SELECT * FROM finish();
ROLLBACK;
