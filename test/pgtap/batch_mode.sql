-- Provider batch mode: CALL trajc_batch_submit / CALL trajc_batch_collect
-- against the mock's batch protocols (test/mock/PROTOCOL.md, "Batch mode"):
-- each vendor, partial errors, expiry, cancellation, a vendor refusing the
-- job at once or after validating it, a session changed since submission,
-- splitting at trajc.batch_max_requests, an interrupted submission, a job
-- another backend holds, and costs against hand computation.
--
-- One transaction, rolled back: the procedures run atomically inside it and
-- commit nothing (batch_crash.sql covers the committing form). Each scenario
-- has its own audit table, so only its sessions are pending.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
\ir fixtures/common.sql
SELECT plan(65);

SET trajc.max_retries = 0;
SET trajc.timeout_ms = 10000;
SET trajc.tier = 'cheap';
SET trajc.model = '';

-- The rows of the scenario's jobs.
CREATE FUNCTION pg_temp.bm_jobs(like_model text DEFAULT '%') RETURNS SETOF trajc.batches
LANGUAGE sql AS $$ SELECT * FROM trajc.batches WHERE model LIKE like_model ORDER BY id $$;
-- A session's outcome rows (not its skips), oldest first.
CREATE FUNCTION pg_temp.bm_outcomes(sid text) RETURNS SETOF trajc.compile_log
LANGUAGE sql AS $$
  SELECT * FROM trajc.compile_log WHERE session_id = sid AND status <> 'skipped' ORDER BY id
$$;

-- ---------------------------------------------------------------------------
-- The schema
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'trajc.batches'::regclass AND attnum > 0 AND NOT attisdropped)[1:11],
          ARRAY['id', 'provider', 'model', 'remote_id', 'status', 'sessions', 'requests',
                'submitted_at', 'finished_at', 'cost_usd', 'error'],
          'trajc.batches has the contract''s columns, in its order');
SELECT is((SELECT count(*) FROM trajc.models
            WHERE provider IN ('gemini', 'openai', 'anthropic') AND batch_discount = 0.5),
          9::bigint, 'trajc.models.batch_discount is 0.5 for every model of the three vendors');
SELECT col_type_is('trajc', 'models', 'batch_discount', 'numeric', 'batch_discount is numeric');

-- ---------------------------------------------------------------------------
-- Gemini: four sessions, one job; a request that errors once, one whose
-- error quotes the key, one that changes after submission.
CALL pg_temp.tap_audit_log('bm_gemini');
CALL pg_temp.tap_add_session('bm_gemini', 'bm-g-ok');
CALL pg_temp.tap_add_session('bm_gemini', 'bm-g-flaky', 'mock:status=500,times=1', 1);
CALL pg_temp.tap_add_session('bm_gemini', 'bm-g-key', 'mock:status=401', 2);
CALL pg_temp.tap_add_session('bm_gemini', 'bm-g-changed', NULL, 3);
SET trajc.source = 'bm_gemini';
SET trajc.provider = 'gemini';

-- The same session compiled online, for the price comparison; undone.
SAVEPOINT online;
SELECT count(*) AS online_pairs FROM trajc_compile('bm-g-ok') \gset
SELECT tokens_in AS online_in, tokens_out AS online_out, cost_usd AS online_cost
  FROM pg_temp.tap_last_log('bm-g-ok') \gset
ROLLBACK TO SAVEPOINT online;

CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT provider, model, status, sessions, requests, remote_id LIKE 'batches/%'
                      FROM pg_temp.bm_jobs()$$,
                  $$VALUES ('gemini', 'gemini-2.5-flash', 'pending', 4, 4, true)$$,
                  'submit: one Gemini job for the four pending sessions, accepted (pending)');
SELECT results_eq($$SELECT session_id, status, turn_count FROM trajc.batch_requests ORDER BY 1$$,
                  $$VALUES ('bm-g-changed', 'open', 13), ('bm-g-flaky', 'open', 11),
                           ('bm-g-key', 'open', 12), ('bm-g-ok', 'open', 10)$$,
                  'each session is an open request of the job');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'bm-g-%'), 0::bigint,
          'submitting logs nothing yet');
SELECT is((SELECT polls FROM pg_temp.bm_jobs()), 0, 'not polled yet');

