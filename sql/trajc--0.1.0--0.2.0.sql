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
    -- The table the trigger fires on: trajc.models, or, once trajc_distribute()
    -- made it a Citus reference table, its placement on this node (where a
    -- query on trajc.models itself would be a distributed query from a shard).
    EXECUTE pg_catalog.format(
      'DELETE FROM %I.%I m USING trajc.model_seeds s
        WHERE m.provider = $1 AND m.tier = $2
          AND (s.provider, s.tier, s.model, s.usd_per_mtok_in, s.usd_per_mtok_out)
            = (m.provider, m.tier, m.model, m.usd_per_mtok_in, m.usd_per_mtok_out)',
      TG_TABLE_SCHEMA, TG_TABLE_NAME) USING NEW.provider, NEW.tier;
    RETURN NEW;
  END
  $$;
CREATE TRIGGER models_replace_seed BEFORE INSERT ON trajc.models
  FOR EACH ROW EXECUTE FUNCTION trajc.models_replace_seed();
SELECT pg_catalog.pg_extension_config_dump('trajc.models', '');

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

-- Keys without a superuser (Supabase Vault): where a provider's key comes
-- from, never the key. Revoked from PUBLIC: it reads Vault as the owner.
CREATE FUNCTION @extschema@.trajc_key_source(provider text) RETURNS text
  AS 'MODULE_PATHNAME', 'trajc_key_source' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.trajc_key_source(text) FROM PUBLIC;

-- Provider batch mode (0.2.0): jobs sent to a vendor's batch API at its
-- batch price, and the sessions each one carries.
-- batch_discount: the share of the list price a vendor charges in batch mode
-- (all three sell batch processing at half price); 1 = no discount known,
-- the default for rows added later. Added at 0.5 and set back to 1 for the
-- offline rows only: an UPDATE moves the rows it touches to the table's end,
-- and the offline rows are last already, so the rows keep the fresh
-- install's order (trajc.models is dumped; the upgrade test compares dumps).
ALTER TABLE trajc.models ADD COLUMN batch_discount numeric NOT NULL DEFAULT 0.5
  CHECK (batch_discount > 0 AND batch_discount <= 1);
UPDATE trajc.models SET batch_discount = 1 WHERE provider NOT IN ('gemini', 'openai', 'anthropic');
ALTER TABLE trajc.models ALTER COLUMN batch_discount SET DEFAULT 1;

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
  collected_at      timestamptz, -- every request's outcome stored; NULL = open
  -- trajc.redact was 'pii' at submit: the prompts showed placeholders, and
  -- collect verifies the replies against the redacted sessions
  redacted          boolean     NOT NULL DEFAULT false,
  -- names the job at the vendor (OpenAI metadata.trajc_job, Gemini's display
  -- name), unique across databases sharing an account: a collect finds by it
  -- a job whose submitter died before recording its remote_id
  label             text        NOT NULL
                    DEFAULT 'trajc-' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
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
  compile_id        bigint,
  -- session_id in every key, as for compile_log and qa_pairs (issue 14), so
  -- that the table can follow its sessions on Citus; custom_id is still
  -- unique per job (submit numbers them).
  PRIMARY KEY (batch_id, custom_id, session_id),
  FOREIGN KEY (session_id, compile_id) REFERENCES trajc.compile_log (session_id, id)
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
-- The identity's position too, as compile_log's: a restored database must not
-- number its next job from 1 again.
SELECT pg_catalog.pg_extension_config_dump('trajc.batches_id_seq', '');

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

-- Pair quality: the new columns, at the end of each table as in a fresh install.
ALTER TABLE trajc.compile_log ADD COLUMN redactions jsonb;
ALTER TABLE trajc.qa_pairs
  ADD COLUMN verified_by text,
  ADD COLUMN duplicate_of uuid,
  ADD COLUMN question_key text;

-- Pair quality (see "Pair quality" in docs/sql-api.md): literal verification
-- (verified_by), near-duplicates (question_key, duplicate_of, band keys) and
-- redaction counts (compile_log.redactions).
-- Exact repeats are found by key, the earliest first.
CREATE INDEX qa_pairs_question_key_idx ON trajc.qa_pairs (question_key, created_at, id);
-- ON DELETE SET NULL of duplicate_of looks pairs up by it.
CREATE INDEX qa_pairs_duplicate_of_idx ON trajc.qa_pairs (duplicate_of)
  WHERE duplicate_of IS NOT NULL;
-- duplicate_of names a pair of another session, which no foreign key can
-- say once pairs are distributed by session (Citus): a trigger clears it
-- when the original goes. On a Citus node it fires on a shard and leaves
-- the other shards alone (README, "Beyond one machine").
CREATE FUNCTION trajc.qa_pairs_unmark_repeats() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF TG_TABLE_NAME = 'qa_pairs' THEN
      UPDATE trajc.qa_pairs SET duplicate_of = NULL WHERE duplicate_of = OLD.id;
    END IF;
    RETURN NULL;
  END
  $$;
CREATE TRIGGER qa_pairs_unmark_repeats AFTER DELETE ON trajc.qa_pairs
  FOR EACH ROW EXECUTE FUNCTION trajc.qa_pairs_unmark_repeats();

-- MinHash/LSH band keys of every pair that is not itself a marked
-- duplicate: a new question is compared only with the pairs sharing one of
-- its 16 keys (the primary key's index), never with every pair.
CREATE TABLE trajc.qa_pair_bands (
  band_key    bigint NOT NULL,
  pair_id     uuid   NOT NULL,
  -- The pair's session: in every key of a per-session table (issue 14).
  session_id  text   NOT NULL,
  PRIMARY KEY (band_key, session_id, pair_id),
  FOREIGN KEY (session_id, pair_id) REFERENCES trajc.qa_pairs (session_id, id) ON DELETE CASCADE
);
CREATE INDEX qa_pair_bands_pair_idx ON trajc.qa_pair_bands (session_id, pair_id);
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

-- ===========================================================================
-- Citus (issue 14): trajc on a cluster whose audit log is distributed by
-- session. Begin of the Citus block; identical in trajc--0.2.0.sql and
-- trajc--0.1.0--0.2.0.sql. Design: docs/citus.md. Everything here is plain
-- PL/pgSQL that names Citus's catalogs only when Citus is there, so the
-- extension installs and works the same without it.
-- The rule: a session is read, compiled and stored only on the node holding
-- its shard (claims are advisory locks, which are per server).
-- ===========================================================================

-- True when trajc's tables are distributed (trajc_distribute() ran): then
-- batches fan out and a compile runs only where its session is.
CREATE FUNCTION trajc.citus_distributed() RETURNS boolean
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
      RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                    WHERE logicalrelid = 'trajc.qa_pairs'::regclass);
  END
  $$;

