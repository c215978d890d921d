"""Background jobs on a cluster set up like Supabase (test/supabase/cluster.sh,
which preloads trajc as supabase/conf.d/trajc.conf does): the demoted
`postgres` role starts a job with trajc_start against the mock, with its key
in the real Vault, and watches trajc.jobs until it is done; anon and
authenticated (through authenticator, as PostgREST) can neither see,
start nor cancel it.

Runs in a database of its own (sb_jobs), so it needs nothing of the other
files. Needs the cluster (PGHOST/PGPORT) and TRAJC_MOCK_URL; run by
test/supabase/run.sh.
"""
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from supabase_lib import MOCK, Tap, header, one, requests_for, sql, sqlstate_of  # noqa: E402

t = Tap()
DB = "sb_jobs"
VAULT_KEY = "vault-jobs-gemini-" + secrets.token_hex(8)
RUN = secrets.token_hex(4)  # the mock outlives a run: this run's sessions only
SESSIONS = ["sb-job-%s-%d" % (RUN, n) for n in (1, 2, 3)]
HERE = os.path.dirname(__file__)


def q(text, user="postgres"):
    return sql(text, user=user, db=DB)


def q1(text, user="postgres"):
    return one(text, user=user, db=DB)


# ---- a database set up as Supabase sets up its own ------------------------------------
sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB, user="supabase_admin")
sql("CREATE DATABASE %s" % DB, user="supabase_admin")
with open(os.path.join(HERE, "fixtures", "database.sql")) as f:
    sql("\\set DBNAME %s\n" % DB + f.read(), user="supabase_admin", db=DB)
t.eq(one("SELECT current_setting('shared_preload_libraries')", user="supabase_admin"),
     "pg_cron, supabase_vault, trajc", "the cluster preloads trajc (background workers need it)")
t.eq(q1("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f",
     "postgres is not a superuser here")

# As the SQL editor's role: the extensions (through supautils), the key in Vault.
q("CREATE EXTENSION supabase_vault; CREATE EXTENSION trajc;")
q("SELECT vault.create_secret('%s', 'trajc_gemini_api_key');"
  "SELECT vault.create_secret('%s', 'trajc_gemini_base_url');" % (VAULT_KEY, MOCK))
t.eq(q1("SELECT trajc_key_source('gemini')"), "vault", "postgres's key for gemini is in Vault")
values = ",".join("('%s', timestamptz '2024-06-01 10:00+00' + %d * interval '1 minute', 'agent-sb',"
                  " 'step %d of %s')" % (s, n, n, s) for s in SESSIONS for n in range(1, 7))
q("CREATE TABLE public.sb_jobs_log (id serial PRIMARY KEY, session_id text NOT NULL,"
  " created_at timestamptz NOT NULL, agent text, note text);"
  " INSERT INTO public.sb_jobs_log (session_id, created_at, agent, note) VALUES %s;" % values)

# ---- postgres starts a job and watches it ------------------------------------------------
job = q1("SET trajc.source = 'public.sb_jobs_log'; SET trajc.provider = 'gemini';"
         " SELECT trajc_start(3, 10)")
t.ok(job is not None and job.isdigit(), "postgres starts a background job: id %s" % job)
t.eq(q1("SELECT role::text FROM trajc.jobs WHERE id = %s" % job), "postgres",
     "the job is postgres's, and postgres sees it in trajc.jobs")

seen, row, deadline = set(), None, time.time() + 120
while time.time() < deadline:
    row = q("SELECT status, sessions_total, sessions_done, pairs, error FROM trajc.jobs"
            " WHERE id = %s" % job)[0]
    seen.add(row[0])
    if row[0] in ("done", "failed", "cancelled"):
        break
    time.sleep(0.2)
print("# statuses seen while watching: %s" % ", ".join(sorted(seen)))
t.eq(row[0] if row else None, "done", "the job ends done", row)
t.eq(row[1:3] if row else None, [str(len(SESSIONS))] * 2,
     "trajc.jobs counts every session listed and finished (%d)" % len(SESSIONS), row)
t.ok(row is not None and int(row[3]) > 0, "... and the pairs stored (%s)" % (row[3] if row else None))
t.eq(q1("SELECT count(*) FROM trajc.compile_log WHERE session_id LIKE 'sb-job-%' AND status = 'ok'"),
     str(len(SESSIONS)), "every session of the job is compiled ok")
t.eq(sorted(header(r, "x-goog-api-key") for s in SESSIONS for r in requests_for(s)),
     [VAULT_KEY] * len(SESSIONS), "the worker's requests carry postgres's Vault key")
t.eq(q1("SELECT trajc_cancel(%s)" % job), "f", "postgres may cancel its job (finished: nothing to stop)")

# ---- the HTTP API's roles ---------------------------------------------------------------
for role in ("anon", "authenticated"):
    for call, what in (("SELECT count(*) FROM trajc.jobs", "read trajc.jobs"),
                       ("SELECT trajc_cancel(%s)" % job, "cancel the job"),
                       ("SELECT trajc_start(3, 10)", "start a job")):
        t.eq(sqlstate_of("SET ROLE %s; %s" % (role, call), user="authenticator", db=DB), "42501",
             "as %s (via authenticator): cannot %s -> 42501" % (role, what))
t.eq(q1("SELECT count(*) FROM trajc.jobs"), "1", "still one job: no other was started")

sql("DROP DATABASE %s WITH (FORCE)" % DB, user="supabase_admin")