-- While the job is open, its sessions belong to it.
CALL trajc_batch_submit(3);
SELECT is((SELECT count(*) FROM trajc.batches), 1::bigint, 'a session in an open job is not submitted again');
SELECT is((SELECT count(*) FROM trajc.compile_log
            WHERE session_id LIKE 'bm-g-%' AND status = 'skipped'
              AND error = 'waiting for provider batch ' || (SELECT id FROM pg_temp.bm_jobs())),
          4::bigint, 'each is logged as skipped, waiting for its job');
SELECT results_eq($$SELECT status, count(*) FROM trajc_compile_batch(3, 25) GROUP BY 1$$,
                  $$VALUES ('skipped', 4::bigint)$$, 'nor compiled online meanwhile');
SELECT is((SELECT count(*) FROM trajc_compile('bm-g-ok')), 0::bigint,
          'not even when named (trajc_compile forces by default)');

-- A turn arrives after submission.
INSERT INTO bm_gemini (session_id, created_at, agent, tool, success, arguments, response)
VALUES ('bm-g-changed', '2026-03-01 12:00:00+00', 'coder', 'shell', true, '{}', 'a late turn');

CALL trajc_batch_collect();
SELECT results_eq($$SELECT status, polls, collected_at IS NULL FROM pg_temp.bm_jobs()$$,
                  $$VALUES ('running', 1, true)$$, 'the first poll finds the job running');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'bm-g-%' AND status <> 'skipped'),
          0::bigint, 'nothing is stored before the job ends');

CALL trajc_batch_collect();
SELECT results_eq($$SELECT status, polls, finished_at IS NOT NULL, collected_at IS NOT NULL
                      FROM pg_temp.bm_jobs()$$,
                  $$VALUES ('ended', 2, true, true)$$, 'the second poll finds it ended, and it is collected');
SELECT results_eq($$SELECT session_id, status::text, count(*) FROM trajc.compile_log
                     WHERE session_id LIKE 'bm-g-%' AND status <> 'skipped' GROUP BY 1, 2 ORDER BY 1$$,
                  $$VALUES ('bm-g-changed', 'ok', 1::bigint), ('bm-g-flaky', 'failed', 1::bigint),
                           ('bm-g-key', 'failed', 1::bigint), ('bm-g-ok', 'ok', 1::bigint)$$,
                  'one compile_log row per session: the answered ones ok, the errored ones failed');
SELECT results_eq($$SELECT r.session_id, r.status FROM trajc.batch_requests r
                     JOIN trajc.compile_log l ON l.id = r.compile_id AND l.session_id = r.session_id
                    ORDER BY 1$$,
                  $$VALUES ('bm-g-changed', 'ok'), ('bm-g-flaky', 'failed'), ('bm-g-key', 'failed'),
                           ('bm-g-ok', 'ok')$$,
                  'each request is closed and points at its session''s compile_log row');
SELECT is((SELECT count(*) FROM trajc.qa_pairs WHERE session_id = 'bm-g-ok'), :online_pairs::bigint,
          'the batch answer gives the pairs the online answer gives');
SELECT is((SELECT error FROM pg_temp.bm_outcomes('bm-g-flaky')), 'gemini: mock error 500',
          'a request''s own error is its session''s error');
SELECT ok((SELECT error LIKE '%[redacted]%' AND error NOT LIKE '%s3cr3t%'
             FROM pg_temp.bm_outcomes('bm-g-key')),
          'an error quoting the key is stored redacted');

-- Costs: the same tokens as online, at half the price.
SELECT results_eq($$SELECT tokens_in, tokens_out FROM pg_temp.bm_outcomes('bm-g-ok')$$,
                  format('VALUES (%s::bigint, %s::bigint)', :online_in, :online_out),
                  'the batch answer has the online answer''s token usage');
SELECT ok((SELECT abs(cost_usd - (tokens_in * 0.30 + tokens_out * 2.50) / 1e6 * 0.5) < 1e-12
             FROM pg_temp.bm_outcomes('bm-g-ok')),
          'cost: tokens at gemini-2.5-flash''s list prices ($0.30 / $2.50 per Mtok) times 0.5');
SELECT ok((SELECT abs(cost_usd - :online_cost / 2) < 1e-12 FROM pg_temp.bm_outcomes('bm-g-ok')),
          'cost: exactly half of the same session compiled online');
SELECT is((SELECT cost_usd FROM pg_temp.bm_outcomes('bm-g-flaky')), 0::numeric,
          'an errored request costs nothing');