-- The node holding each session's shard (the first placement when a shard
-- has several), and whether that is this node; in the order given.
CREATE FUNCTION trajc.citus_placements(sessions text[])
  RETURNS TABLE(session_id text, node_name text, node_port int, here boolean, ord bigint)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN QUERY
      SELECT s.id, n.nodename::text, n.nodeport::int,
             n.groupid = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g), s.ord
        FROM unnest(sessions) WITH ORDINALITY AS s(id, ord)
       CROSS JOIN LATERAL (
               SELECT p.groupid FROM pg_catalog.pg_dist_placement p
                WHERE p.shardid = pg_catalog.get_shard_id_for_distribution_column(
                                    'trajc.qa_pairs', s.id)
                ORDER BY p.groupid LIMIT 1) AS pl
        JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary'
       ORDER BY s.ord;
  END
  $$;

-- Each given session with NULL when this node may compile it (trajc is not
-- distributed, or the session's shard is here), else the node holding it as
-- host:port; in the order given.
CREATE FUNCTION trajc.citus_split(sessions text[])
  RETURNS TABLE(session_id text, elsewhere text)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT trajc.citus_distributed() THEN
      RETURN QUERY SELECT s, NULL::text FROM unnest(sessions) s;
      RETURN;
    END IF;
    RETURN QUERY
      SELECT p.session_id, CASE WHEN NOT p.here THEN p.node_name || ':' || p.node_port END
        FROM trajc.citus_placements(sessions) p ORDER BY p.ord;
  END
  $$;

-- One node's share of a batch: compiles the given sessions there with that
-- node's own keys and trajc.concurrency, committing after each session when
-- called with CALL outside a transaction block, and returns one status row
-- per session as a json array. `settings` are the caller's user-level
-- settings (never a key or a base URL), applied to this session only.
-- Called by the fan-out over a fresh connection per node; revoked from
-- PUBLIC like the batch (grant it on every node to a role that may compile).
CREATE PROCEDURE trajc.compile_sessions(sessions text[], tier text, force boolean,
                                        settings jsonb, INOUT outcome jsonb DEFAULT NULL)
  AS 'MODULE_PATHNAME', 'trajc_compile_sessions' LANGUAGE C;
REVOKE ALL ON PROCEDURE trajc.compile_sessions(text[], text, boolean, jsonb, jsonb) FROM PUBLIC;

-- The caller's settings, passed by the node that fanned a batch out, applied
-- to this connection (a fresh one per call: master_run_on_worker). Only
-- settings any role may SET are taken: a key or a base URL (superuser
-- settings, each node's own) is refused, never applied. No SET clause: a
-- function's own SET would undo these at its end.
CREATE FUNCTION trajc.citus_apply_settings(settings jsonb) RETURNS void
  LANGUAGE plpgsql VOLATILE  -- for PUBLIC: it sets what the caller may SET anyway
  AS $$
  DECLARE
    refused text;
  BEGIN
    SELECT s.key INTO refused FROM pg_catalog.jsonb_each_text(settings) s
      LEFT JOIN pg_catalog.pg_settings p ON p.name = s.key
     WHERE p.context IS DISTINCT FROM 'user' LIMIT 1;
    IF refused IS NOT NULL THEN
      RAISE EXCEPTION 'setting "%" cannot be passed to a Citus node', refused
        USING ERRCODE = '22023',
        DETAIL = 'Only settings any role may SET are passed; keys and base URLs are each '
                 'node''s own.';
    END IF;
    PERFORM pg_catalog.set_config(s.key, s.value, false)
       FROM pg_catalog.jsonb_each_text(settings) s;
  END
  $$;

-- One node's part of a distributed batch's listing: trajc_extract(min_turns,
-- "limit") over each of the given shards of the audit log (local tables on
-- this node, named as trajc.source for the call), merged in trajc_extract's
-- order (most turns, then latest, then session id) and cut to "limit", as a
-- json array of (session_id, turn_count, last_at). The coordinator merges
-- the nodes' arrays the same way: the top "limit" of a union is the top
-- "limit" of its parts' tops, so the result is the whole log's listing.
-- For PUBLIC, like trajc_extract: it reads the log with the caller's rights.
CREATE FUNCTION trajc.citus_list_shards(shards text[], min_turns int, "limit" int,
                                        settings jsonb) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE
  AS $$
  DECLARE
    shard text;
    found jsonb := '[]';
  BEGIN
    PERFORM trajc.citus_apply_settings(settings);
    FOREACH shard IN ARRAY shards LOOP
      PERFORM pg_catalog.set_config('trajc.source', shard, true);
      found := found || coalesce(
        (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                  'session_id', e.session_id, 'turn_count', e.turn_count, 'last_at', e.last_at))
           FROM @extschema@.trajc_extract(min_turns, "limit") e), '[]');
    END LOOP;
    RETURN trajc.citus_top(found, "limit");
  END
  $$;

-- The first "limit" (0: all) of listed sessions, a json array of
-- (session_id, turn_count, last_at), in trajc_extract's order, as a json
-- array of the same: one place for the order, used on the nodes and on the
-- coordinator.
CREATE FUNCTION trajc.citus_top(listed jsonb, "limit" int) RETURNS jsonb
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                      'session_id', t.session_id, 'turn_count', t.turn_count,
                      'last_at', t.last_at)
                    ORDER BY t.turn_count DESC, t.last_at DESC, t.session_id), '[]')
      FROM (SELECT x.* FROM pg_catalog.jsonb_to_recordset(listed)
                              AS x(session_id text, turn_count int, last_at timestamptz)
             ORDER BY x.turn_count DESC, x.last_at DESC, x.session_id
             LIMIT CASE WHEN "limit" > 0 THEN "limit" END) t
  $$;

