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

-- Keys (issue 14): every unique constraint of a per-session table includes
-- session_id, so that trajc_distribute() can distribute the table by it on
-- Citus. qa_pairs' own index on session_id is the primary key's prefix now;
-- lookups by pair id alone (eval, recall, verify) get an index of their own.
ALTER TABLE trajc.qa_pairs DROP CONSTRAINT qa_pairs_compile_id_fkey;
ALTER TABLE trajc.qa_pairs DROP CONSTRAINT qa_pairs_pkey;
ALTER TABLE trajc.compile_log DROP CONSTRAINT compile_log_pkey;
ALTER TABLE trajc.compile_log ADD CONSTRAINT compile_log_pkey PRIMARY KEY (session_id, id);
ALTER TABLE trajc.qa_pairs ADD CONSTRAINT qa_pairs_pkey PRIMARY KEY (session_id, id);
ALTER TABLE trajc.qa_pairs ADD CONSTRAINT qa_pairs_compile_id_fkey FOREIGN KEY (session_id, compile_id)
  REFERENCES trajc.compile_log (session_id, id);
DROP INDEX trajc.qa_pairs_session_idx;
CREATE INDEX qa_pairs_id_idx ON trajc.qa_pairs (id);