SELECT ok((SELECT abs(b.cost_usd - (SELECT sum(l.cost_usd) FROM trajc.batch_requests r
                                     JOIN trajc.compile_log l ON l.id = r.compile_id
                                    WHERE r.batch_id = b.id)) < 1e-12
                  AND b.tokens_in = (SELECT sum(l.tokens_in) FROM trajc.batch_requests r
                                      JOIN trajc.compile_log l ON l.id = r.compile_id
                                     WHERE r.batch_id = b.id)
             FROM pg_temp.bm_jobs() b),
          'the job''s cost and tokens are its sessions''');
SELECT ok((SELECT abs(sum(q.cost_usd) - l.cost_usd) < 1e-12
             FROM trajc.qa_pairs q JOIN trajc.compile_log l ON l.id = q.compile_id
            WHERE q.session_id = 'bm-g-ok' GROUP BY l.cost_usd),
          'the pairs share their call''s batch price');

-- The session that changed: stored against the hash it was compiled from.
SELECT is((SELECT array_agg(DISTINCT q.trajectory_hash) FROM trajc.qa_pairs q WHERE q.session_id = 'bm-g-changed'),
          (SELECT ARRAY[trajectory_hash] FROM trajc.batch_requests WHERE session_id = 'bm-g-changed'),
          'a session changed since submission: its pairs carry the hash that was sent');
SELECT is((SELECT trajectory_hash FROM pg_temp.bm_outcomes('bm-g-changed')),
          (SELECT trajectory_hash FROM trajc.batch_requests WHERE session_id = 'bm-g-changed'),
          '... and so does its compile_log row');

-- Collecting again stores nothing twice.
SELECT count(*) AS logs_before FROM trajc.compile_log \gset
SELECT count(*) AS pairs_before FROM trajc.qa_pairs \gset
CALL trajc_batch_collect();
SELECT is((SELECT count(*) FROM trajc.compile_log), :logs_before::bigint, 'collecting again logs nothing');
SELECT is((SELECT count(*) FROM trajc.qa_pairs), :pairs_before::bigint, '... and stores no pair');

-- The next submit picks up what failed and what changed, not what was stored.
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT session_id FROM trajc.batch_requests
                     WHERE batch_id = (SELECT max(id) FROM trajc.batches) ORDER BY 1$$,
                  $$VALUES ('bm-g-changed'), ('bm-g-flaky'), ('bm-g-key')$$,
                  'the next submit sends the failed and the changed sessions again');
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT is((SELECT status FROM pg_temp.bm_outcomes('bm-g-flaky') ORDER BY id DESC LIMIT 1), 'ok',
          'a request that errored once succeeds when sent again');
SELECT isnt((SELECT trajectory_hash FROM pg_temp.bm_outcomes('bm-g-changed') ORDER BY id DESC LIMIT 1),
            (SELECT trajectory_hash FROM pg_temp.bm_outcomes('bm-g-changed') ORDER BY id LIMIT 1),
            'the changed session is compiled again at its new hash');

-- ---------------------------------------------------------------------------
-- A vendor refusing the job at once (Gemini answers the create with 400).
CALL pg_temp.tap_audit_log('bm_refused');
CALL pg_temp.tap_add_session('bm_refused', 'bm-r-1');
CALL pg_temp.tap_add_session('bm_refused', 'bm-r-2');
SET trajc.source = 'bm_refused';
SET trajc.model = 'mock:batch_reject';
SET client_min_messages = error;  -- the refusal's WARNING
CALL trajc_batch_submit(3);
SET client_min_messages = warning;
SELECT results_eq($$SELECT status, remote_id IS NULL, collected_at IS NOT NULL, error LIKE '%HTTP 400%'
                      FROM pg_temp.bm_jobs('mock:batch_reject')$$,
                  $$VALUES ('failed', true, true, true)$$,
                  'a refused job is failed and closed, with the vendor''s answer');
SELECT results_eq($$SELECT session_id, status::text, error LIKE 'the provider refused the batch: %'
                      FROM trajc.compile_log WHERE session_id LIKE 'bm-r-%' ORDER BY 1$$,
                  $$VALUES ('bm-r-1', 'failed', true), ('bm-r-2', 'failed', true)$$,
                  'each of its sessions is logged failed, with the reason');
SET trajc.model = '';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT session_id, status FROM trajc.batch_requests
                     WHERE batch_id = (SELECT max(id) FROM trajc.batches) ORDER BY 1$$,
                  $$VALUES ('bm-r-1', 'open'), ('bm-r-2', 'open')$$,
                  'the next submit sends them again');
