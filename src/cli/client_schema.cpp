// has_extension, require_trajc_tables, choose_engine and `trajc init` (see
// client_schema.hpp). Must never run DDL other than kTablesSql.
#include "client_schema.hpp"

#include <cstdio>

#include "commands.hpp"

namespace trajc_cli {

namespace {

const char* const kInitHint =
    "run `trajc init` as a role that may create schemas in this database (on Supabase: the "
    "postgres role), or ask its owner to: GRANT CREATE ON DATABASE <db> TO <role>";

// From the catalog: to_regclass would need USAGE on the schema.
bool tables_exist(Pg& db) {
  return db.scalar("SELECT count(*) = 3 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
             " ON n.oid = c.relnamespace WHERE n.nspname = 'trajc'"
             " AND c.relname IN ('qa_pairs', 'compile_log', 'models')") == "t";
}

}  // namespace

bool has_extension(Pg& db) {
  return db.scalar("SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'trajc'") != "0";
}

void require_table_privileges(Pg& db) {
  const char* const hint = "GRANT them, or run as the role that ran `trajc init`";
  // Checked first: naming a table of the schema needs USAGE on it.
  if (db.scalar("SELECT has_schema_privilege('trajc', 'USAGE')") != "t")
    throw usage_error("this role lacks USAGE on schema trajc (and SELECT, INSERT on"
                      " trajc.qa_pairs and trajc.compile_log, SELECT on trajc.models) in " +
                          db.where(),
                      hint);
  const std::string missing = db.scalar(
      "SELECT concat_ws(', ',"
      " CASE WHEN NOT has_table_privilege('trajc.models', 'SELECT') THEN 'SELECT on trajc.models' END,"
      " CASE WHEN NOT (has_table_privilege('trajc.compile_log', 'SELECT')"
      "  AND has_table_privilege('trajc.compile_log', 'INSERT'))"
      "  THEN 'SELECT, INSERT on trajc.compile_log' END,"
      " CASE WHEN NOT (has_table_privilege('trajc.qa_pairs', 'SELECT')"
      "  AND has_table_privilege('trajc.qa_pairs', 'INSERT'))"
      "  THEN 'SELECT, INSERT on trajc.qa_pairs' END,"
      // Older `trajc init` tables have no band index (exact repeats only).
      " CASE WHEN pg_catalog.to_regclass('trajc.qa_pair_bands') IS NOT NULL"
      "  AND NOT (has_table_privilege('trajc.qa_pair_bands', 'SELECT')"
      "  AND has_table_privilege('trajc.qa_pair_bands', 'INSERT'))"
      "  THEN 'SELECT, INSERT on trajc.qa_pair_bands' END)");
  if (!missing.empty()) throw usage_error("this role lacks " + missing + " in " + db.where(), hint);
}

Engine choose_engine(Pg& db, const std::string& option) {
  if (option == "server") return Engine::Server;
  if (option == "client") return Engine::Client;
  if (!option.empty() && option != "auto")
    throw usage_error("unknown engine \"" + option + "\"", "use client, server or auto");
  return has_extension(db) ? Engine::Server : Engine::Client;
}

int run_init(const GlobalOptions& g, const ParsedArgs&) {
  Pg db(g.dsn);
  if (has_extension(db)) {
    std::printf("the trajc extension is installed in %s: its tables are there already\n",
                db.where().c_str());
    return kExitOk;
  }
  if (tables_exist(db)) {
    std::printf("the trajc tables exist in %s already\n", db.where().c_str());
    return kExitOk;
  }
  if (db.scalar("SELECT has_database_privilege(current_database(), 'CREATE')") != "t")
    throw usage_error("role \"" + db.scalar("SELECT current_user") +
                          "\" may not create schemas in " + db.where() +
                          " (it lacks CREATE on the database), so `trajc init` cannot create"
                          " the schema trajc",
                      kInitHint);
  // One transaction: a failure leaves the database as it was. Simple query
  // protocol, as the block holds many statements.
  db.exec("BEGIN");
  PgResult res(PQexec(db.raw(), kTablesSql));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    CliError err = db.error_from(res.get());
    PQclear(PQexec(db.raw(), "ROLLBACK"));
    throw err;
  }
  db.exec("COMMIT");
  std::printf("created the schema trajc and its tables in %s\n", db.where().c_str());
  return kExitOk;
}

}  // namespace trajc_cli
