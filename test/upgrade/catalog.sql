-- The trajc extension's footprint in this database's catalog, as sorted text
-- lines "<object> | <aspect> | <value>", so that two databases can be diffed:
-- every member object (pg_depend deptype 'e') with its full definition, the
-- parts pg_dump recreates with it (columns, constraints, indexes, identity
-- sequences, policies, triggers), privileges (current and initial), comments,
-- the rows member tables hold, and the pg_extension_config_dump entries.
--
-- It must never print an OID or a name PostgreSQL generates from creation
-- order: two correct installs (CREATE EXTENSION vs. ALTER EXTENSION UPDATE)
-- differ in both. Objects are named through the catalog (regclass, regtype,
-- pg_describe_object); constraints and indexes are keyed by their definition,
-- and a generated name's numeric suffix (qa_pairs_check1, _idx2, _seq1) is
-- dropped. Columns are compared by position among the live columns, since
-- a dropped column leaves a gap in attnum.
--
-- It must never change the database: it only reads, and its helpers live in
-- pg_temp (never extension members, gone when the session ends). Meant for
-- test databases: it lists every row of every member table.
--
--   psql -X -A -t -q -v ON_ERROR_STOP=1 -d DB -f test/upgrade/catalog.sql
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET search_path = pg_catalog, pg_temp;   -- every name printed schema-qualified
SET extra_float_digits = 3;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

-- A generated name's counter, e.g. qa_pairs_check1 -> qa_pairs_check. Only
-- the suffixes PostgreSQL generates; an explicit name stays as written.
CREATE FUNCTION pg_temp.unnumbered(n text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(n, '_(pkey|key|fkey|check|excl|not_null|idx|seq)[0-9]+$', '_\1')
$$;

-- The rows of a table, each as its text form (seed data of member tables).
CREATE FUNCTION pg_temp.rows_of(rel regclass) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY EXECUTE format('SELECT t::text FROM %s t', rel);
END
$$;

-- A multi-line text as numbered lines (function and view definitions).
CREATE FUNCTION pg_temp.numbered(body text) RETURNS TABLE(aspect_suffix text, line text)
LANGUAGE sql IMMUTABLE AS $$
  SELECT lpad(n::text, 4, '0'), l FROM regexp_split_to_table(body, E'\n') WITH ORDINALITY AS t(l, n)
$$;

CREATE TEMP TABLE ext AS SELECT e.* FROM pg_extension e WHERE e.extname = 'trajc';

-- The members, and the relations pg_dump recreates with them without making
-- them members themselves: identity/serial sequences of member tables and the
-- relation behind a member composite type.
CREATE TEMP TABLE members AS
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e';
CREATE TEMP TABLE rels AS
  SELECT c.oid AS relid, c.* FROM pg_class c
   WHERE c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)
      OR c.relkind = 'S' AND c.oid IN (SELECT d.objid FROM pg_depend d JOIN members m
                     ON m.classid = 'pg_class'::regclass AND d.refobjid = m.objid
                   WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                     AND d.deptype IN ('a', 'i'))
      OR c.oid IN (SELECT t.typrelid FROM pg_type t JOIN members m
                     ON m.classid = 'pg_type'::regclass AND m.objid = t.oid WHERE t.typtype = 'c');

-- How a relation is named in the listing: sequences PostgreSQL names for an
-- identity or serial column lose their counter; everything else as written.
CREATE TEMP TABLE relname AS
  SELECT relid, CASE relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                             WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                             WHEN 'c' THEN 'composite type' WHEN 'f' THEN 'foreign table'
                             ELSE 'relation ' || relkind::text END
                || ' ' || relnamespace::regnamespace::text || '.'
                || CASE WHEN relkind = 'S' THEN pg_temp.unnumbered(relname::text)
                        ELSE quote_ident(relname::text) END AS label
    FROM rels;

