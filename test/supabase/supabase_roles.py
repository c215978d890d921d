"""trajc on a cluster set up like Supabase (test/supabase/cluster.sh), with
the real Vault 0.3.1 and supautils 3.4.0: keys from Vault, the demoted
`postgres` role, the HTTP API's roles, pg_cron.

Needs: the cluster running (PGHOST/PGPORT from `cluster.sh env`) and the mock
model server (TRAJC_MOCK_URL); run by test/supabase/run.sh.
"""
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from supabase_lib import (MOCK, NON_PUBLIC_EXECUTABLE, ROOT, SqlError, Tap, header, one,  # noqa: E402
                          requests_for, sql, sqlstate_of)

t = Tap()

VAULT_GEMINI = "vault-gemini-" + secrets.token_hex(8)
VAULT_OPENAI = "vault-openai-" + secrets.token_hex(8)
VAULT_ANTHROPIC = "vault-anthropic-" + secrets.token_hex(8)
SETTING_OPENAI = "setting-openai-" + secrets.token_hex(8)
ENV_ANTHROPIC = "env-anthropic-key-from-the-server"  # cluster.sh starts the server with it


def compile_as(user, session, provider="gemini", source="public.sb_log"):
    return int(one("SET trajc.source = '%s'; SET trajc.provider = '%s';"
                   " SELECT count(*) FROM trajc_compile('%s');" % (source, provider, session),
                   user=user))


def audit_table(name, sessions, user="postgres"):
    values = []
    for s in sessions:
        for turn in range(1, 7):
            note = "mock:status=401" if s.endswith("-401") and turn == 2 else \
                "step %d of %s" % (turn, s)
            values.append("('%s', timestamptz '2024-05-01 10:00+00' + %d * interval '1 minute',"
                          " 'agent-sb', '%s')" % (s, turn, note))
    sql("CREATE TABLE %s (id serial PRIMARY KEY, session_id text NOT NULL,"
        " created_at timestamptz NOT NULL, agent text, note text);"
        " INSERT INTO %s (session_id, created_at, agent, note) VALUES %s;"
        % (name, name, ",".join(values)), user=user)


# ---- the cluster is Supabase's shape ------------------------------------------------
attrs = sql("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolreplication,"
            " rolbypassrls FROM pg_roles WHERE rolname = 'postgres'", user="supabase_admin")
t.eq(attrs, [["f", "t", "t", "t", "t", "t"]],
     "postgres is NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS")
t.eq(one("SELECT rolsuper FROM pg_roles WHERE rolname = 'supabase_admin'", user="supabase_admin"),
     "t", "supabase_admin is the superuser")
t.eq(sqlstate_of("ALTER SYSTEM SET trajc.gemini_api_key = 'x'"), "42501",
     "postgres cannot ALTER SYSTEM a key")
t.eq(sqlstate_of("SET trajc.gemini_api_key = 'x'"), "42501", "... nor SET one")
# Supabase's default privileges are live: a function supabase_admin creates
# in public is callable by anon (what trajc's install script must undo).
sql("CREATE FUNCTION public.sb_canary() RETURNS int LANGUAGE sql AS 'SELECT 1';"
    " REVOKE ALL ON FUNCTION public.sb_canary() FROM PUBLIC;", user="supabase_admin")
t.eq(one("SELECT has_function_privilege('anon', 'public.sb_canary()', 'EXECUTE')",
         user="supabase_admin"), "t",
     "default privileges: anon can call a new function in public despite REVOKE FROM PUBLIC")
sql("DROP FUNCTION public.sb_canary()", user="supabase_admin")

# ---- CREATE EXTENSION as postgres, through supautils -----------------------------------
sql("CREATE EXTENSION pg_cron; CREATE EXTENSION trajc;")
t.eq(one("SELECT extowner::regrole FROM pg_extension WHERE extname = 'trajc'"), "supabase_admin",
     "postgres creates trajc; supautils makes supabase_admin its owner")

