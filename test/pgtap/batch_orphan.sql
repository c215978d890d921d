-- Provider batch mode without orphans: the vendor creates a job and the
-- connection drops before its answer (mock:batch_drop). The create is not
-- sent again (no second job); the job's row stays 'submitting' with its
-- unique label, its sessions held; the next collect finds the job in the
-- vendor's list by that label (OpenAI metadata, Gemini display name),
-- records its id and collects it. Anthropic's batches carry no label: there
-- the job is failed, as the README says.
--
-- One transaction, rolled back. Sessions are prefixed bo-.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
BEGIN;
\ir fixtures/common.sql
SELECT plan(16);

SET trajc.max_retries = 2;  -- retries allowed: the create must still go once
SET trajc.timeout_ms = 10000;
SET trajc.tier = 'cheap';
SET trajc.model = 'mock:batch_drop';

-- The mock's jobs carrying a label.
CREATE FUNCTION pg_temp.bo_vendor_jobs(label text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE doc jsonb;
BEGIN
  doc := pg_temp.bo_batches();
  RETURN (SELECT count(*) FROM jsonb_each(doc) j WHERE j.value ->> 'label' = label);
END $$;
CREATE FUNCTION pg_temp.bo_batches() RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT doc FROM bo_mock ORDER BY at DESC LIMIT 1);
END $$;
CREATE TEMP TABLE bo_mock(at timestamptz DEFAULT clock_timestamp(), doc jsonb);

CREATE FUNCTION pg_temp.bo_job(sid text) RETURNS trajc.batches LANGUAGE sql AS $$
  SELECT b.* FROM trajc.batches b JOIN trajc.batch_requests r ON r.batch_id = b.id WHERE r.session_id = sid
$$;

-- OpenAI and Gemini: adopted.
CALL pg_temp.tap_audit_log('bo_log');
CALL pg_temp.tap_add_session('bo_log', 'bo-openai');
SET trajc.source = 'bo_log';
SET trajc.provider = 'openai';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT status, remote_id IS NULL, error LIKE 'no answer to the job''s creation%',
                           label ~ '^trajc-[0-9a-f]{32}$'
                      FROM pg_temp.bo_job('bo-openai')$$,
                  $$VALUES ('submitting', true, true, true)$$,
                  'openai: no answer to the create: the job stays submitting, unique label, no remote id');
SELECT is((SELECT status FROM trajc.batch_requests WHERE session_id = 'bo-openai'), 'open',
          'its session stays the job''s');
\set batches `python3 -c 'import os, urllib.request; print(urllib.request.urlopen(os.environ["TRAJC_MOCK_URL"] + "/_batches").read().decode())'`
INSERT INTO bo_mock(doc) VALUES (:'batches');
SELECT is(pg_temp.bo_vendor_jobs((pg_temp.bo_job('bo-openai')).label), 1::bigint,
          'the vendor holds exactly one job with its label: the create was not sent again');

CALL pg_temp.tap_add_session('bo_log', 'bo-gemini', NULL, 1);
SET trajc.provider = 'gemini';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT status, remote_id IS NULL FROM pg_temp.bo_job('bo-gemini')$$,
                  $$VALUES ('submitting', true)$$, 'gemini: the same');

CALL trajc_batch_collect();
SELECT results_eq($$SELECT remote_id LIKE 'batch_mock%', error IS NULL FROM pg_temp.bo_job('bo-openai')$$,
                  $$VALUES (true, true)$$, 'collect adopts the openai job found by its label');
SELECT results_eq($$SELECT remote_id LIKE 'batches/%', error IS NULL FROM pg_temp.bo_job('bo-gemini')$$,
                  $$VALUES (true, true)$$, 'and the gemini job');
CALL trajc_batch_collect();
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT results_eq($$SELECT session_id, status::text FROM trajc.compile_log
                     WHERE session_id IN ('bo-openai', 'bo-gemini') AND status <> 'skipped' ORDER BY 1$$,
                  $$VALUES ('bo-gemini', 'ok'), ('bo-openai', 'ok')$$,
                  'both adopted jobs are collected: their sessions stored once each');