-- The sessions a distributed batch compiles, listed node by node (so that a
-- node that cannot be reached costs only its own part): each node holding
-- shards of the audit log lists them (trajc.citus_list_shards), all nodes at
-- once, and the tops are merged here, in trajc_extract's order, cut to
-- "limit". With every node up that is exactly trajc_extract(min_turns,
-- "limit") over the whole log; with a node down, the top of the others'
-- sessions. Each shard is listed on its first placement (as
-- trajc.citus_placements picks the node that compiles it). A node that could
-- not list is returned in `failures` ('node host:port failed: reason'). An audit
-- log that is not a hash-distributed table is listed as on one server.
-- For PUBLIC, like trajc_extract (the batch that calls it is not).
CREATE FUNCTION trajc.citus_list(min_turns int, "limit" int, settings jsonb,
                                 OUT listed text[], OUT failures text[])
  LANGUAGE plpgsql VOLATILE
  AS $$
  DECLARE
    src regclass := pg_catalog.to_regclass(pg_catalog.current_setting('trajc.source'));
    names text[] := '{}';
    ports int[] := '{}';
    commands text[] := '{}';
    tops jsonb := '[]';
    node record;
    r record;
  BEGIN
    failures := '{}';
    IF src IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                                   WHERE p.logicalrelid = src AND p.partmethod = 'h') THEN
      SELECT pg_catalog.array_agg(e.session_id ORDER BY e.ord) INTO listed
        FROM @extschema@.trajc_extract(min_turns, "limit")
               WITH ORDINALITY AS e(session_id, agent, turn_count, first_at, last_at, ord);
      RETURN;
    END IF;
    FOR node IN
      SELECT n.nodename::text AS node_name, n.nodeport::int AS node_port,
             pg_catalog.array_agg(pg_catalog.shard_name(src, sh.shardid, false)
                                  ORDER BY sh.shardid) AS shards
        FROM pg_catalog.pg_dist_shard sh
       CROSS JOIN LATERAL (
               SELECT p.groupid FROM pg_catalog.pg_dist_placement p
                WHERE p.shardid = sh.shardid ORDER BY p.groupid LIMIT 1) AS pl
        JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary'
       WHERE sh.logicalrelid = src
       GROUP BY n.nodename, n.nodeport ORDER BY n.nodename, n.nodeport
    LOOP
      names := names || node.node_name;
      ports := ports || node.node_port;
      commands := commands || pg_catalog.format(
        'SELECT trajc.citus_list_shards(%L::text[], %s, %s, %L::jsonb)', node.shards,
        min_turns, "limit", settings);
    END LOOP;
    FOR r IN
      SELECT m.node_name, m.node_port, m.success, m.result
        FROM pg_catalog.master_run_on_worker(names, ports, commands, true)
               AS m(node_name, node_port, success, result)
    LOOP
      IF r.success THEN
        tops := tops || r.result::jsonb;
      ELSE
        failures := failures || pg_catalog.format('node %s:%s failed: %s', r.node_name, r.node_port,
                      coalesce(nullif(pg_catalog.btrim(r.result), ''), 'no reason given'));
      END IF;
    END LOOP;
    SELECT pg_catalog.array_agg(t.e->>'session_id' ORDER BY t.ord) INTO listed
      FROM pg_catalog.jsonb_array_elements(trajc.citus_top(tops, "limit"))
             WITH ORDINALITY AS t(e, ord);
  END
  $$;

-- The caller's settings a distributed batch passes to every node with each
-- call (the listing's and the compile's): its user-level trajc.* settings
-- and search_path, never a key or a base URL (superuser-only settings: each
-- node uses its own). The connection check stops a node's work soon after
-- the coordinator's call is cancelled (its finished sessions are committed
-- there). For PUBLIC: it reads settings the caller can read anyway.
CREATE FUNCTION trajc.citus_settings() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(pg_catalog.jsonb_object_agg(s.name, s.setting), '{}')
           || pg_catalog.jsonb_build_object('search_path', pg_catalog.current_setting('search_path'),
                                 'client_connection_check_interval', '1000')
      FROM pg_catalog.pg_settings s
     WHERE s.name LIKE 'trajc.%' AND s.context = 'user'
  $$;

