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
