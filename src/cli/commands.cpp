// extract, stats, sample: one SQL call each, printed as a table or JSON.
// Without the extension (a database `trajc init` prepared) the same query
// runs as plain SQL: extract through the core's listing query, stats and
// sample as the install script's function bodies do (test/cli/client_engine.py
// compares them with the functions). Must never print a text raw
// (print_table escapes it).
#include "commands.hpp"

#include <string>

#include "client_source.hpp"
#include "output.hpp"
#include "pairs.hpp"
#include "pg.hpp"

namespace trajc_cli {

namespace {

int print_query(TrajcDb& db, const GlobalOptions& g, Layout layout, const std::string& sql,
                const Params& params) {
  PgResult res = db.exec(sql, params);
  OutputStyle style;
  style.json = g.json;
  style.layout = layout;
  print_table(Table::from_result(res.get()), style);
  return kExitOk;
}

}  // namespace

int run_extract(const GlobalOptions& g, const ParsedArgs& a) {
  const std::string min_turns = std::to_string(a.get_int("min-turns", 10, 1));
  const std::string limit = std::to_string(a.get_int("limit", 20, 0));
  const auto since = a.maybe("since");
  TrajcDb db(g.dsn);
  if (!db.has_extension()) {
    PQsetClientEncoding(db.raw(), "UTF8");
    const ClientSource src = resolve_client_source(db, source_settings(a));
    return print_query(db, g, Layout::Columns,
                       "SELECT * FROM (" + trajc::sessions_sql(src.sql, true) + ") s",
                       {min_turns.c_str(), limit.c_str(), since ? since->c_str() : nullptr});
  }
  return print_query(db, g, Layout::Columns,
                     "SELECT * FROM " + db.fn("trajc_extract") + "($1, $2, $3)",
                     {min_turns.c_str(), limit.c_str(), since ? since->c_str() : nullptr});
}

int run_stats(const GlobalOptions& g, const ParsedArgs&) {
  TrajcDb db(g.dsn);
  const std::string stats =
      db.has_extension()
          ? "SELECT * FROM " + db.fn("trajc_stats") + "()"
          : "WITH types(qa_type, ord) AS (VALUES ('factoid', 1), ('reasoning', 2),"
            " ('composition', 3), ('temporal', 4))"
            " SELECT coalesce(t.qa_type, 'total') AS qa_type, count(p.id) AS pairs,"
            " count(DISTINCT p.session_id) AS sessions, coalesce(sum(p.cost_usd), 0) AS cost_usd"
            " FROM types t LEFT JOIN trajc.qa_pairs p ON p.qa_type = t.qa_type"
            " GROUP BY ROLLUP ((t.qa_type, t.ord)) ORDER BY t.ord IS NULL, t.ord";
  return print_query(db, g, Layout::Columns, stats, {});
}

int run_sample(const GlobalOptions& g, const ParsedArgs& a) {
  const std::string limit = std::to_string(a.get_int("limit", 5, 0));
  const auto qa_type = qa_type_option(a);
  TrajcDb db(g.dsn);
  // On a terminal the pair is what matters; scripts get every column.
  const std::string columns =
      g.json ? "*"
             : pair_columns({kId, kSessionId, kQaType, kQuestion, kAnswer, kSupportingTurns,
                             kSourceModel, kCostUsd, kCreatedAt});
  const std::string from =
      db.has_extension()
          ? db.fn("trajc_sample") + "($1, $2)"
          : "(SELECT * FROM trajc.qa_pairs p WHERE $2::text IS NULL OR p.qa_type = $2"
            " ORDER BY random() LIMIT $1::int) s";
  return print_query(db, g, Layout::Records, "SELECT " + columns + " FROM " + from,
                     {limit.c_str(), qa_type ? qa_type->c_str() : nullptr});
}

}  // namespace trajc_cli