SELECT results_eq($$SELECT count(*) FILTER (WHERE collected_at IS NOT NULL), count(*) FROM trajc.batches
                     WHERE id IN ((pg_temp.bo_job('bo-openai')).id, (pg_temp.bo_job('bo-gemini')).id)$$,
                  $$VALUES (2::bigint, 2::bigint)$$, 'and both jobs are closed');
SELECT ok((SELECT count(*) > 0 FROM trajc.qa_pairs WHERE session_id = 'bo-openai'), 'with their pairs');
\set batches `python3 -c 'import os, urllib.request; print(urllib.request.urlopen(os.environ["TRAJC_MOCK_URL"] + "/_batches").read().decode())'`
INSERT INTO bo_mock(doc) VALUES (:'batches');
SELECT is(pg_temp.bo_vendor_jobs((pg_temp.bo_job('bo-gemini')).label), 1::bigint,
          'one gemini job at the vendor for it');

-- A job the vendor never created (its submitter died before the call): not
-- listed, so failed, its session pending again.
SET trajc.model = '';
CALL pg_temp.tap_add_session('bo_log', 'bo-never', NULL, 2);
INSERT INTO trajc.batches (provider, model, status, sessions, requests)
VALUES ('openai', 'gpt-5-mini', 'submitting', 1, 1) RETURNING id AS never \gset
INSERT INTO trajc.batch_requests (batch_id, custom_id, session_id, trajectory_hash, turn_count)
VALUES (:never, 's0', 'bo-never', '0000000000000000', 12);
CALL trajc_batch_collect();
SELECT results_eq(format($$SELECT status, error LIKE '%%lists no job labelled trajc-%%' FROM trajc.batches WHERE id = %s$$, :never),
                  $$VALUES ('failed', true)$$, 'a job the vendor does not list is failed');
SELECT is((SELECT status FROM trajc.batch_requests WHERE session_id = 'bo-never'), 'failed',
          'its request is closed failed, so the session is pending again');

-- The list cannot be read: the job is left as it is, tried again next time.
INSERT INTO trajc.batches (provider, model, status, sessions, requests)
VALUES ('openai', 'gpt-5-mini', 'submitting', 1, 1) RETURNING id AS unlisted \gset
INSERT INTO trajc.batch_requests (batch_id, custom_id, session_id, trajectory_hash, turn_count)
VALUES (:unlisted, 's0', 'bo-never', '0000000000000000', 12);
SET trajc.openai_base_url = 'http://127.0.0.1:9';
CALL trajc_batch_collect();
RESET trajc.openai_base_url;
SELECT results_eq(format($$SELECT status, collected_at IS NULL, error LIKE 'looking for the job labelled%%'
                            FROM trajc.batches WHERE id = %s$$, :unlisted),
                  $$VALUES ('submitting', true, true)$$, 'a list that cannot be read leaves the job open');
DELETE FROM trajc.batches WHERE id = :unlisted;

-- Anthropic: no label to find the job by.
SET trajc.model = 'mock:batch_drop';
CALL pg_temp.tap_add_session('bo_log', 'bo-anthropic', NULL, 3);
SET trajc.provider = 'anthropic';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT status, remote_id IS NULL FROM pg_temp.bo_job('bo-anthropic')$$,
                  $$VALUES ('submitting', true)$$, 'anthropic: no answer, the job stays submitting');
CALL trajc_batch_collect();
SELECT results_eq($$SELECT status, error LIKE '%anthropic batches carry no label%' FROM pg_temp.bo_job('bo-anthropic')$$,
                  $$VALUES ('failed', true)$$, 'collect fails it, saying why it cannot be found');
SELECT is((SELECT status::text FROM trajc.compile_log WHERE session_id = 'bo-anthropic' AND status <> 'skipped'),
          'failed', 'its session is logged failed, to be sent again');

SELECT * FROM finish();
ROLLBACK;
