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

-- Pair quality: the new columns, at the end of each table as in a fresh install.
ALTER TABLE trajc.compile_log ADD COLUMN redactions jsonb;
ALTER TABLE trajc.qa_pairs
  ADD COLUMN verified_by text,
  ADD COLUMN duplicate_of uuid REFERENCES trajc.qa_pairs (id) ON DELETE SET NULL,
  ADD COLUMN question_key text;

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

-- Pairs stored by 0.1.0: their keys; across sessions, a repeat of an earlier
-- pair's exact question is marked (near-duplicates among them are not
-- searched for); the band keys of the rest, so new pairs find them.
UPDATE trajc.qa_pairs SET question_key = trajc.question_key(question);
UPDATE trajc.qa_pairs p SET duplicate_of = earliest.id
  FROM (SELECT DISTINCT ON (question_key) question_key, id, session_id
          FROM trajc.qa_pairs ORDER BY question_key, created_at, id) earliest
 WHERE p.question_key = earliest.question_key AND p.session_id <> earliest.session_id;
INSERT INTO trajc.qa_pair_bands (band_key, pair_id)
  SELECT unnest(trajc.question_bands(question)), id FROM trajc.qa_pairs WHERE duplicate_of IS NULL
  ON CONFLICT DO NOTHING;

-- Roles that could store pairs before may go on doing so: storing a pair
-- now also looks up and writes its band keys.
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = 'trajc.qa_pairs'::regclass AND a.privilege_type = 'INSERT'
              AND a.grantee <> c.relowner LOOP
    EXECUTE format('GRANT SELECT, INSERT ON trajc.qa_pair_bands TO %s',
                   CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
  END LOOP;
END
$$;
