-- trajc on Supabase: grants for the SQL editor's role, run by supautils right
-- after CREATE EXTENSION trajc, as supautils.superuser (supabase_admin), when
--   supautils.extension_custom_scripts_path = '<dir>'
-- and this file is <dir>/trajc/after-create.sql (the layout of this folder).
--
-- Supabase's `postgres` is not a superuser, and the extension is owned by
-- supabase_admin: without these grants `postgres` cannot even call
-- trajc_stats(). It gets, WITH GRANT OPTION (as Supabase does for pg_cron
-- and Vault), so it can pass them on to its own roles:
--   USAGE on schema trajc;
--   EXECUTE on every function and procedure of the extension (compile, batch,
--   pending, estimate, key source, stats, sample, and whatever later versions
--   add: the list is read from the catalog, not written here);
--   SELECT, INSERT, UPDATE, DELETE on every table of schema trajc (pairs,
--   compile log, the editable model/price map), USAGE and SELECT on its
--   sequences.
-- Nothing is granted to anon, authenticated or service_role (the HTTP API's
-- roles): trajc's install script removes what Supabase's default privileges
-- gave them, and only someone holding these grants can give them back.
--
-- The grantee is supautils.privileged_role (postgres on Supabase). This file
-- never reads a secret and must stay idempotent: supautils runs it on CREATE
-- only, so after ALTER EXTENSION trajc UPDATE a superuser runs it again
-- (psql -U supabase_admin -f after-create.sql) to cover the new functions.
-- One DO block: supautils executes the whole file as a single string.
DO $after_create$
DECLARE
  grantee text := coalesce(nullif(current_setting('supautils.privileged_role', true), ''),
                           'postgres');
  ext oid := (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'trajc');
  fn record;
BEGIN
  IF ext IS NULL THEN
    RAISE EXCEPTION 'trajc after-create: extension trajc is not installed';
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA trajc TO %I WITH GRANT OPTION', grantee);
  FOR fn IN
    SELECT p.oid::pg_catalog.regprocedure AS sig, p.prokind
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = ext AND d.deptype = 'e'
  LOOP
    EXECUTE format('GRANT EXECUTE ON %s %s TO %I WITH GRANT OPTION',
                   CASE fn.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, fn.sig, grantee);
  END LOOP;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA trajc TO %I '
                 'WITH GRANT OPTION', grantee);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA trajc TO %I WITH GRANT OPTION',
                 grantee);
END
$after_create$;