# The grants the after-create script made, for the record (and the closing note).
grants = sql("""
  SELECT o.type || ' ' || o.identity, string_agg(a.privilege_type ||
         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, ', ' ORDER BY a.privilege_type)
    FROM pg_depend d
    CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) o
    CROSS JOIN LATERAL (SELECT proacl FROM pg_proc WHERE d.classid = 'pg_proc'::regclass AND oid = d.objid
                        UNION ALL SELECT relacl FROM pg_class WHERE d.classid = 'pg_class'::regclass AND oid = d.objid
                        UNION ALL SELECT nspacl FROM pg_namespace WHERE d.classid = 'pg_namespace'::regclass AND oid = d.objid) acl(a)
    CROSS JOIN LATERAL aclexplode(acl.a) a
   WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'trajc') AND d.deptype = 'e'
     AND a.grantee = 'postgres'::regrole
   GROUP BY 1 ORDER BY 1""")
for obj, privs in grants:
    print("# after-create grants postgres: %s ON %s" % (privs, obj))
functions = int(one("SELECT count(*) FROM pg_depend WHERE classid = 'pg_proc'::regclass AND deptype = 'e'"
                    " AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'trajc')"))
t.eq(sum(1 for o, p in grants if o.startswith(("function", "procedure"))
         and p == "EXECUTE WITH GRANT OPTION"), functions,
     "postgres may EXECUTE every function of the extension (%d), WITH GRANT OPTION" % functions)
t.ok(["schema trajc", "USAGE WITH GRANT OPTION"] in grants,
     "postgres has USAGE on schema trajc WITH GRANT OPTION")
t.eq(sorted(o for o, p in grants
            if o.startswith("table") and p == "DELETE WITH GRANT OPTION, INSERT WITH GRANT OPTION, "
            "SELECT WITH GRANT OPTION, UPDATE WITH GRANT OPTION"),
     sorted("table " + r[0] for r in sql(
         "SELECT 'trajc.' || relname FROM pg_class WHERE relnamespace = 'trajc'::regnamespace"
         " AND relkind = 'r'")),
     "postgres may SELECT, INSERT, UPDATE, DELETE every table of trajc, WITH GRANT OPTION")
t.eq(one("SELECT count(*) FROM trajc_stats()"), "5", "postgres runs trajc_stats()")
t.eq(one("SELECT count(*) FROM trajc_sample(5)"), "0", "postgres runs trajc_sample()")
audit_table("public.sb_log", ["sb-vault-1", "sb-vault-401", "sb-analyst-1", "sb-setting-1",
                              "sb-anthropic-vault", "sb-env-1", "sb-env-2", "sb-novault"])
t.eq(one("SET trajc.source = 'public.sb_log'; SELECT sessions FROM trajc_estimate(3, 0)"), "8",
     "postgres runs trajc_estimate() on its own audit table")

# ---- the HTTP API's roles ------------------------------------------------------------
for role in ("anon", "authenticated", "service_role"):
    leaked = sql(NON_PUBLIC_EXECUTABLE % {"role": role})
    t.eq(leaked, [], "%s can execute no trajc function that PUBLIC cannot" % role)
    readable = sql("""
      SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'trajc'::regnamespace
         AND c.relkind IN ('r', 'v', 'S')
         AND (has_table_privilege('%s', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
              OR (c.relkind = 'S' AND has_sequence_privilege('%s', c.oid, 'USAGE')))""" % (role, role))
    t.eq(readable, [], "%s holds no privilege on any table or sequence of trajc" % role)
    t.eq(one("SELECT has_schema_privilege('%s', 'trajc', 'USAGE')" % role), "f",
         "%s has no USAGE on schema trajc" % role)
public_fns = sorted(r[0] for r in sql("""
  SELECT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
   WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'trajc')
     AND p.prorettype <> 'trigger'::regtype  -- only ever called as a trigger
     AND has_function_privilege('public', p.oid, 'EXECUTE')"""))