-- One round of the fan-out behind trajc_compile_batch, CALL
-- trajc_compile_pending and background jobs on a distributed trajc (the
-- caller, src/pg/citus.cpp, lists the sessions node by node with
-- trajc.citus_list, then calls this until none is left): of `sessions`
-- (those listed and not yet compiled, in the listing's order), each node
-- gets the first `per_node` (0: all) of those it holds, in one CALL
-- trajc.compile_sessions per node, all nodes at once (master_run_on_worker:
-- Citus's parallel primitive behind run_command_on_workers, one new
-- connection per node). A batch is one round; a job has several, recording
-- its progress after each. A node that fails has every one of its sessions
-- (this round's and the rest) reported failed with the node and the reason,
-- and `node_failure` set on those rows (the callers turn them into a job's
-- error); the others go on. Budgets of the whole batch are shared out by
-- each node's share of the round's sessions: trajc.max_cost_usd less what
-- earlier rounds `spent`, and trajc.max_requests_per_minute.
-- No SET search_path here, nor in trajc_distribute(): trajc.source is the
-- caller's name, resolved with the caller's search_path (which is passed on
-- to the nodes); everything else is schema-qualified.
CREATE FUNCTION trajc.citus_fan_out(sessions text[], per_node int, tier text, force boolean,
                                    settings jsonb, spent float8)
  RETURNS TABLE(session_id text, status text, pairs int, rejected int, cost_usd numeric,
                error text, node_failure boolean)
  LANGUAGE plpgsql VOLATILE
  AS $$
  DECLARE
    names text[] := '{}';
    ports int[] := '{}';
    groups text[] := '{}';  -- each node's sessions this round, as text of a text[]
    rests text[] := '{}';   -- and its sessions left for later rounds
    commands text[] := '{}';
    node record;
    sent int := 0;
    budget float8;
    share float8;
    i int;
    r record;
  BEGIN
    IF coalesce(pg_catalog.cardinality(sessions), 0) > 0 THEN
      FOR node IN
        SELECT p.node_name, p.node_port, pg_catalog.array_agg(p.session_id ORDER BY p.ord) AS ids
          FROM trajc.citus_placements(sessions) p
         GROUP BY p.node_name, p.node_port ORDER BY p.node_name, p.node_port
      LOOP
        names := names || node.node_name;
        ports := ports || node.node_port;
        groups := groups || (CASE WHEN per_node > 0 THEN node.ids[1:per_node]
                                  ELSE node.ids END)::text;
        rests := rests || (CASE WHEN per_node > 0 THEN node.ids[per_node + 1:]
                                ELSE '{}' END)::text;
        sent := sent + CASE WHEN per_node > 0 THEN least(per_node, pg_catalog.cardinality(node.ids))
                            ELSE pg_catalog.cardinality(node.ids) END;
      END LOOP;
    END IF;
    IF sent = 0 THEN
      RETURN;
    END IF;
    -- 0 is unlimited; a budget spent by earlier rounds leaves the smallest
    -- positive one, which refuses every request as on one server.
    budget := (settings->>'trajc.max_cost_usd')::float8;
    IF budget > 0 THEN
      budget := greatest(budget - coalesce(spent, 0), 1e-12);
    END IF;
    FOR i IN 1 .. pg_catalog.cardinality(names) LOOP
      share := pg_catalog.cardinality(groups[i]::text[])::float8 / sent;
      commands := commands || pg_catalog.format(
        'CALL trajc.compile_sessions(%L::text[], %L, %L, %L::jsonb)', groups[i], tier, force,
        settings
          || pg_catalog.jsonb_build_object('trajc.max_cost_usd',
                                (coalesce(budget, 0) * share)::text)
          || pg_catalog.jsonb_build_object('trajc.max_requests_per_minute',
                                CASE WHEN (settings->>'trajc.max_requests_per_minute')::int > 0
                                     THEN greatest(1, pg_catalog.floor((settings->>'trajc.max_requests_per_minute')::int
                                                            * share))::int::text
                                     ELSE '0' END));
    END LOOP;
    FOR r IN
      SELECT m.success, m.result, m.node_name, m.node_port, groups[m.i]::text[] AS ids,
             rests[m.i]::text[] AS rest
        FROM pg_catalog.master_run_on_worker(names, ports, commands, true)
               WITH ORDINALITY AS m(node_name, node_port, success, result, i)
    LOOP
      IF r.success THEN
        -- A session the node left out no longer has its shard there (moved
        -- since the listing): not compiled, reported failed.
        RETURN QUERY
          WITH got AS (
            SELECT x.* FROM pg_catalog.jsonb_to_recordset(r.result::jsonb)
                              AS x(session_id text, status text, pairs int, rejected int,
                                   cost_usd numeric, error text))
          SELECT got.session_id, got.status, got.pairs, got.rejected, got.cost_usd, got.error,
                 false
            FROM got
          UNION ALL
          SELECT s, 'failed'::text, 0, 0, 0::numeric,
                 pg_catalog.format('not compiled: node %s:%s no longer holds it',
                                   r.node_name, r.node_port), false
            FROM pg_catalog.unnest(r.ids) AS s
           WHERE s NOT IN (SELECT got.session_id FROM got);
      ELSE
        -- Also a WARNING: the procedure has no rows to show it in.
        RAISE WARNING 'trajc: % session(s) not compiled: node %:% failed: %',
          pg_catalog.cardinality(r.ids) + pg_catalog.cardinality(r.rest), r.node_name,
          r.node_port, coalesce(nullif(pg_catalog.btrim(r.result), ''), 'no reason given');
        RETURN QUERY
          SELECT s, 'failed'::text, 0, 0, 0::numeric,
                 pg_catalog.format('node %s:%s failed: %s', r.node_name, r.node_port,
                        coalesce(nullif(pg_catalog.btrim(r.result), ''), 'no reason given')),
                 true
            FROM pg_catalog.unnest(r.ids || r.rest) AS s;
      END IF;
    END LOOP;
  END
  $$;
-- It runs batches as its caller: like them, not for PUBLIC (the compiling
-- role's grant recipe is in the README, "Beyond one machine").
REVOKE ALL ON FUNCTION trajc.citus_fan_out(text[], int, text, boolean, jsonb, float8) FROM PUBLIC;

-- trajc_distribute(): makes trajc's tables and compile functions follow the
-- distributed audit log (see docs/citus.md and the README, "Beyond one
-- machine"). Run on the coordinator by the extension's owner, after
-- create_distributed_table(<trajc.source>, <trajc.session_column>).
-- Idempotent: every step checks first and says what it did.
CREATE FUNCTION @extschema@.trajc_distribute()
  RETURNS TABLE(object text, action text)
  LANGUAGE plpgsql VOLATILE
  AS $$
  DECLARE
    src regclass;
    col text := pg_catalog.current_setting('trajc.session_column');
    src_coloc int;
    t regclass;
    f regprocedure;
    method "char";
    dist_col text;
    coloc int;
    moved regclass[] := '{}';
    failed text;
    fk record;
    set_aside text[] := '{}';
    ddl text;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
      RAISE EXCEPTION 'trajc_distribute() needs Citus' USING ERRCODE = '55000',
        HINT = 'CREATE EXTENSION citus, add the workers, and distribute the audit log by its '
               'session column first.';
    END IF;
    src := pg_catalog.to_regclass(pg_catalog.current_setting('trajc.source'));
    IF src IS NULL THEN
      RAISE EXCEPTION 'trajc.source "%" does not exist', pg_catalog.current_setting('trajc.source')
        USING ERRCODE = '42P01';
    END IF;
    SELECT p.partmethod, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), p.colocationid
      INTO method, dist_col, src_coloc
      FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = src;
    IF method IS DISTINCT FROM 'h' OR dist_col IS DISTINCT FROM col THEN
      RAISE EXCEPTION 'the audit log % is not distributed by its session column "%"', src, col
        USING ERRCODE = '55000',
        HINT = pg_catalog.format('SELECT create_distributed_table(%L, %L);', src::text, col);
    END IF;
    IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = src AND a.attname = col) <> 'text'::regtype THEN
      RAISE EXCEPTION 'the session column "%" of % must be of type text to be colocated with '
                      'trajc''s tables', col, src USING ERRCODE = '42804';
    END IF;

    -- Each node inserts compile_log rows with its own sequence: give each
    -- worker its own range (2^48 ids per node group, as Citus does for
    -- bigserial) so that ids stay unique cluster-wide. Done first, on
    -- connections of their own, while this transaction holds no lock.
    -- The coordinator (group 0) keeps 1 .. 2^48 - 1.
    SELECT pg_catalog.string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ')
      INTO failed
      FROM pg_catalog.run_command_on_workers($cmd$
      DO $range$
      DECLARE
        lo bigint := (SELECT groupid FROM pg_catalog.pg_dist_local_group) * 281474976710656 + 1;
        seq regclass := pg_catalog.pg_get_serial_sequence('trajc.compile_log', 'id')::regclass;
      BEGIN
        IF (SELECT seqmin FROM pg_catalog.pg_sequence WHERE seqrelid = seq) <> lo THEN
          -- Citus refuses to alter a distributed table's sequence cluster-wide;
          -- this is one node's own sequence.
          PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
          EXECUTE pg_catalog.format('ALTER SEQUENCE %s MINVALUE %s MAXVALUE %s START %s RESTART',
                                    seq, lo, lo + 281474976710654, lo);
        END IF;
      END
      $range$
    $cmd$) w
     WHERE NOT w.success;
    IF failed IS NOT NULL THEN
      RAISE EXCEPTION 'could not give the workers their compile_log id ranges: %', failed
        USING ERRCODE = '55000', HINT = 'Every worker must be up; call trajc_distribute() again.';
    END IF;
    object := 'compile_log ids';
    action := 'a range per node';
    RETURN NEXT;

    -- One connection per node for the whole transaction: Citus needs it once
    -- a foreign key to a reference table is involved (batch_requests).
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- Tables with triggers (models_replace_seed, qa_pairs_unmark_repeats)
    -- are distributed only when Citus is told it is safe: each acts on the
    -- placement it fires on alone.
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);

    -- A per-session table's foreign key to a table that becomes a reference
    -- table (batch_requests -> batches) is set aside while both change kind
    -- (Citus would otherwise turn the local tables of the whole foreign-key
    -- graph into Citus local tables) and added back, the same, afterwards.
    FOR fk IN
      SELECT c.conrelid::regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
        FROM pg_catalog.pg_constraint c
       WHERE c.contype = 'f'
         AND c.conrelid = ANY (ARRAY[pg_catalog.to_regclass('trajc.compile_log'),
                                     pg_catalog.to_regclass('trajc.qa_pairs'),
                                     pg_catalog.to_regclass('trajc.qa_pair_bands'),
                                     pg_catalog.to_regclass('trajc.batch_requests'),
                                     pg_catalog.to_regclass('trajc.eval_answers')])
         AND c.confrelid = ANY (ARRAY[pg_catalog.to_regclass('trajc.models'),
                                      pg_catalog.to_regclass('trajc.batches'),
                                      pg_catalog.to_regclass('trajc.eval_runs')])
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                          WHERE p.logicalrelid = c.confrelid)
    LOOP
      -- On every node: each has the table, and Citus adds the key back to all.
      PERFORM pg_catalog.run_command_on_workers(pg_catalog.format(
        $cmd$DO $drop$ BEGIN
           PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
           ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I;
         END $drop$ $cmd$, fk.rel, fk.conname));
      EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
      set_aside := set_aside || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                                  fk.rel, fk.conname, fk.def);
    END LOOP;

    -- Tables per session, colocated with the audit log; compile_log first:
    -- the others refer to it. An eval answer is a pair's (its key includes
    -- the pair's session): it lives in the pair's shard, so the pairs still
    -- to ask are an anti-join within each shard.
    FOREACH t IN ARRAY ARRAY[pg_catalog.to_regclass('trajc.compile_log'),
                             pg_catalog.to_regclass('trajc.qa_pairs'),
                             pg_catalog.to_regclass('trajc.qa_pair_bands'),
                             pg_catalog.to_regclass('trajc.batch_requests'),
                             pg_catalog.to_regclass('trajc.eval_answers')] LOOP
      CONTINUE WHEN t IS NULL;
      object := t::text;
      SELECT p.colocationid INTO coloc FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = t;
      IF NOT FOUND THEN
        PERFORM pg_catalog.create_distributed_table(t, 'session_id', colocate_with => src::text);
        moved := t || moved;
        action := pg_catalog.format('distributed by session_id, colocated with %s', src);
      ELSIF coloc = src_coloc THEN
        action := 'already distributed';
      ELSE
        RAISE EXCEPTION '% is distributed but not colocated with the audit log %', t, src
          USING ERRCODE = '55000',
          HINT = pg_catalog.format('SELECT undistribute_table(%L); then call trajc_distribute() again.', t);
      END IF;
      RETURN NEXT;
    END LOOP;

    -- Tables every node reads whole: reference tables (a copy on each node).
    -- eval_runs is one row per run, which the answers' shards refer to (a
    -- distributed table's key may only point at a reference table).
    -- trajc.jobs is not here: a job is the coordinator's (its worker runs
    -- there and fans out), so it stays a local table.
    FOREACH t IN ARRAY ARRAY[pg_catalog.to_regclass('trajc.models'),
                             pg_catalog.to_regclass('trajc.batches'),
                             pg_catalog.to_regclass('trajc.eval_runs')] LOOP
      CONTINUE WHEN t IS NULL;
      object := t::text;
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = t) THEN
        action := 'already a reference table';
      ELSE
        -- Citus distributes a table with triggers only when told to
        -- (citus.enable_unsafe_triggers, on below): trajc's triggers act on
        -- the placement they fire on, never on another node.
        PERFORM pg_catalog.create_reference_table(t);
        moved := moved || t;
        action := 'reference table';
      END IF;
      RETURN NEXT;
    END LOOP;

    FOREACH ddl IN ARRAY set_aside LOOP
      EXECUTE ddl;
    END LOOP;
    -- The rows were copied into the shards; the coordinator's own copy would
    -- only take space (referencing tables first).
    FOREACH t IN ARRAY moved LOOP
      PERFORM pg_catalog.truncate_local_data_after_distributing_table(t);
    END LOOP;

    FOR f IN
      SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.oid IN (pg_catalog.to_regprocedure('@extschema@.trajc_compile(text,text,boolean)'),
                       pg_catalog.to_regprocedure('@extschema@.trajc_compile_session(text,text,boolean)'))
       ORDER BY p.proname
    LOOP
      object := f::text;
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object o
                  WHERE o.classid = 'pg_catalog.pg_proc'::regclass AND o.objid = f
                    AND o.distribution_argument_index = 0 AND o.colocationid = src_coloc) THEN
        action := 'already delegated by session_id';
      ELSE
        PERFORM pg_catalog.create_distributed_function(f, 'session_id',
                                                      colocate_with => src::text);
        action := 'delegated by session_id';
      END IF;
      RETURN NEXT;
    END LOOP;
  END
  $$;
