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

CREATE TABLE trajc.compile_log (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  redactions        jsonb
);
CREATE INDEX compile_log_session_idx ON trajc.compile_log (session_id, trajectory_hash)
  WHERE status = 'ok';
CREATE INDEX compile_log_finished_idx ON trajc.compile_log (finished_at);
COMMENT ON TABLE trajc.compile_log IS 'One row per session compile attempt.';

CREATE TABLE trajc.qa_pairs (
  id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
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
  compile_id        bigint      REFERENCES trajc.compile_log (id),
  verified_by       text,
  duplicate_of      uuid        REFERENCES trajc.qa_pairs (id) ON DELETE SET NULL,
  question_key      text
);
CREATE INDEX qa_pairs_session_idx ON trajc.qa_pairs (session_id);
CREATE INDEX qa_pairs_created_idx ON trajc.qa_pairs (created_at, id);
COMMENT ON TABLE trajc.qa_pairs IS 'Question-answer pairs grounded in >= 2 non-adjacent turns.';

-- pg_dump keeps the generated data (the extension recreates the seeds).
SELECT pg_catalog.pg_extension_config_dump('trajc.qa_pairs', '');
SELECT pg_catalog.pg_extension_config_dump('trajc.compile_log', '');

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
INSERT INTO trajc.model_seeds SELECT * FROM trajc.models;
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

-- Pair quality (see "Pair quality" in docs/sql-api.md): literal verification
-- (verified_by), near-duplicates (question_key, duplicate_of, band keys) and
-- redaction counts (compile_log.redactions).
-- Exact repeats are found by key, the earliest first.
CREATE INDEX qa_pairs_question_key_idx ON trajc.qa_pairs (question_key, created_at, id);
-- ON DELETE SET NULL of duplicate_of looks pairs up by it.
CREATE INDEX qa_pairs_duplicate_of_idx ON trajc.qa_pairs (duplicate_of)
  WHERE duplicate_of IS NOT NULL;

-- MinHash/LSH band keys of every pair that is not itself a marked
-- duplicate: a new question is compared only with the pairs sharing one of
-- its 16 keys (the primary key's index), never with every pair.
CREATE TABLE trajc.qa_pair_bands (
  band_key  bigint NOT NULL,
  pair_id   uuid   NOT NULL REFERENCES trajc.qa_pairs (id) ON DELETE CASCADE,
  PRIMARY KEY (band_key, pair_id)
);
CREATE INDEX qa_pair_bands_pair_idx ON trajc.qa_pair_bands (pair_id);
COMMENT ON TABLE trajc.qa_pair_bands IS
  'LSH band keys of questions (trajc.question_bands), for finding near-duplicates by index.';
SELECT pg_catalog.pg_extension_config_dump('trajc.qa_pair_bands', '');

-- The core's fingerprint functions, the same ones the compiler stores with.
CREATE FUNCTION trajc.question_key(question text) RETURNS text
  AS 'MODULE_PATHNAME', 'trajc_question_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION trajc.question_bands(question text) RETURNS bigint[]
  AS 'MODULE_PATHNAME', 'trajc_question_bands' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION trajc.question_similarity(a text, b text) RETURNS real
  AS 'MODULE_PATHNAME', 'trajc_question_similarity' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Per qa_type, and in total: pairs, the share literally (or otherwise)
-- verified, the pairs marked as repeating another session's, and the median
-- distance between a pair's first and last cited turn.
CREATE FUNCTION @extschema@.trajc_quality()
  RETURNS TABLE(qa_type text, pairs bigint, verified_share real, duplicates bigint,
                median_turn_distance real)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    WITH types(qa_type, ord) AS (
      VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4)),
    spans AS (
      SELECT p.qa_type, p.verified_by, p.duplicate_of,
             (p.supporting_turns -> -1)::int - (p.supporting_turns -> 0)::int AS distance
        FROM trajc.qa_pairs p)
    SELECT coalesce(t.qa_type, 'total'), count(s.qa_type),
           (count(s.verified_by)::float8 / nullif(count(s.qa_type), 0))::real,
           count(s.duplicate_of),
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY s.distance))::real
      FROM types t LEFT JOIN spans s ON s.qa_type = t.qa_type
     GROUP BY ROLLUP ((t.qa_type, t.ord))
     ORDER BY t.ord IS NULL, t.ord
  $$;
