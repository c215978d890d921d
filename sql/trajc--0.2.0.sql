-- trajc 0.2.0: compile agent audit-log trajectories into grounded QA pairs (fresh install).
\echo Use "CREATE EXTENSION trajc" to load this file. \quit

-- Tables live in the schema trajc, owned by the extension; functions in the
-- schema given to CREATE EXTENSION (@extschema@).
CREATE SCHEMA trajc;

CREATE TABLE trajc.models (
  provider          text    NOT NULL,
  tier              text    NOT NULL CHECK (tier IN ('cheap', 'standard', 'premium')),
  model             text    NOT NULL,
  usd_per_mtok_in   numeric NOT NULL CHECK (usd_per_mtok_in >= 0),
  usd_per_mtok_out  numeric NOT NULL CHECK (usd_per_mtok_out >= 0),
  PRIMARY KEY (provider, tier)
);
COMMENT ON TABLE trajc.models IS
  'Tier map and list prices (USD per million tokens); edit to change models or prices.';

-- List prices per million tokens (input, output) as published by each vendor.
INSERT INTO trajc.models VALUES
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

-- Keys: every unique constraint of a per-session table includes session_id,
-- so that trajc_distribute() can distribute the table by it on Citus (a
-- distributed table's unique constraints must include its distribution
-- column). Ids stay unique on their own: an identity, a random uuid.
CREATE TABLE trajc.compile_log (
  id                bigint GENERATED ALWAYS AS IDENTITY,
  session_id        text        NOT NULL,
  trajectory_hash   text,
  provider          text        NOT NULL,
  model             text        NOT NULL,
  status            text        NOT NULL CHECK (status IN ('ok', 'empty', 'failed', 'skipped')),
  turn_count        int,
  pairs_kept        int         NOT NULL DEFAULT 0,
  pairs_rejected    int         NOT NULL DEFAULT 0,
  rejected_reasons  jsonb       NOT NULL DEFAULT '{}',
  tokens_in         bigint      NOT NULL DEFAULT 0,
  tokens_out        bigint      NOT NULL DEFAULT 0,
  cost_usd          numeric     NOT NULL DEFAULT 0,
  http_status       int,
  attempts          int         NOT NULL DEFAULT 0,
  error             text,
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT compile_log_pkey PRIMARY KEY (session_id, id)
);
CREATE INDEX compile_log_session_idx ON trajc.compile_log (session_id, trajectory_hash)
  WHERE status = 'ok';
CREATE INDEX compile_log_finished_idx ON trajc.compile_log (finished_at);
COMMENT ON TABLE trajc.compile_log IS 'One row per session compile attempt.';

CREATE TABLE trajc.qa_pairs (
  id                uuid        NOT NULL DEFAULT gen_random_uuid(),
  session_id        text        NOT NULL,
  agent             text,
  turn_count        int         NOT NULL CHECK (turn_count >= 3),
  question          text        NOT NULL CHECK (question <> ''),
  answer            text        NOT NULL CHECK (answer <> ''),
  supporting_turns  jsonb       NOT NULL CHECK (jsonb_typeof(supporting_turns) = 'array'
                                                AND jsonb_array_length(supporting_turns) >= 2),
  qa_type           text        NOT NULL
                    CHECK (qa_type IN ('factoid', 'reasoning', 'composition', 'temporal')),
  source_model      text        NOT NULL,
  cost_usd          numeric     NOT NULL DEFAULT 0,
  raw_extraction    jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  trajectory_hash   text        NOT NULL,
  compile_id        bigint,
  CONSTRAINT qa_pairs_pkey PRIMARY KEY (session_id, id),
  CONSTRAINT qa_pairs_compile_id_fkey FOREIGN KEY (session_id, compile_id)
    REFERENCES trajc.compile_log (session_id, id)
);
CREATE INDEX qa_pairs_created_idx ON trajc.qa_pairs (created_at, id);
-- Pairs are looked up by id alone too (eval, recall, verify): not unique by
-- itself as a constraint, so an index of its own.
CREATE INDEX qa_pairs_id_idx ON trajc.qa_pairs (id);
COMMENT ON TABLE trajc.qa_pairs IS 'Question-answer pairs grounded in >= 2 non-adjacent turns.';

-- pg_dump keeps the generated data (the extension recreates the seeds).
SELECT pg_catalog.pg_extension_config_dump('trajc.qa_pairs', '');
SELECT pg_catalog.pg_extension_config_dump('trajc.compile_log', '');