REVOKE ALL ON FUNCTION @extschema@.trajc_distribute() FROM PUBLIC;
-- End of the Citus block.

-- ===========================================================================
-- Recall (issue 11): did a memory layer bring back the supporting turns?
-- Begin of the recall block; identical in trajc--0.2.0.sql and
-- trajc--0.1.0--0.2.0.sql. Definitions: docs/eval-recall.md.
-- Everything here runs with the caller's rights (SECURITY INVOKER): the
-- retrievals relation, the audit log and trajc.qa_pairs are read as the
-- caller, so a regclass argument can never read what the caller cannot.
-- ===========================================================================

-- The metrics of one ranked list against one set of supporting turns: the
-- single definition trajc_recall and trajc_recall_report share. Only the
-- first k positions count; a turn repeated in the list scores once, at its
-- first position; NULLs and turns that support nothing are misses.
--   recall     = |supporting ∩ top k| / |supporting|
--   recall_all = every supporting turn is in the top k
--   recall_any = at least one is
--   precision  = |supporting ∩ top k| / k   (k, not the list's length, as
--                trec_eval's P@k: a short list does not raise precision)
--   ndcg       = DCG / IDCG, binary relevance, DCG = Σ 1 / log2(pos + 1)
--                over the first position of each supporting turn in the
--                top k, IDCG the same for min(k, |supporting|) hits at
--                positions 1, 2, ...
CREATE FUNCTION trajc.recall_metrics(supporting int[], retrieved int[], k int,
                                     OUT recall real, OUT recall_all boolean,
                                     OUT recall_any boolean, OUT "precision" real,
                                     OUT ndcg real)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS $$
    WITH s AS (SELECT DISTINCT t FROM unnest(supporting) t WHERE t IS NOT NULL),
         hits AS (SELECT min(r.pos) AS pos
                    FROM unnest(retrieved) WITH ORDINALITY AS r(t, pos)
                    JOIN s ON s.t = r.t
                   WHERE r.pos <= k
                   GROUP BY r.t),
         h AS (SELECT count(*) AS n, coalesce(sum(ln(2) / ln(pos + 1.0)), 0) AS dcg FROM hits),
         i AS (SELECT count(*) AS n,
                      (SELECT sum(ln(2) / ln(g + 1.0))
                         FROM generate_series(1, least(k, (SELECT count(*) FROM s))) g) AS idcg
                 FROM s)
    SELECT (h.n::float8 / nullif(i.n, 0))::real, i.n > 0 AND h.n = i.n, h.n > 0,
           (h.n::float8 / k)::real, (h.dcg / nullif(i.idcg, 0))::real
      FROM h, i
  $$;

-- The pair's supporting turns. Like an unknown session for trajc_compile,
-- an unknown pair is P0002 and a NULL one 22004.
CREATE FUNCTION trajc.pair_supporting_turns(pair_id uuid) RETURNS int[]
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    turns int[];
  BEGIN
    IF pair_id IS NULL THEN
      RAISE EXCEPTION 'pair_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT array(SELECT e::int FROM jsonb_array_elements_text(p.supporting_turns) e)
      INTO turns FROM trajc.qa_pairs p WHERE p.id = $1;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no QA pair with id %', pair_id USING ERRCODE = 'P0002',
        HINT = 'Pair ids are trajc.qa_pairs.id.';
    END IF;
    RETURN turns;
  END
  $$;

-- k of recall@k: at least 1 (22023; NULL 22004).
CREATE FUNCTION trajc.check_k(k int) RETURNS void
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF k IS NULL THEN
      RAISE EXCEPTION 'k must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF k < 1 THEN
      RAISE EXCEPTION 'k must be a positive number of turns, got %', k USING ERRCODE = '22023';
    END IF;
  END
  $$;

CREATE FUNCTION @extschema@.trajc_recall(pair_id uuid, retrieved int[], k int DEFAULT 10)
  RETURNS TABLE(recall real, recall_all boolean, recall_any boolean, "precision" real,
                ndcg real)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    PERFORM trajc.check_k(k);
    IF retrieved IS NULL THEN
      RAISE EXCEPTION 'retrieved must be an array of turn numbers (empty for nothing retrieved), not NULL'
        USING ERRCODE = '22004';
    END IF;
    RETURN QUERY SELECT * FROM trajc.recall_metrics(trajc.pair_supporting_turns(pair_id),
                                                    retrieved, k);
  END
  $$;

-- The retrievals relation must have pair_id uuid, rank and turn of an
-- integer type: 42703 for a missing column, 42804 for a wrong type, 42809
-- for something that is not a table or view.
CREATE FUNCTION trajc.check_retrievals(retrievals regclass) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    want constant text[][] := ARRAY[['pair_id', 'uuid'], ['rank', 'integer'], ['turn', 'integer']];
    col_type regtype;
  BEGIN
    IF retrievals IS NULL THEN
      RAISE EXCEPTION 'retrievals must name a table or view, not NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = retrievals
                      AND relkind IN ('r', 'v', 'm', 'f', 'p')) THEN
      RAISE EXCEPTION '% is not a table or view', retrievals USING ERRCODE = '42809';
    END IF;
    FOR i IN 1 .. 3 LOOP
      SELECT a.atttypid::regtype INTO col_type FROM pg_attribute a
       WHERE a.attrelid = retrievals AND a.attname = want[i][1]
         AND a.attnum > 0 AND NOT a.attisdropped;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'retrievals % has no column "%"', retrievals, want[i][1]
          USING ERRCODE = '42703',
                HINT = 'It needs the columns (pair_id uuid, rank int, turn int).';
      END IF;
      IF (want[i][2] = 'uuid' AND col_type <> 'uuid'::regtype)
         OR (want[i][2] = 'integer' AND col_type NOT IN ('smallint', 'integer', 'bigint')) THEN
        RAISE EXCEPTION 'column "%" of retrievals % is %, not %', want[i][1], retrievals,
          col_type, want[i][2]
          USING ERRCODE = '42804',
                HINT = 'It needs the columns (pair_id uuid, rank int, turn int).';
      END IF;
    END LOOP;
  END
  $$;