CALL trajc_batch_collect();
CALL trajc_batch_collect();

-- ---------------------------------------------------------------------------
-- OpenAI: the file upload, partial errors, and a job the vendor fails when
-- it validates it.
CALL pg_temp.tap_audit_log('bm_openai');
CALL pg_temp.tap_add_session('bm_openai', 'bm-o-1');
CALL pg_temp.tap_add_session('bm_openai', 'bm-o-2', 'mock:status=429', 1);
CALL pg_temp.tap_add_session('bm_openai', 'bm-o-3', 'mock:invalid', 2);
SET trajc.source = 'bm_openai';
SET trajc.provider = 'openai';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT status, requests, remote_id LIKE 'batch_%' FROM pg_temp.bm_jobs('gpt-5-mini')$$,
                  $$VALUES ('pending', 3, true)$$, 'OpenAI: the job is accepted (validating)');
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT results_eq($$SELECT status, collected_at IS NOT NULL FROM pg_temp.bm_jobs('gpt-5-mini')$$,
                  $$VALUES ('ended', true)$$, 'OpenAI: completed and collected');
SELECT results_eq($$SELECT session_id, status::text, http_status FROM trajc.compile_log
                     WHERE session_id LIKE 'bm-o-%' AND status <> 'skipped' ORDER BY 1$$,
                  $$VALUES ('bm-o-1', 'ok', 200), ('bm-o-2', 'failed', 429), ('bm-o-3', 'ok', 200)$$,
                  'OpenAI: results matched by custom_id (the file lists them in reverse), with each request''s status');
SELECT is((SELECT rejected_reasons FROM pg_temp.bm_outcomes('bm-o-3')),
          '{"malformed": 1, "too_few_turns": 1, "adjacent_turns": 1, "unknown_qa_type": 1, "turn_out_of_range": 1, "duplicate_question": 1, "empty_question_or_answer": 1}'::jsonb,
          'OpenAI: a batch answer is validated as online (every rejection counted)');
SELECT ok((SELECT abs(cost_usd - (tokens_in * 0.25 + tokens_out * 2.00) / 1e6 * 0.5) < 1e-12 AND tokens_in > 0
             FROM pg_temp.bm_outcomes('bm-o-1')),
          'OpenAI: cost at gpt-5-mini''s list prices ($0.25 / $2.00) times 0.5');

CALL pg_temp.tap_add_session('bm_openai', 'bm-o-4', NULL, 5);
SET trajc.model = 'mock:batch_reject';
CALL trajc_batch_submit(3);
SELECT results_eq($$SELECT status, remote_id IS NOT NULL FROM pg_temp.bm_jobs('mock:batch_reject') WHERE provider = 'openai'$$,
                  $$VALUES ('pending', true)$$, 'OpenAI: a job it will refuse is accepted first');
CALL trajc_batch_collect();
SELECT results_eq($$SELECT status, collected_at IS NOT NULL, error LIKE '%mock rejected the batch%'
                      FROM pg_temp.bm_jobs('mock:batch_reject') WHERE provider = 'openai'$$,
                  $$VALUES ('failed', true, true)$$,
                  'OpenAI: failed when validated, with the vendor''s reason, and closed');
SELECT results_eq($$SELECT status::text, error LIKE 'the provider failed the batch: %' FROM pg_temp.bm_outcomes('bm-o-4')$$,
                  $$VALUES ('failed', true)$$, 'OpenAI: its sessions are failed');
SET trajc.model = '';

-- ---------------------------------------------------------------------------
-- Anthropic: a job that expires with half its requests done, priced.
CALL pg_temp.tap_audit_log('bm_anthropic');
CALL pg_temp.tap_add_session('bm_anthropic', 'bm-a-1', NULL, 4);
CALL pg_temp.tap_add_session('bm_anthropic', 'bm-a-2', NULL, 3);
CALL pg_temp.tap_add_session('bm_anthropic', 'bm-a-3', NULL, 2);
CALL pg_temp.tap_add_session('bm_anthropic', 'bm-a-4', NULL, 1);
SET trajc.source = 'bm_anthropic';
SET trajc.provider = 'anthropic';
UPDATE trajc.models SET model = 'mock:batch_expire' WHERE provider = 'anthropic' AND tier = 'standard';
CALL trajc_batch_submit(3, 500, 'standard');
SELECT results_eq($$SELECT status, requests, remote_id LIKE 'msgbatch_%' FROM pg_temp.bm_jobs('mock:batch_expire')$$,
                  $$VALUES ('running', 4, true)$$, 'Anthropic: the job is accepted (in progress)');
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT results_eq($$SELECT session_id, status::text FROM trajc.compile_log
                     WHERE session_id LIKE 'bm-a-%' AND status <> 'skipped' ORDER BY 1$$,
                  $$VALUES ('bm-a-1', 'ok'), ('bm-a-2', 'ok'), ('bm-a-3', 'failed'), ('bm-a-4', 'failed')$$,
                  'Anthropic, expired: the requests that ran are stored, the others failed');