-- Reading the audit log in place (caller's rights: GRANTs and RLS apply).
CREATE FUNCTION @extschema@.trajc_extract(min_turns int DEFAULT 10, "limit" int DEFAULT 20,
                                          since timestamptz DEFAULT NULL)
  RETURNS TABLE(session_id text, agent text, turn_count int, first_at timestamptz,
                last_at timestamptz)
  AS 'MODULE_PATHNAME', 'trajc_extract' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.trajc_turns(session_id text)
  RETURNS TABLE(turn int, at timestamptz, agent text, content text)
  AS 'MODULE_PATHNAME', 'trajc_turns' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;

-- Compiling: these reach the network, so nobody but the owner may call them
-- until granted (see README, "Privileges").
-- force (added to the contract): false skips a session already compiled at its
-- current trajectory hash, as batches do; the companion tool relies on it.
CREATE FUNCTION @extschema@.trajc_compile(session_id text, tier text DEFAULT NULL,
                                          force boolean DEFAULT true)
  RETURNS SETOF trajc.qa_pairs
  AS 'MODULE_PATHNAME', 'trajc_compile' LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;

-- trajc_compile's work for one session, returning the session's status row
-- (the row shape of trajc_compile_batch) instead of its pairs, so a caller
-- learns ok / empty / failed / skipped without reading trajc.compile_log.
CREATE FUNCTION @extschema@.trajc_compile_session(session_id text, tier text DEFAULT NULL,
                                                  force boolean DEFAULT true)
  RETURNS TABLE(session_id text, status text, pairs int, rejected int, cost_usd numeric,
                error text)
  AS 'MODULE_PATHNAME', 'trajc_compile_session' LANGUAGE C VOLATILE PARALLEL UNSAFE
  CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.trajc_compile_batch(min_turns int DEFAULT 10, "limit" int DEFAULT 25,
                                                tier text DEFAULT NULL, force boolean DEFAULT false)
  RETURNS TABLE(session_id text, status text, pairs int, rejected int, cost_usd numeric,
                error text)
  AS 'MODULE_PATHNAME', 'trajc_compile_batch' LANGUAGE C VOLATILE PARALLEL UNSAFE
  CALLED ON NULL INPUT;

CREATE PROCEDURE @extschema@.trajc_compile_pending(min_turns int DEFAULT 10,
                                                   "limit" int DEFAULT 25, tier text DEFAULT NULL)
  AS 'MODULE_PATHNAME', 'trajc_compile_pending' LANGUAGE C;

CREATE FUNCTION @extschema@.trajc_estimate(min_turns int DEFAULT 10, "limit" int DEFAULT 25,
                                           tier text DEFAULT NULL)
  RETURNS TABLE(sessions int, tokens_in bigint, cost_usd numeric)
  AS 'MODULE_PATHNAME', 'trajc_estimate' LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;

REVOKE ALL ON FUNCTION @extschema@.trajc_compile(text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.trajc_compile_session(text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.trajc_compile_batch(int, int, text, boolean) FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.trajc_compile_pending(int, int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.trajc_estimate(int, int, text) FROM PUBLIC;

-- Using the pairs.
CREATE FUNCTION @extschema@.trajc_stats()
  RETURNS TABLE(qa_type text, pairs bigint, sessions bigint, cost_usd numeric)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    WITH types(qa_type, ord) AS (
      VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4))
    SELECT coalesce(t.qa_type, 'total'), count(p.id), count(DISTINCT p.session_id),
           coalesce(sum(p.cost_usd), 0)
      FROM types t LEFT JOIN trajc.qa_pairs p ON p.qa_type = t.qa_type
     GROUP BY ROLLUP ((t.qa_type, t.ord))
     ORDER BY t.ord IS NULL, t.ord
  $$;

CREATE FUNCTION @extschema@.trajc_sample("limit" int DEFAULT 5, qa_type text DEFAULT NULL)
  RETURNS SETOF trajc.qa_pairs
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF $1 IS NULL OR $1 < 0 THEN
      RAISE EXCEPTION '"limit" must be 0 or positive, got %', $1 USING ERRCODE = '22023';
    END IF;
    IF $2 IS NOT NULL AND $2 NOT IN ('factoid', 'reasoning', 'composition', 'temporal') THEN
      RAISE EXCEPTION 'unknown qa_type "%"', $2 USING ERRCODE = '22023',
        HINT = 'Use factoid, reasoning, composition or temporal.';
    END IF;
    RETURN QUERY
      SELECT * FROM trajc.qa_pairs p WHERE $2 IS NULL OR p.qa_type = $2
       ORDER BY random() LIMIT $1;
  END
  $$;