-- precision is added after the contract's columns (the issue asks for it
-- per qa_type too); the contract's columns keep their names and order.
CREATE FUNCTION @extschema@.trajc_recall_report(retrievals regclass, k int DEFAULT 10)
  RETURNS TABLE(qa_type text, pairs int, recall real, recall_all real, recall_any real,
                ndcg real, "precision" real)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    bad uuid;
    nulls boolean;
  BEGIN
    PERFORM trajc.check_k(k);
    PERFORM trajc.check_retrievals(retrievals);
    -- regclass prints as a quoted, schema-qualified name: never spliced text.
    EXECUTE format('SELECT bool_or(r.pair_id IS NULL) FROM %s r', retrievals) INTO nulls;
    -- The relation's pairs first, then those of them trajc.qa_pairs has: on
    -- Citus a local relation is not joined to the shards directly, but its
    -- ids can be looked up in them.
    EXECUTE format($q$
      WITH named AS MATERIALIZED (
             SELECT DISTINCT r.pair_id FROM %s r WHERE r.pair_id IS NOT NULL),
           known AS MATERIALIZED (
             SELECT p.id FROM trajc.qa_pairs p WHERE p.id IN (SELECT n.pair_id FROM named n))
      SELECT n.pair_id FROM named n WHERE n.pair_id NOT IN (SELECT k.id FROM known k)
       LIMIT 1$q$, retrievals)
      INTO bad;
    IF nulls THEN
      RAISE EXCEPTION 'retrievals % has rows with a NULL pair_id', retrievals
        USING ERRCODE = '22004';
    END IF;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'retrievals % names pair % which is not in trajc.qa_pairs', retrievals, bad
        USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY EXECUTE format($q$
      WITH lists AS (
        SELECT r.pair_id, array_agg(r.turn::int ORDER BY r.rank, r.turn) AS retrieved
          FROM %s r GROUP BY r.pair_id),
      per_pair AS (
        SELECT p.qa_type, m.*
          FROM lists l
          JOIN trajc.qa_pairs p ON p.id = l.pair_id
          CROSS JOIN LATERAL trajc.recall_metrics(
            array(SELECT e::int FROM jsonb_array_elements_text(p.supporting_turns) e),
            l.retrieved, $1) m),
      types(qa_type, ord) AS (
        VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4))
      SELECT coalesce(t.qa_type, 'total'), count(pp.qa_type)::int,
             avg(pp.recall)::real, avg(pp.recall_all::int)::real, avg(pp.recall_any::int)::real,
             avg(pp.ndcg)::real, avg(pp."precision")::real
        FROM types t LEFT JOIN per_pair pp ON pp.qa_type = t.qa_type
       GROUP BY ROLLUP ((t.qa_type, t.ord))
       ORDER BY t.ord IS NULL, t.ord$q$, retrievals)
      USING k;
  END
  $$;