SELECT ok((SELECT bool_and(error LIKE '%expired%') FROM trajc.compile_log
            WHERE session_id IN ('bm-a-3', 'bm-a-4') AND status = 'failed'),
          'Anthropic: the failed ones say they expired');
SELECT ok((SELECT abs(cost_usd - (tokens_in * 3.00 + tokens_out * 15.00) / 1e6 * 0.5) < 1e-12 AND tokens_in > 0
             FROM pg_temp.bm_outcomes('bm-a-1')),
          'Anthropic: cost at the tier''s list prices ($3 / $15) times 0.5');
SELECT is((SELECT sum(cost_usd) FROM trajc.compile_log WHERE session_id IN ('bm-a-3', 'bm-a-4')), 0::numeric,
          'Anthropic: an expired request costs nothing');
CALL trajc_batch_submit(3, 500, 'standard');
SELECT results_eq($$SELECT session_id FROM trajc.batch_requests
                     WHERE batch_id = (SELECT max(id) FROM trajc.batches) ORDER BY 1$$,
                  $$VALUES ('bm-a-3'), ('bm-a-4')$$, 'the expired sessions are sent again');
CALL trajc_batch_collect();
CALL trajc_batch_collect();

-- Anthropic: a job cancelled (by someone at the vendor) keeps what ran.
CALL pg_temp.tap_audit_log('bm_cancel');
CALL pg_temp.tap_add_session('bm_cancel', 'bm-c-1', NULL, 2);
CALL pg_temp.tap_add_session('bm_cancel', 'bm-c-2', NULL, 1);
CALL pg_temp.tap_add_session('bm_cancel', 'bm-c-3');
SET trajc.source = 'bm_cancel';
SET trajc.model = 'mock:batch_cancel';
CALL trajc_batch_submit(3);
CALL trajc_batch_collect();
SELECT is((SELECT status FROM pg_temp.bm_jobs('mock:batch_cancel')), 'cancelling',
          'Anthropic: a job being cancelled is cancelling');
CALL trajc_batch_collect();
SELECT results_eq($$SELECT session_id, status::text, error LIKE '%cancelled%' FROM trajc.compile_log
                     WHERE session_id LIKE 'bm-c-%' AND status <> 'skipped' ORDER BY 1$$,
                  $$VALUES ('bm-c-1', 'ok', NULL), ('bm-c-2', 'ok', NULL), ('bm-c-3', 'failed', true)$$,
                  'Anthropic, cancelled: what ran is stored, the rest failed as cancelled');
SET trajc.model = '';

