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

-- Dump and restore (issue 9, item 7).
-- The identity sequence's position as well: without it a restored database
-- numbers from 1 again, and its first compile takes an id a restored row holds.
SELECT pg_catalog.pg_extension_config_dump('trajc.compile_log_id_seq', '');

-- trajc.models is dumped whole, so that edited and added prices survive a
-- dump and restore. A restore runs CREATE EXTENSION first, which seeds the
-- table, and then loads the dumped rows: each replaces the seed row of its
-- (provider, tier) while that row is exactly as seeded (trajc.model_seeds
-- keeps the seeds to compare with), so an edited price comes back edited.
-- Any other duplicate stays an error. (A seed row deleted before the dump
-- comes back with its list price.)
CREATE TABLE trajc.model_seeds (
  provider          text    NOT NULL,
  tier              text    NOT NULL,
  model             text    NOT NULL,
  usd_per_mtok_in   numeric NOT NULL,
  usd_per_mtok_out  numeric NOT NULL,
  PRIMARY KEY (provider, tier)
);
COMMENT ON TABLE trajc.model_seeds IS
  'The rows the install gave trajc.models; a restored row replaces its seed row while that'
  ' is unedited.';
-- 0.1.0's seeds, as its install script inserted them (not the table's rows:
-- an update must not take a user's edits for seeds).
INSERT INTO trajc.model_seeds VALUES
  ('gemini',    'cheap',    'gemini-2.5-flash',      0.30,   2.50),
  ('gemini',    'standard', 'gemini-2.5-pro',        1.25,  10.00),
  ('gemini',    'premium',  'gemini-3-pro-preview',  2.00,  12.00),
  ('openai',    'cheap',    'gpt-5-mini',            0.25,   2.00),
  ('openai',    'standard', 'gpt-5',                 1.25,  10.00),
  ('openai',    'premium',  'gpt-5-pro',            15.00, 120.00),
  ('anthropic', 'cheap',    'claude-haiku-4-5',      1.00,   5.00),
  ('anthropic', 'standard', 'claude-sonnet-4-5',     3.00,  15.00),
  ('anthropic', 'premium',  'claude-opus-4-5',       5.00,  25.00),
  ('offline',   'cheap',    'offline',               0,      0),
  ('offline',   'standard', 'offline',               0,      0),
  ('offline',   'premium',  'offline',               0,      0);
CREATE FUNCTION trajc.models_replace_seed() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    DELETE FROM trajc.models m
     USING trajc.model_seeds s
     WHERE m.provider = NEW.provider AND m.tier = NEW.tier
       AND (s.provider, s.tier, s.model, s.usd_per_mtok_in, s.usd_per_mtok_out)
         = (m.provider, m.tier, m.model, m.usd_per_mtok_in, m.usd_per_mtok_out);
    RETURN NEW;
  END
  $$;
CREATE TRIGGER models_replace_seed BEFORE INSERT ON trajc.models
  FOR EACH ROW EXECUTE FUNCTION trajc.models_replace_seed();
SELECT pg_catalog.pg_extension_config_dump('trajc.models', '');

-- Background runs (trajc_start, trajc_cancel): one row per job, updated as
-- it goes. Roles only read it (row-level security: the jobs of the roles
-- they are members of); every write is the extension's, as the table owner.
-- Not dumped: a job's row describes this server's workers, not the dataset.
CREATE TABLE trajc.jobs (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  role            regrole     NOT NULL,
  database        name        NOT NULL,
  args            jsonb       NOT NULL,
  status          text        NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  sessions_total  int,
  sessions_done   int         NOT NULL DEFAULT 0,
  pairs           int         NOT NULL DEFAULT 0,
  cost_usd        numeric     NOT NULL DEFAULT 0,
  started_at      timestamptz,
  finished_at     timestamptz,
  error           text,
  queued_at       timestamptz NOT NULL DEFAULT now(),
  pid             int,
  settings        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX jobs_live_idx ON trajc.jobs (id) WHERE status IN ('queued', 'running');
COMMENT ON TABLE trajc.jobs IS
  'Background compile jobs (trajc_start): status and progress, visible while they run.';
ALTER TABLE trajc.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_of_my_roles ON trajc.jobs FOR SELECT
  USING (pg_catalog.pg_has_role(role::pg_catalog.oid, 'MEMBER'));

-- CALL trajc_compile_pending(...)'s work in a background worker, as the
-- calling role, with its settings of this moment; returns the job's id at once.
CREATE FUNCTION @extschema@.trajc_start(min_turns int DEFAULT 10, "limit" int DEFAULT 25,
                                        tier text DEFAULT NULL)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'trajc_start' LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.trajc_cancel(job_id bigint)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'trajc_cancel' LANGUAGE C VOLATILE PARALLEL UNSAFE STRICT;
REVOKE ALL ON FUNCTION @extschema@.trajc_start(int, int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.trajc_cancel(bigint) FROM PUBLIC;
