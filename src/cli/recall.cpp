// `trajc recall report`: trajc_recall_report over a retrieval table the
// user names, or over a baseline the tool builds with trajc_retrieve. Never
// splices the table name into SQL: the server resolves it as ::regclass,
// with the caller's rights.
#include "recall.hpp"

#include "commands.hpp"
#include "output.hpp"

namespace trajc_cli {

std::string build_baseline(TrajcDb& db, const std::string& method, int k, int pairs) {
  if (method != "fts" && method != "recent")
    throw usage_error("unknown baseline \"" + method + "\"", "use fts or recent");
  // The method is one of two fixed words, so the table name is too.
  const std::string table = "pg_temp.trajc_baseline_" + method;
  // (DROP IF EXISTS would print a notice while the session has no temp schema.)
  if (db.scalar("SELECT to_regclass($1) IS NOT NULL", {table.c_str()}) == "t")
    db.exec("DROP TABLE " + table);
  db.exec("CREATE TEMP TABLE " + table.substr(8) + " (pair_id uuid, rank int, turn int)");
  const std::string k_text = std::to_string(k), pairs_text = std::to_string(pairs);
  db.exec("INSERT INTO " + table +
              " SELECT p.id, r.rank, r.turn"
              "   FROM (SELECT id FROM trajc.qa_pairs ORDER BY id LIMIT nullif($2::int, 0)) p"
              "   LEFT JOIN LATERAL " + db.fn("trajc_retrieve") + "(p.id, $1::int, $3) r ON true",
          {k_text.c_str(), pairs_text.c_str(), method.c_str()});
  return table;
}

int run_recall_report(const GlobalOptions& g, const ParsedArgs& a) {
  const int k = a.get_int("k", 10, 1);
  const int pairs = a.get_int("pairs", 0, 0);
  const auto table = a.maybe("table");
  const auto baseline = a.maybe("baseline");
  if (table.has_value() == baseline.has_value())
    throw usage_error("give either --table or --baseline", "see `trajc help recall report`");
  TrajcDb db(g.dsn);
  const std::string relation = table ? *table : build_baseline(db, *baseline, k, pairs);
  const std::string k_text = std::to_string(k);
  PgResult res;
  try {
    res = db.exec("SELECT * FROM " + db.fn("trajc_recall_report") + "($1::regclass, $2)",
                  {relation.c_str(), k_text.c_str()});
  } catch (const CliError& e) {
    if (e.sqlstate() != "42P01" && e.sqlstate() != "42703" && e.sqlstate() != "42804") throw;
    throw CliError(kExitUsage, e.what(),
                   "--table names a table or view with columns (pair_id uuid, rank int, turn "
                   "int) that you can read",
                   e.sqlstate());
  }
  OutputStyle style;
  style.json = g.json;
  print_table(Table::from_result(res.get()), style);
  return kExitOk;
}

}  // namespace trajc_cli