-- Baselines any memory layer should beat, over the session as it was
-- compiled (turns 1 .. the pair's turn_count):
--   'fts'    turns matching any lexeme of the question, ranked by
--            ts_rank(to_tsvector('english', content), q) where q ORs the
--            question's lexemes (plainto_tsquery would AND them and match
--            almost nothing); ties by turn; content as trajc_turns renders
--            it, its first 500,000 characters (tsvector's 1 MB limit).
--   'recent' the last k turns, newest first; score = turn / turn_count.
CREATE FUNCTION @extschema@.trajc_retrieve(pair_id uuid, k int DEFAULT 10,
                                           method text DEFAULT 'fts')
  RETURNS TABLE(rank int, turn int, score real)
  -- No pinned search_path: trajc_turns resolves trajc.source with the
  -- caller's, as it does when called directly. Everything else here is
  -- schema-qualified.
  LANGUAGE plpgsql STABLE
  AS $$
  #variable_conflict use_column
  DECLARE
    pair record;
    query pg_catalog.tsquery;
  BEGIN
    PERFORM trajc.check_k(k);
    IF method IS NULL OR method NOT IN ('fts', 'recent') THEN
      RAISE EXCEPTION 'unknown retrieval method "%"', coalesce(method, 'NULL')
        USING ERRCODE = '22023', HINT = 'Use fts or recent.';
    END IF;
    PERFORM trajc.pair_supporting_turns(pair_id);  -- P0002 for an unknown pair
    SELECT p.session_id, p.question, p.turn_count INTO pair
      FROM trajc.qa_pairs p WHERE p.id = $1;
    IF method = 'recent' THEN
      RETURN QUERY
        SELECT g::int, (pair.turn_count - g + 1)::int,
               ((pair.turn_count - g + 1)::float8 / pair.turn_count)::real
          FROM pg_catalog.generate_series(1, least(k, pair.turn_count)) g;
      RETURN;
    END IF;
    -- The OR of the question's lexemes, each quoted so that tsquery takes it
    -- as one lexeme and does not parse it again.
    SELECT pg_catalog.string_agg(
             '''' || pg_catalog.replace(pg_catalog.replace(l, '\', '\\'), '''', '''''') || '''',
             ' | ')::pg_catalog.tsquery
      INTO query
      FROM pg_catalog.unnest(pg_catalog.tsvector_to_array(
             pg_catalog.to_tsvector('pg_catalog.english', pair.question))) l;
    IF query IS NULL THEN
      RETURN;  -- only stop words: nothing to match
    END IF;
    RETURN QUERY
      SELECT (pg_catalog.row_number() OVER (ORDER BY m.score DESC, m.turn))::int, m.turn, m.score
        FROM (SELECT d.turn, pg_catalog.ts_rank(d.doc, query) AS score
                FROM (SELECT t.turn,
                             pg_catalog.to_tsvector('pg_catalog.english',
                                                 pg_catalog.left(t.content, 500000)) AS doc
                        FROM @extschema@.trajc_turns(pair.session_id) t
                       WHERE t.turn <= pair.turn_count) d
               WHERE d.doc @@ query) m
       ORDER BY 1
       LIMIT k;
  END
  $$;
-- End of the recall block.

-- ===========================================================================
-- Eval (issue 11): does a model still answer our questions?
-- Begin of the eval block; identical in trajc--0.2.0.sql and
-- trajc--0.1.0--0.2.0.sql. Definitions: docs/eval-recall.md.
-- ===========================================================================

-- One row per eval run. A run is named by its label; calling trajc_eval
-- again with the label resumes it (pairs already answered are kept).
CREATE TABLE trajc.eval_runs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label        text        NOT NULL UNIQUE CHECK (label <> ''),
  provider     text        NOT NULL,
  model        text        NOT NULL,
  grader       text        NOT NULL CHECK (grader IN ('match', 'judge')),
  judge_model  text,                    -- set when grader = 'judge'
  pair_limit   int         NOT NULL DEFAULT 0 CHECK (pair_limit >= 0),  -- the selection,
  qa_type      text,                    -- kept so that a resumed run asks the same pairs
  pairs        int         NOT NULL DEFAULT 0,  -- answered (graded) so far
  correct      int         NOT NULL DEFAULT 0,
  cost_usd     numeric     NOT NULL DEFAULT 0,  -- candidate and judge calls
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz                       -- NULL while pairs remain
);
COMMENT ON TABLE trajc.eval_runs IS 'One row per eval run (trajc_eval), by label.';

-- One row per pair asked in a run. correct is NULL when the pair could not
-- be graded (a failed request, a judge reply that was neither yes nor no):
-- such pairs count as not answered, and a resumed run asks them again.
CREATE TABLE trajc.eval_answers (
  run_id            bigint      NOT NULL REFERENCES trajc.eval_runs (id) ON DELETE CASCADE,
  session_id        text        NOT NULL,   -- the pair's: keys of per-session tables include it
  pair_id           uuid        NOT NULL,
  answer            text,                       -- the candidate's answer, NULL if none came
  correct           boolean,
  score             real,                       -- match: 1 or token F1; judge: 1 or 0
  judge_reason      text,                       -- how it was graded, or why it was not
  tokens_in         bigint      NOT NULL DEFAULT 0,  -- the candidate's call
  tokens_out        bigint      NOT NULL DEFAULT 0,
  cost_usd          numeric     NOT NULL DEFAULT 0,  -- the candidate's call
  judge_tokens_in   bigint      NOT NULL DEFAULT 0,
  judge_tokens_out  bigint      NOT NULL DEFAULT 0,
  judge_cost_usd    numeric     NOT NULL DEFAULT 0,
  answered_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, session_id, pair_id),
  FOREIGN KEY (session_id, pair_id) REFERENCES trajc.qa_pairs (session_id, id) ON DELETE CASCADE
);
CREATE INDEX eval_answers_pair_idx ON trajc.eval_answers (pair_id);
COMMENT ON TABLE trajc.eval_answers IS 'Each pair''s answer in an eval run, graded.';

SELECT pg_catalog.pg_extension_config_dump('trajc.eval_runs', '');
-- The identity's position too: a restored database must not hand out a
-- run id a restored row holds.
SELECT pg_catalog.pg_extension_config_dump('trajc.eval_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('trajc.eval_answers', '');

-- The run of a label, or P0002 naming it.
CREATE FUNCTION trajc.eval_run_id(label text) RETURNS bigint
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    run bigint;
  BEGIN
    IF label IS NULL THEN
      RAISE EXCEPTION 'an eval label must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT r.id INTO run FROM trajc.eval_runs r WHERE r.label = $1;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no eval run labelled "%"', label USING ERRCODE = 'P0002',
        HINT = 'Labels are in trajc.eval_runs; start a run with trajc_eval(label, ...).';
    END IF;
    RETURN run;
  END
  $$;

-- What trajc_eval returns, for a whole run (pairs answered earlier
-- included): per qa_type and total, the pairs graded, how many were right,
-- accuracy, and the cost of every call made (graded or not). Joins between
-- per-session tables name the session too: on Citus they then stay within
-- each shard (docs/citus.md).
CREATE FUNCTION trajc.eval_summary(run bigint)
  RETURNS TABLE(qa_type text, pairs int, correct int, accuracy real, cost_usd numeric)
  -- PL/pgSQL, not SQL: Citus plans no SQL function's parameter over
  -- distributed tables.
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN QUERY
      WITH types(qa_type, ord) AS (
        VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4))
      SELECT coalesce(t.qa_type, 'total'), count(a.correct)::int,
             (count(*) FILTER (WHERE a.correct))::int, avg(a.correct::int)::real,
             coalesce(sum(a.cost_usd + a.judge_cost_usd), 0)
        FROM types t
        LEFT JOIN (trajc.eval_answers a
                   JOIN trajc.qa_pairs p ON p.session_id = a.session_id AND p.id = a.pair_id)
          ON p.qa_type = t.qa_type AND a.run_id = run
       GROUP BY ROLLUP ((t.qa_type, t.ord))
       ORDER BY t.ord IS NULL, t.ord;
  END
  $$;

