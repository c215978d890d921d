"""On the Supabase-like cluster, in the database upgrade_check (Supabase's
default privileges, no extension yet):

- 0.1.0 created by `postgres` leaves the compile functions callable by anon
  (the hole), and ALTER EXTENSION trajc UPDATE closes it while keeping every
  deliberate grant; re-running the after-create script then gives the same
  access as a fresh 0.2.0 install (database postgres, supabase_roles.py);
- trajc reads only the Vault extension's own vault.decrypted_secrets: a look-
  alike schema "vault" or a view detached from the extension is never read.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from supabase_lib import (AFTER_CREATE, NON_PUBLIC_EXECUTABLE, SqlError, Tap, one,  # noqa: E402
                          sql, sqlstate_of)

t = Tap()
DB = "upgrade_check"
API_ROLES = ("anon", "authenticated", "service_role")


def q(text, user="postgres"):
    return sql(text, user=user, db=DB)


def can(role, fn):
    return one("SELECT has_function_privilege('%s', '%s', 'EXECUTE')" % (role, fn), db=DB)


def access(db):
    """Who may call each trajc function: Supabase's roles, effective privileges.
    (Updated from 0.1.0, the functions PUBLIC may call keep redundant grants to
    the API roles that 0.1.0 got from default privileges: nothing recorded
    tells them from a person's grant, and they change no one's access.)"""
    return sql("""
      SELECT p.oid::regprocedure::text, string_agg(r.rolname || '=' ||
             CASE WHEN has_function_privilege(r.oid, p.oid, 'EXECUTE WITH GRANT OPTION') THEN 'X*'
                  WHEN has_function_privilege(r.oid, p.oid, 'EXECUTE') THEN 'X' ELSE '-' END,
             ',' ORDER BY r.rolname)
        FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
       CROSS JOIN pg_roles r
       WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
         AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'trajc')
         AND r.rolname IN ('supabase_admin', 'postgres', 'anon', 'authenticated', 'service_role')
       GROUP BY 1 ORDER BY 1""", user="supabase_admin", db=db)


# ---- 0.1.0 under Supabase's default privileges: the hole ------------------------------
q("CREATE EXTENSION trajc VERSION '0.1.0'")
t.eq(one("SELECT extversion FROM pg_extension WHERE extname = 'trajc'", db=DB), "0.1.0",
     "postgres creates trajc 0.1.0")
t.eq(can("anon", "trajc_compile(text,text,boolean)"), "t",
     "0.1.0: default privileges let anon call trajc_compile (REVOKE FROM PUBLIC is not enough)")
q("CREATE ROLE sb_upgrade_user LOGIN; GRANT EXECUTE ON FUNCTION trajc_compile(text, text, boolean)"
  " TO sb_upgrade_user;")

# ---- ALTER EXTENSION trajc UPDATE --------------------------------------------------------
# supautils 3.4.0 runs a privileged role's ALTER EXTENSION ... UPDATE as its
# superuser and then once more as the role itself, which fails: the update is
# supabase_admin's to run (README, "Supabase").
t.eq(sqlstate_of("ALTER EXTENSION trajc UPDATE", db=DB), "42501",
     "postgres cannot run ALTER EXTENSION trajc UPDATE under supautils 3.4.0")
q("ALTER EXTENSION trajc UPDATE", user="supabase_admin")
t.eq(one("SELECT extversion FROM pg_extension WHERE extname = 'trajc'", db=DB), "0.2.0",
     "supabase_admin updates trajc to 0.2.0")
for role in API_ROLES:
    t.eq(sql(NON_PUBLIC_EXECUTABLE % {"role": role}, db=DB), [],
         "after the update %s can execute no trajc function that PUBLIC cannot" % role)
t.eq(one("SELECT has_function_privilege('postgres', 'trajc_compile(text,text,boolean)',"
         " 'EXECUTE WITH GRANT OPTION')", db=DB), "t",
     "postgres keeps its after-create grant (WITH GRANT OPTION) on trajc_compile")
t.eq(can("sb_upgrade_user", "trajc_compile(text,text,boolean)"), "t",
     "a role granted trajc_compile by postgres keeps it")
t.eq(can("postgres", "trajc_key_source(text)"), "f",
     "a function new in 0.2.0 is not postgres's until the after-create script runs again")
with open(AFTER_CREATE) as f:
    sql(f.read(), user="supabase_admin", db=DB)
t.eq(one("SELECT has_function_privilege('postgres', 'trajc_key_source(text)',"
         " 'EXECUTE WITH GRANT OPTION')", db=DB), "t",
     "after-create.sql re-run by supabase_admin grants it (WITH GRANT OPTION)")
fresh, upgraded = access("postgres"), access(DB)
t.eq(upgraded, fresh, "updated and freshly installed: the same roles may call every trajc function",
     "\n".join("%s %s" % tuple(r) for r in upgraded))

# ---- only Vault's own view is read -----------------------------------------------------------
# A look-alike, made by a role with CREATE on the database: its function would
# run as the extension's owner if trajc read it.
q("""CREATE SCHEMA vault;
CREATE FUNCTION vault.spy() RETURNS text LANGUAGE plpgsql VOLATILE AS
  $$ BEGIN RAISE EXCEPTION 'spy ran as %', current_user; END $$;
CREATE VIEW vault.decrypted_secrets AS
  SELECT 'trajc_gemini_api_key'::text AS name, vault.spy() AS decrypted_secret,
         now() AS updated_at;""")
try:
    q("SELECT decrypted_secret FROM vault.decrypted_secrets")
    t.ok(False, "the look-alike view runs its function when read")
except SqlError as e:
    t.ok("spy ran as postgres" in str(e), "the look-alike view runs its function when read", e)
t.eq(one("SELECT trajc_key_source('gemini')", db=DB), "none",
     "a look-alike vault.decrypted_secrets (no Vault extension) is never read")
q("DROP SCHEMA vault CASCADE; CREATE EXTENSION supabase_vault;"
  " SELECT vault.create_secret('vault-upgrade-key', 'trajc_gemini_api_key');")
t.eq(one("SELECT trajc_key_source('gemini')", db=DB), "vault", "with Vault itself: 'vault'")
q("ALTER EXTENSION supabase_vault DROP VIEW vault.decrypted_secrets", user="supabase_admin")
t.eq(one("SELECT trajc_key_source('gemini')", db=DB), "none",
     "a vault.decrypted_secrets detached from the Vault extension is not read")
q("ALTER EXTENSION supabase_vault ADD VIEW vault.decrypted_secrets", user="supabase_admin")
t.eq(sqlstate_of("SELECT trajc_key_source('gemini')", user="sb_upgrade_user", db=DB), "42501",
     "trajc_key_source is not for everyone")