WITH
facts(object, aspect, value) AS (
  -- the extension itself and its pg_extension_config_dump entries
  SELECT 'extension trajc', 'version', extversion FROM ext
  UNION ALL SELECT 'extension trajc', 'schema', extnamespace::regnamespace::text FROM ext
  UNION ALL SELECT 'extension trajc', 'relocatable', extrelocatable::text FROM ext
  UNION ALL SELECT 'extension trajc', 'owner', extowner::regrole::text FROM ext
  UNION ALL SELECT 'extension trajc', 'config dump tables', coalesce(cardinality(extconfig), 0)::text FROM ext
  UNION ALL SELECT 'extension trajc', 'config dump ' || cfg::regclass::text,
                   'condition ' || quote_literal(coalesce(cond, '<null>'))
              FROM ext, unnest(ext.extconfig, ext.extcondition) AS u(cfg, cond)

  -- every member: what it is (its identity, never its OID)
  UNION ALL SELECT pg_describe_object(classid, objid, objsubid), 'member of trajc', classid::regclass::text
              FROM members

  -- comments on members and on their columns
  UNION ALL SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), 'comment', d.description
              FROM pg_description d
             WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM members)

  -- initial privileges (pg_init_privs: what pg_dump compares ACLs against)
  UNION ALL SELECT pg_describe_object(i.classoid, i.objoid, i.objsubid), 'initial privileges ' || i.privtype::text,
                   i.initprivs::text
              FROM pg_init_privs i
             WHERE (i.classoid, i.objoid) IN (SELECT classid, objid FROM members
                                              UNION SELECT 'pg_class'::regclass::oid, relid FROM rels)

  -- functions and procedures: the whole definition (arguments with their
  -- defaults, result, language, volatility, strictness, parallel safety,
  -- security, SET clauses, cost, body or C symbol), owner and grants
  UNION ALL SELECT 'function ' || p.oid::regprocedure::text, 'definition ' || n.aspect_suffix, n.line
              FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid,
                   pg_temp.numbered(pg_get_functiondef(p.oid)) n
             WHERE p.prokind <> 'a'
  UNION ALL SELECT 'function ' || p.oid::regprocedure::text, 'aggregate',
                   format('kind %s, state %s %s, final %s, combine %s, initial %L', a.aggkind,
                          a.aggtransfn::regproc, a.aggtranstype::regtype, a.aggfinalfn::regproc,
                          a.aggcombinefn::regproc, a.agginitval)
              FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
              JOIN pg_aggregate a ON a.aggfnoid = p.oid
  UNION ALL SELECT 'function ' || p.oid::regprocedure::text, 'owner', p.proowner::regrole::text
              FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  UNION ALL SELECT 'function ' || p.oid::regprocedure::text, 'acl', coalesce(p.proacl::text, 'default')
              FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid

  -- relations: kind, owner, grants, row-level security, options
  UNION ALL SELECT r.label, 'persistence', c.relpersistence::text FROM rels c JOIN relname r USING (relid)
  UNION ALL SELECT r.label, 'owner', c.relowner::regrole::text FROM rels c JOIN relname r USING (relid)
  UNION ALL SELECT r.label, 'acl', coalesce(c.relacl::text, 'default') FROM rels c JOIN relname r USING (relid)
  UNION ALL SELECT r.label, 'row level security',
                   format('enabled %s, forced %s', c.relrowsecurity, c.relforcerowsecurity)
              FROM rels c JOIN relname r USING (relid) WHERE c.relkind IN ('r', 'p')
  UNION ALL SELECT r.label, 'options', c.reloptions::text
              FROM rels c JOIN relname r USING (relid) WHERE c.reloptions IS NOT NULL
  UNION ALL SELECT r.label, 'replica identity', c.relreplident::text
              FROM rels c JOIN relname r USING (relid) WHERE c.relkind IN ('r', 'p')
  UNION ALL SELECT r.label, 'partitioning', pg_get_partkeydef(c.relid)
              FROM rels c JOIN relname r USING (relid) WHERE c.relkind = 'p'

  -- columns, by position among the live ones
  UNION ALL SELECT r.label || ' column ' || quote_ident(a.attname::text), 'definition',
                   format('position %s, type %s, not null %s, default %s, identity %L, generated %L, collation %s',
                          row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                          format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          coalesce(pg_get_expr(ad.adbin, ad.adrelid), 'none'), a.attidentity,
                          a.attgenerated, coalesce(co.collname::text, 'none'))
              FROM rels c JOIN relname r USING (relid)
              JOIN pg_attribute a ON a.attrelid = c.relid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
             WHERE c.relkind <> 'S'
  UNION ALL SELECT r.label || ' column ' || quote_ident(a.attname::text), 'acl', a.attacl::text
              FROM rels c JOIN relname r USING (relid)
              JOIN pg_attribute a ON a.attrelid = c.relid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE a.attacl IS NOT NULL
  UNION ALL SELECT r.label || ' column ' || quote_ident(a.attname::text), 'comment', d.description
              FROM rels c JOIN relname r USING (relid)
              JOIN pg_attribute a ON a.attrelid = c.relid AND a.attnum > 0 AND NOT a.attisdropped
              JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = c.relid
                                   AND d.objsubid = a.attnum

  -- constraints (CHECK, NOT NULL, keys, FKs, exclusion) by definition
  UNION ALL SELECT r.label || ' constraint ' || pg_temp.unnumbered(k.conname::text), 'definition',
                   pg_get_constraintdef(k.oid, true) ||
                   CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END
              FROM rels c JOIN relname r USING (relid) JOIN pg_constraint k ON k.conrelid = c.relid
  UNION ALL SELECT r.label || ' constraint ' || pg_temp.unnumbered(k.conname::text), 'comment', d.description
              FROM rels c JOIN relname r USING (relid) JOIN pg_constraint k ON k.conrelid = c.relid
              JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = k.oid

  -- indexes by definition (the name is taken out of CREATE INDEX)
  UNION ALL SELECT r.label || ' index ' || pg_temp.unnumbered(i.indexrelid::regclass::text), 'definition',
                   regexp_replace(pg_get_indexdef(i.indexrelid), ' INDEX \S+ ON ', ' INDEX ON ') ||
                   format(' (primary %s, clustered %s, replica identity %s, valid %s)',
                          i.indisprimary, i.indisclustered, i.indisreplident, i.indisvalid)
              FROM rels c JOIN relname r USING (relid) JOIN pg_index i ON i.indrelid = c.relid
  UNION ALL SELECT r.label || ' index ' || pg_temp.unnumbered(i.indexrelid::regclass::text), 'comment',
                   d.description
              FROM rels c JOIN relname r USING (relid) JOIN pg_index i ON i.indrelid = c.relid
              JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid

  -- triggers, policies, rules other than a view's own
  UNION ALL SELECT r.label || ' trigger ' || quote_ident(t.tgname::text), 'definition',
                   pg_get_triggerdef(t.oid) || format(' (enabled %s)', t.tgenabled)
              FROM rels c JOIN relname r USING (relid) JOIN pg_trigger t ON t.tgrelid = c.relid
             WHERE NOT t.tgisinternal
  UNION ALL SELECT r.label || ' policy ' || quote_ident(p.polname::text), 'definition',
                   format('for %s, permissive %s, to %s, using %s, with check %s', p.polcmd, p.polpermissive,
                          (SELECT string_agg(CASE WHEN ro = 0 THEN 'public' ELSE ro::regrole::text END, ','
                                             ORDER BY 1) FROM unnest(p.polroles) ro),
                          pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
              FROM rels c JOIN relname r USING (relid) JOIN pg_policy p ON p.polrelid = c.relid
  UNION ALL SELECT r.label || ' rule ' || quote_ident(w.rulename::text), 'definition', pg_get_ruledef(w.oid)
              FROM rels c JOIN relname r USING (relid) JOIN pg_rewrite w ON w.ev_class = c.relid
             WHERE w.rulename <> '_RETURN'

  -- views: the query
  UNION ALL SELECT r.label, 'query ' || n.aspect_suffix, n.line
              FROM rels c JOIN relname r USING (relid), pg_temp.numbered(pg_get_viewdef(c.relid, true)) n
             WHERE c.relkind IN ('v', 'm')

  -- sequences: parameters, and the column that owns one
  UNION ALL SELECT r.label, 'parameters',
                   format('type %s, start %s, increment %s, min %s, max %s, cache %s, cycle %s',
                          s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                          s.seqcache, s.seqcycle)
              FROM rels c JOIN relname r USING (relid) JOIN pg_sequence s ON s.seqrelid = c.relid
  UNION ALL SELECT r.label, 'owned by',
                   format('%s column %s (%s)', d.refobjid::regclass, quote_ident(a.attname::text),
                          CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'OWNED BY' END)
              FROM rels c JOIN relname r USING (relid)
              JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.relid
                              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE c.relkind = 'S'

  -- rows held by member tables (the seeds: trajc.models' tiers and prices)
  UNION ALL SELECT r.label, 'row', rw
              FROM rels c JOIN relname r USING (relid), pg_temp.rows_of(c.relid) rw
             WHERE c.relkind IN ('r', 'p')

  -- types: enums, domains, ranges, base types (composite ones through rels)
  UNION ALL SELECT 'type ' || t.oid::regtype::text, 'definition',
                   format('kind %s, owner %s, acl %s', t.typtype, t.typowner::regrole,
                          coalesce(t.typacl::text, 'default'))
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
  UNION ALL SELECT 'type ' || t.oid::regtype::text, 'labels',
                   (SELECT string_agg(quote_literal(e.enumlabel::text), ', ' ORDER BY e.enumsortorder)
                      FROM pg_enum e WHERE e.enumtypid = t.oid)
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
             WHERE t.typtype = 'e'
  UNION ALL SELECT 'type ' || t.oid::regtype::text, 'domain',
                   format('over %s, not null %s, default %s, collation %s',
                          format_type(t.typbasetype, t.typtypmod), t.typnotnull,
                          coalesce(t.typdefault, 'none'), t.typcollation <> 0)
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
             WHERE t.typtype = 'd'
  UNION ALL SELECT 'type ' || t.oid::regtype::text || ' constraint ' || pg_temp.unnumbered(k.conname::text),
                   'definition', pg_get_constraintdef(k.oid, true)
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
              JOIN pg_constraint k ON k.contypid = t.oid
  UNION ALL SELECT 'type ' || t.oid::regtype::text, 'range',
                   format('subtype %s, subtype diff %s, canonical %s', rg.rngsubtype::regtype,
                          rg.rngsubdiff::regproc, rg.rngcanonical::regproc)
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
              JOIN pg_range rg ON rg.rngtypid = t.oid
  UNION ALL SELECT 'type ' || t.oid::regtype::text, 'base type',
                   format('input %s, output %s, length %s, by value %s, alignment %s, storage %s',
                          t.typinput::regproc, t.typoutput::regproc, t.typlen, t.typbyval,
                          t.typalign, t.typstorage)
              FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
             WHERE t.typtype = 'b'

  -- schemas
  UNION ALL SELECT 'schema ' || quote_ident(s.nspname::text), 'owner and acl',
                   format('owner %s, acl %s', s.nspowner::regrole, coalesce(s.nspacl::text, 'default'))
              FROM pg_namespace s JOIN members m ON m.classid = 'pg_namespace'::regclass AND m.objid = s.oid
)
SELECT object || ' | ' || aspect || ' | ' || coalesce(value, '<null>')
  FROM facts
 ORDER BY object COLLATE "C", aspect COLLATE "C", value COLLATE "C";