-- Accuracy per qa_type (and total) of run a and, when given, run b, over the
-- pairs both answered; a_only / b_only count the pairs only that run got
-- right (with one run: accuracy_b, delta, a_only and b_only are NULL).
CREATE FUNCTION @extschema@.trajc_eval_report(label_a text, label_b text DEFAULT NULL)
  RETURNS TABLE(qa_type text, pairs int, accuracy_a real, accuracy_b real, delta real,
                a_only int, b_only int)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    run_a constant bigint := trajc.eval_run_id(label_a);
    run_b constant bigint := CASE WHEN label_b IS NULL THEN NULL ELSE trajc.eval_run_id(label_b) END;
  BEGIN
    RETURN QUERY
      WITH both_answered AS (
        SELECT p.qa_type, a.correct AS a_ok, b.correct AS b_ok
          FROM trajc.eval_answers a
          JOIN trajc.qa_pairs p ON p.session_id = a.session_id AND p.id = a.pair_id
          LEFT JOIN trajc.eval_answers b
            ON b.run_id = run_b AND b.session_id = a.session_id AND b.pair_id = a.pair_id
         WHERE a.run_id = run_a AND a.correct IS NOT NULL
           AND (run_b IS NULL OR b.correct IS NOT NULL)),
      types(qa_type, ord) AS (
        VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4))
      SELECT coalesce(t.qa_type, 'total'), count(x.a_ok)::int,
             avg(x.a_ok::int)::real,
             CASE WHEN run_b IS NOT NULL THEN avg(x.b_ok::int)::real END,
             CASE WHEN run_b IS NOT NULL THEN (avg(x.b_ok::int) - avg(x.a_ok::int))::real END,
             CASE WHEN run_b IS NOT NULL THEN count(*) FILTER (WHERE x.a_ok AND NOT x.b_ok)::int END,
             CASE WHEN run_b IS NOT NULL THEN count(*) FILTER (WHERE x.b_ok AND NOT x.a_ok)::int END
        FROM types t LEFT JOIN both_answered x ON x.qa_type = t.qa_type
       GROUP BY ROLLUP ((t.qa_type, t.ord))
       ORDER BY t.ord IS NULL, t.ord;
  END
  $$;
-- Asking a candidate model: these reach the network, so nobody but the
-- owner may call them until granted (see README, "Privileges").
CREATE FUNCTION @extschema@.trajc_eval(label text, provider text DEFAULT NULL,
                                       model text DEFAULT NULL, "limit" int DEFAULT 0,
                                       qa_type text DEFAULT NULL, grader text DEFAULT 'auto')
  RETURNS TABLE(qa_type text, pairs int, correct int, accuracy real, cost_usd numeric)
  AS 'MODULE_PATHNAME', 'trajc_eval' LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;

-- trajc_eval as a procedure that commits after each answer (long runs,
-- interruptions): the same call resumes the run.
CREATE PROCEDURE @extschema@.trajc_eval_pending(label text, provider text DEFAULT NULL,
                                                model text DEFAULT NULL, "limit" int DEFAULT 0,
                                                qa_type text DEFAULT NULL,
                                                grader text DEFAULT 'auto')
  AS 'MODULE_PATHNAME', 'trajc_eval_pending' LANGUAGE C;

REVOKE ALL ON FUNCTION @extschema@.trajc_eval(text, text, text, int, text, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.trajc_eval_pending(text, text, text, int, text, text) FROM PUBLIC;
-- End of the eval block.

-- Model verification of stored pairs (trajc.verify = 'model' verifies at
-- compile time): each session's pairs are re-checked against the audit log
-- as it is now (trajectory hash, literal check) and by the verifier model,
-- and their verified_by filled (the verifier's model, or NULL when a pair no
-- longer passes). The caller needs UPDATE on trajc.qa_pairs.
CREATE FUNCTION @extschema@.trajc_verify(session_id text DEFAULT NULL, tier text DEFAULT NULL)
  RETURNS TABLE(pair_id uuid, verdict text, reason text)
  AS 'MODULE_PATHNAME', 'trajc_verify' LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;

REVOKE ALL ON FUNCTION @extschema@.trajc_verify(text, text) FROM PUBLIC;
-- End of the verify block.

-- Keep this block last: it covers every object the script created.
-- Default privileges (ALTER DEFAULT PRIVILEGES ... IN SCHEMA public) hand the
-- objects of this script to other roles as they are created; Supabase's give
-- every new function in public to anon and authenticated, which its HTTP API
-- exposes, and REVOKE ... FROM PUBLIC does not take that back. So every
-- privilege that a role other than the owner and PUBLIC holds only because
-- this installation gave it is revoked: the privileges an object of this
-- extension got at creation, as recorded in pg_init_privs (present once the
-- script ran GRANT or REVOKE on it) or, with no record, in its ACL when its
-- catalog row was written by this very transaction (age(xmin) <= 0: this
-- transaction's xid or one of its subtransactions'). A grant made by a person
-- since (GRANT ... TO analyst, or Supabase's after-create script, which adds
-- WITH GRANT OPTION) differs from that record or predates this transaction,
-- and is kept: ALTER EXTENSION UPDATE never removes deliberate grants.
DO $lockdown$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT DISTINCT
           CASE o.type WHEN 'view' THEN 'TABLE' ELSE pg_catalog.upper(o.type) END
             || ' ' || o.identity AS target,
           i.privilege_type, i.grantee::pg_catalog.regrole AS grantee
      FROM pg_catalog.pg_depend d
      LEFT JOIN pg_catalog.pg_init_privs ip
        ON ip.classoid = d.classid AND ip.objoid = d.objid AND ip.objsubid = 0
     CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, 0) o
     CROSS JOIN LATERAL (
             SELECT p.proacl, p.proowner, p.xmin FROM pg_catalog.pg_proc p
              WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid
             UNION ALL
             SELECT c.relacl, c.relowner, c.xmin FROM pg_catalog.pg_class c
              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objid
             UNION ALL
             SELECT n.nspacl, n.nspowner, n.xmin FROM pg_catalog.pg_namespace n
              WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = d.objid
           ) AS cur(acl, owner, row_xmin)
     CROSS JOIN LATERAL pg_catalog.aclexplode(
             coalesce(ip.initprivs,
                      CASE WHEN pg_catalog.age(cur.row_xmin) <= 0 THEN cur.acl END)) i
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'trajc')
       AND d.deptype = 'e'
       AND i.grantee <> 0 AND i.grantee <> cur.owner
       AND (i.grantor, i.grantee, i.privilege_type, i.is_grantable)
           IN (SELECT * FROM pg_catalog.aclexplode(cur.acl))
  LOOP
    EXECUTE pg_catalog.format('REVOKE %s ON %s FROM %s', g.privilege_type, g.target, g.grantee);
  END LOOP;
END
$lockdown$;