# trajc.open_batch_of: every compile asks it whether a session waits in an
# open provider batch; trajc.citus_distributed / citus_placements /
# citus_split read Citus's metadata only (every compile asks the first);
# citus_list / citus_list_shards / citus_top list sessions as trajc_extract
# does, citus_apply_settings sets only what the caller may SET and
# citus_settings reads the caller's user-level settings. They
# spend nothing and sit in schema trajc, which PUBLIC cannot use.
# Eval's report and recall read pairs and answers and reach no model; their
# helpers in schema trajc run with the caller's rights.
t.eq(public_fns, ["check_k", "check_retrievals", "citus_apply_settings", "citus_distributed",
                  "citus_list", "citus_list_shards", "citus_placements", "citus_settings",
                  "citus_split",
                  "citus_top", "eval_run_id", "eval_summary", "open_batch_of",
                  "pair_supporting_turns", "question_bands", "question_key", "question_similarity",
                  "recall_metrics", "trajc_eval_report", "trajc_extract", "trajc_quality",
                  "trajc_recall", "trajc_recall_report", "trajc_retrieve", "trajc_sample",
                  "trajc_stats", "trajc_turns"],
     "PUBLIC keeps only the functions that spend nothing (extract, turns, stats, sample, "
     "open_batch_of, quality, the Citus metadata helpers, the recall functions and the eval report)")
for role in ("anon", "authenticated"):
    for call in ("SELECT * FROM trajc_compile('sb-vault-1')",
                 "SELECT * FROM trajc_compile_batch(3, 5)",
                 "CALL trajc_compile_pending(3, 5)",
                 "SELECT * FROM trajc_estimate(3, 5)",
                 "SELECT trajc_key_source('gemini')",
                 "SELECT * FROM trajc_stats()",
                 "SELECT count(*) FROM trajc.qa_pairs",
                 "SELECT count(*) FROM trajc.compile_log",
                 "SELECT count(*) FROM trajc.models"):
        t.eq(sqlstate_of("SET ROLE %s; %s" % (role, call), user="authenticator"), "42501",
             "as %s (via authenticator, as PostgREST does): %s -> 42501" % (role, call))

# ---- without Vault nothing changes ------------------------------------------------------
t.eq(one("SELECT trajc_key_source('gemini')"), "none", "no Vault yet: gemini's key source is none")
try:
    compile_as("postgres", "sb-novault")
    t.ok(False, "no key: compile fails")
except SqlError as e:
    t.ok(e.sqlstate == "22023" and "no API key" in str(e), "no key: compile fails with 22023", e)

# ---- Vault ---------------------------------------------------------------------------------
sql("CREATE EXTENSION supabase_vault;")
t.eq(one("SELECT has_function_privilege('postgres', 'vault.create_secret(text,text,text,uuid)',"
         " 'EXECUTE')"), "t", "postgres may call vault.create_secret (Vault's after-create grants)")
sql("SELECT vault.create_secret('%s', 'trajc_gemini_api_key');"
    "SELECT vault.create_secret('%s', 'trajc_gemini_base_url');" % (VAULT_GEMINI, MOCK))
# Decoys whose ciphertext is broken: decrypting any of them raises, so a
# compile that succeeds has not read them.
decoys = ["other_secret", "trajc_gemini_api_key_old", "TRAJC_GEMINI_API_KEY", "trajc_gemini_api_key "]
for name in decoys:
    sql("SELECT vault.create_secret('decoy-%s', '%s');" % (secrets.token_hex(4), name))
sql("UPDATE vault.secrets SET secret = encode(convert_to(repeat('x', 48), 'utf8'), 'base64')"
    " WHERE name IN (%s)" % ",".join("'%s'" % d for d in decoys), user="supabase_admin")
t.eq(one("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'trajc_gemini_api_key'"),
     VAULT_GEMINI, "postgres reads its secret back from vault.decrypted_secrets, as on Supabase")
