-- trajc 0.1.0 -> 0.2.0 (ALTER EXTENSION trajc UPDATE).
-- Every schema change of 0.2.0 appears here and in trajc--0.2.0.sql; the
-- upgrade test compares the catalog of both paths object by object.
\echo Use "ALTER EXTENSION trajc UPDATE TO '0.2.0'" to load this file. \quit

-- trajc_compile's work for one session, returning the session's status row
-- (the row shape of trajc_compile_batch) instead of its pairs, so a caller
-- learns ok / empty / failed / skipped without reading trajc.compile_log.
CREATE FUNCTION @extschema@.trajc_compile_session(session_id text, tier text DEFAULT NULL,
                                                  force boolean DEFAULT true)
  RETURNS TABLE(session_id text, status text, pairs int, rejected int, cost_usd numeric,
                error text)
  AS 'MODULE_PATHNAME', 'trajc_compile_session' LANGUAGE C VOLATILE PARALLEL UNSAFE
  CALLED ON NULL INPUT;
REVOKE ALL ON FUNCTION @extschema@.trajc_compile_session(text, text, boolean) FROM PUBLIC;

-- Provider batch mode (0.2.0): jobs sent to a vendor's batch API at its
-- batch price, and the sessions each one carries.
-- batch_discount: the share of the list price a vendor charges in batch mode
-- (all three sell batch processing at half price); 1 = no discount known.
ALTER TABLE trajc.models ADD COLUMN batch_discount numeric NOT NULL DEFAULT 1
  CHECK (batch_discount > 0 AND batch_discount <= 1);
UPDATE trajc.models SET batch_discount = 0.5 WHERE provider IN ('gemini', 'openai', 'anthropic');

CREATE TABLE trajc.batches (
  id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider          text        NOT NULL,
  model             text        NOT NULL,
  remote_id         text,       -- the vendor's id; NULL until the vendor accepted the job
  status            text        NOT NULL DEFAULT 'submitting'
                    CHECK (status IN ('submitting', 'pending', 'running', 'finalizing', 'cancelling',
                                      'ended', 'failed', 'expired', 'cancelled')),
  sessions          int         NOT NULL DEFAULT 0,
  requests          int         NOT NULL DEFAULT 0,
  submitted_at      timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  cost_usd          numeric     NOT NULL DEFAULT 0,
  error             text,
  -- beyond the contract: prices as of submission, progress, and collection
  usd_per_mtok_in   numeric     NOT NULL DEFAULT 0,
  usd_per_mtok_out  numeric     NOT NULL DEFAULT 0,
  batch_discount    numeric     NOT NULL DEFAULT 1,
  tokens_in         bigint      NOT NULL DEFAULT 0,
  tokens_out        bigint      NOT NULL DEFAULT 0,
  polls             int         NOT NULL DEFAULT 0,
  polled_at         timestamptz,
  collected_at      timestamptz  -- every request's outcome stored; NULL = open
);
CREATE INDEX batches_open_idx ON trajc.batches (id) WHERE collected_at IS NULL;
COMMENT ON TABLE trajc.batches IS
  'Provider batch jobs: one row per job sent to a vendor''s batch API (open while collected_at IS NULL).';

CREATE TABLE trajc.batch_requests (
  batch_id          bigint      NOT NULL REFERENCES trajc.batches (id) ON DELETE CASCADE,
  custom_id         text        NOT NULL,
  session_id        text        NOT NULL,
  trajectory_hash   text        NOT NULL,  -- what was sent; pairs are stored against it
  agent             text,
  turn_count        int         NOT NULL,
  status            text        NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'ok', 'empty', 'failed')),
  compile_id        bigint      REFERENCES trajc.compile_log (id),
  PRIMARY KEY (batch_id, custom_id)
);
-- The pending filter's check: a session in an open request is the batch's.
CREATE INDEX batch_requests_open_idx ON trajc.batch_requests (session_id) WHERE status = 'open';
COMMENT ON TABLE trajc.batch_requests IS
  'One row per session sent in a provider batch job; open until its outcome is stored.';

-- Every compile asks this before it compiles a session. It reads with the
-- extension owner's rights, so a role that may compile needs no privilege on
-- trajc.batch_requests (nor a new GRANT after the upgrade) to respect an open
-- job; it tells no more than that job's id.
CREATE FUNCTION trajc.open_batch_of(session_id text) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT batch_id FROM trajc.batch_requests WHERE session_id = $1 AND status = 'open' LIMIT 1 $$;

SELECT pg_catalog.pg_extension_config_dump('trajc.batches', '');
SELECT pg_catalog.pg_extension_config_dump('trajc.batch_requests', '');

-- Batch mode: nightly submit, collect every few minutes (README, "Provider
-- batch mode"). Procedures, as they commit as they go when CALLed outside a
-- transaction block.
CREATE PROCEDURE @extschema@.trajc_batch_submit(min_turns int DEFAULT 10, "limit" int DEFAULT 500,
                                                tier text DEFAULT NULL)
  AS 'MODULE_PATHNAME', 'trajc_batch_submit' LANGUAGE C;
CREATE PROCEDURE @extschema@.trajc_batch_collect()
  AS 'MODULE_PATHNAME', 'trajc_batch_collect' LANGUAGE C;
REVOKE ALL ON PROCEDURE @extschema@.trajc_batch_submit(int, int, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.trajc_batch_collect() FROM PUBLIC;