-- ---------------------------------------------------------------------------
-- Splitting: trajc.batch_max_requests (or a vendor's limit) cuts the
-- pending sessions into several jobs.
CALL pg_temp.tap_audit_log('bm_split');
CALL pg_temp.tap_add_session('bm_split', 'bm-s-1');
CALL pg_temp.tap_add_session('bm_split', 'bm-s-2');
CALL pg_temp.tap_add_session('bm_split', 'bm-s-3');
CALL pg_temp.tap_add_session('bm_split', 'bm-s-4');
CALL pg_temp.tap_add_session('bm_split', 'bm-s-5');
SET trajc.source = 'bm_split';
SET trajc.provider = 'gemini';
SET trajc.batch_max_requests = 2;
SELECT max(id) AS before_split FROM trajc.batches \gset
CALL trajc_batch_submit(3);
SELECT results_eq(format('SELECT requests FROM trajc.batches WHERE id > %s ORDER BY id', :before_split),
                  $$VALUES (2), (2), (1)$$, 'five sessions, at most two a job: three jobs');
SELECT is((SELECT count(DISTINCT session_id) FROM trajc.batch_requests r
            WHERE r.batch_id > :before_split), 5::bigint, 'every session in exactly one of them');
CALL trajc_batch_collect();
CALL trajc_batch_collect();
SELECT is((SELECT count(*) FROM trajc.batches WHERE id > :before_split AND collected_at IS NOT NULL),
          3::bigint, 'all three collected');
SELECT is((SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'bm-s-%' AND status = 'ok'),
          5::bigint, 'all five sessions stored');
RESET trajc.batch_max_requests;

-- ---------------------------------------------------------------------------
-- A submission interrupted before the vendor's answer was recorded: the
-- job's row says 'submitting' and no backend holds its lock.
CALL pg_temp.tap_audit_log('bm_interrupted');
CALL pg_temp.tap_add_session('bm_interrupted', 'bm-i-1');
SET trajc.source = 'bm_interrupted';
INSERT INTO trajc.batches (provider, model, status, sessions, requests)
VALUES ('gemini', 'gemini-2.5-flash', 'submitting', 1, 1) RETURNING id AS interrupted \gset
INSERT INTO trajc.batch_requests (batch_id, custom_id, session_id, trajectory_hash, turn_count)
VALUES (:interrupted, 's0', 'bm-i-1', '0000000000000000', 10);
-- Asked by a role with only the compile privileges README lists (none on
-- trajc.batch_requests): the check reads with the extension owner's rights.
CREATE ROLE bm_analyst;
CALL pg_temp.tap_grant_compile('bm_analyst');
GRANT EXECUTE ON FUNCTION trajc_compile_batch(int, int, text, boolean) TO bm_analyst;
GRANT SELECT ON bm_interrupted TO bm_analyst;
SET ROLE bm_analyst;
SELECT results_eq($$SELECT status, error FROM trajc_compile_batch(3, 25)$$,
                  format($$VALUES ('skipped', 'waiting for provider batch %s')$$, :interrupted),
                  'a session of a job still submitting is not compiled online, even by a role that cannot read trajc.batch_requests');
RESET ROLE;
CALL trajc_batch_collect();
SELECT results_eq(format('SELECT status, collected_at IS NOT NULL, error LIKE ''submission interrupted%%''
                            FROM trajc.batches WHERE id = %s', :interrupted),
                  $$VALUES ('failed', true, true)$$, 'collect fails a job whose submitter is gone');
SELECT results_eq($$SELECT status::text FROM pg_temp.bm_outcomes('bm-i-1')$$, $$VALUES ('failed')$$,
                  'its session is logged failed ...');
SELECT results_eq($$SELECT status FROM trajc_compile_batch(3, 25)$$, $$VALUES ('ok')$$,
                  '... and compiled by the next run');

-- A job another backend works on (its lock held) is left alone.
CALL pg_temp.tap_audit_log('bm_busy');
CALL pg_temp.tap_add_session('bm_busy', 'bm-b-1');
SET trajc.source = 'bm_busy';
CALL trajc_batch_submit(3);
SELECT max(id) AS busy FROM trajc.batches \gset
SELECT pg_temp.tap_connect('bm_busy_holder');
SELECT * FROM dblink('bm_busy_holder', format('SELECT pg_advisory_lock(1953653098, %s)', :busy)) AS t(locked text);
CALL trajc_batch_collect();
SELECT is((SELECT polls FROM trajc.batches WHERE id = :busy), 0,
          'a job whose lock another backend holds is not polled');
SELECT * FROM dblink('bm_busy_holder', format('SELECT pg_advisory_unlock(1953653098, %s)', :busy)) AS t(unlocked boolean);
SELECT dblink_disconnect('bm_busy_holder');
CALL trajc_batch_collect();
SELECT is((SELECT polls FROM trajc.batches WHERE id = :busy), 1, 'polled once the lock is free');
SELECT is((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
             AND objsubid = 2), 0::bigint, 'collect holds no job lock once it returns');

-- ---------------------------------------------------------------------------
-- Refusals before any request is sent.
SET trajc.provider = 'offline';
SELECT throws_ok('CALL trajc_batch_submit(3)', '22023', 'the offline provider has no batch mode',
                 'the offline provider has no batch mode (22023)');
SET trajc.provider = 'gemini';
SELECT throws_ok('CALL trajc_batch_submit(3, 500, ''luxury'')', '22023', NULL,
                 'an unknown tier is refused (22023)');
SELECT throws_ok('CALL trajc_batch_submit(0)', '22023', NULL, 'min_turns below 1 is refused (22023)');

SELECT * FROM finish();
ROLLBACK;