t.ok(sqlstate_of("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'other_secret'")
     is not None, "a decoy secret cannot be decrypted (so reading one would fail the compile)")

t.eq(one("SELECT trajc_key_source('gemini')"), "vault", "trajc_key_source('gemini') = 'vault'")
t.eq(one("SELECT trajc_key_source('openai')"), "none", "trajc_key_source('openai') = 'none'")
t.eq(one("SELECT trajc_key_source('offline')"), "none", "trajc_key_source('offline') = 'none'")
t.eq(sqlstate_of("SELECT trajc_key_source('vault')"), "22023", "an unknown provider: 22023")

# pg_cron: scheduled now by postgres, checked at the end (runs at the next minute).
audit_table("public.audit_log", ["sb-cron-1", "sb-cron-2"])
job = one("SELECT cron.schedule('sb-trajc', '* * * * *', 'CALL trajc_compile_pending(3, 10)')")
scheduled_at = time.time()

n = compile_as("postgres", "sb-vault-1")
t.ok(n > 0, "postgres compiles with the Vault key (%d pairs)" % n)
reqs = requests_for("sb-vault-1")
t.eq(len(reqs), 1, "one request reached the mock at the Vault base URL")
t.eq(header(reqs[0], "x-goog-api-key") if reqs else None, VAULT_GEMINI,
     "... carrying the Vault key in its x-goog-api-key header")
t.ok(reqs and reqs[0]["path"].startswith("/v1beta/models/"), "... on Gemini's path")

n = compile_as("postgres", "sb-vault-401")
rows = sql("SELECT http_status, error FROM trajc.compile_log WHERE session_id = 'sb-vault-401'")
t.ok(rows and rows[0][0] == "401" and "[redacted]" in rows[0][1] and VAULT_GEMINI not in rows[0][1],
     "a 401 quoting the Vault key is logged with the key redacted", rows)
t.eq(one("SELECT (SELECT count(*) FROM trajc.compile_log c WHERE strpos(c::text, '%s') > 0)"
         " + (SELECT count(*) FROM trajc.qa_pairs p WHERE strpos(p::text, '%s') > 0)"
         % (VAULT_GEMINI, VAULT_GEMINI)), "0", "no compile_log or qa_pairs row contains the Vault key")

# ---- a role granted compile, not Vault ---------------------------------------------------
sql("""CREATE ROLE sb_analyst LOGIN;
GRANT USAGE ON SCHEMA trajc TO sb_analyst;
GRANT SELECT ON trajc.models TO sb_analyst;
GRANT SELECT, INSERT ON trajc.qa_pairs, trajc.compile_log TO sb_analyst;
GRANT EXECUTE ON FUNCTION trajc_compile(text, text, boolean), trajc_key_source(text) TO sb_analyst;
GRANT SELECT ON public.sb_log TO sb_analyst;""")
t.eq(one("SELECT has_schema_privilege('sb_analyst', 'vault', 'USAGE')"), "f",
     "sb_analyst (granted by postgres) has no Vault privilege")
t.eq(sqlstate_of("SELECT decrypted_secret FROM vault.decrypted_secrets", user="sb_analyst"), "42501",
     "sb_analyst cannot read vault.decrypted_secrets")
t.eq(one("SELECT trajc_key_source('gemini')", user="sb_analyst"), "vault",
     "sb_analyst sees the key source: vault")
n = compile_as("sb_analyst", "sb-analyst-1")
t.ok(n > 0, "sb_analyst compiles with the Vault key (%d pairs)" % n)
reqs = requests_for("sb-analyst-1")
t.eq([header(r, "x-goog-api-key") for r in reqs], [VAULT_GEMINI],
     "... the request carries the Vault key, read as the extension's owner")
t.eq(one("SELECT count(*) FROM vault.decrypted_secrets WHERE name = 'trajc_gemini_api_key'"
         " AND decrypted_secret = '%s'" % VAULT_GEMINI, user="supabase_admin"), "1",
     "(the key itself still decrypts: only the decoys are broken)")

