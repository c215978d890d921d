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