# ---- the setting wins over Vault, Vault over the environment ----------------------------
sql("SELECT vault.create_secret('%s', 'trajc_openai_api_key');" % VAULT_OPENAI)
sql("ALTER SYSTEM SET trajc.openai_api_key = '%s'; ALTER SYSTEM SET trajc.openai_base_url = '%s';"
    " SELECT pg_reload_conf();" % (SETTING_OPENAI, MOCK), user="supabase_admin")
t.eq(one("SELECT trajc_key_source('openai')"), "setting",
     "openai: a key in the setting and in Vault -> 'setting'")
compile_as("postgres", "sb-setting-1", provider="openai")
t.eq([header(r, "authorization") for r in requests_for("sb-setting-1")],
     ["Bearer " + SETTING_OPENAI], "... and the request carries the setting's key")

t.eq(one("SELECT trajc_key_source('anthropic')"), "environment",
     "anthropic: only the server's ANTHROPIC_API_KEY -> 'environment'")
sql("SELECT vault.create_secret('%s', 'trajc_anthropic_api_key');"
    "SELECT vault.create_secret('%s', 'trajc_anthropic_base_url');" % (VAULT_ANTHROPIC, MOCK))
t.eq(one("SELECT trajc_key_source('anthropic')"), "vault", "... plus a Vault key -> 'vault'")
compile_as("postgres", "sb-anthropic-vault", provider="anthropic")
t.eq([header(r, "x-api-key") for r in requests_for("sb-anthropic-vault")], [VAULT_ANTHROPIC],
     "... and the request carries the Vault key, not the environment's")
sql("DELETE FROM vault.secrets WHERE name = 'trajc_anthropic_api_key'")
t.eq(one("SELECT trajc_key_source('anthropic')"), "environment",
     "the Vault key deleted: back to 'environment'")
compile_as("postgres", "sb-env-1", provider="anthropic")
t.eq(requests_for("sb-env-1"), [],
     "the environment's key is not sent to the base URL stored in Vault")
t.eq(one("SELECT status FROM trajc.compile_log WHERE session_id = 'sb-env-1'"), "failed",
     "... (it went to the vendor's URL, refused by the test cluster's dead proxy)")
sql("ALTER SYSTEM SET trajc.anthropic_base_url = '%s'; SELECT pg_reload_conf();" % MOCK,
    user="supabase_admin")
compile_as("postgres", "sb-env-2", provider="anthropic")
t.eq([header(r, "x-api-key") for r in requests_for("sb-env-2")], [ENV_ANTHROPIC],
     "with a base URL set by the superuser, the environment's key is used")

# ---- pg_cron ---------------------------------------------------------------------------------
run = None
while time.time() - scheduled_at < 130 and run is None:
    rows = sql("SELECT status, username, return_message FROM cron.job_run_details"
               " WHERE jobid = %s AND status IN ('succeeded', 'failed')" % job)
    run = rows[0] if rows else None
    if run is None:
        time.sleep(1)
sql("SELECT cron.unschedule(%s)" % job)
t.eq(run[:2] if run else None, ["succeeded", "postgres"],
     "the pg_cron job scheduled by postgres ran as postgres and succeeded", run)
t.eq(one("SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'sb-cron-%' AND status = 'ok'"
         " AND provider = 'gemini'"), "2", "... compiling both sessions of public.audit_log")
t.eq(sorted(header(r, "x-goog-api-key") for s in ("sb-cron-1", "sb-cron-2")
            for r in requests_for(s)), [VAULT_GEMINI, VAULT_GEMINI],
     "... with the Vault key")

# ---- the server log ------------------------------------------------------------------------
with open(os.path.join(ROOT, "postgres.log"), errors="replace") as f:
    log = f.read()
t.ok(all(k not in log for k in (VAULT_GEMINI, VAULT_OPENAI, VAULT_ANTHROPIC, SETTING_OPENAI)),
     "no key appears in the server log")
