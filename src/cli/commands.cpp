// extract, stats, sample: one SQL call each, printed as a table or JSON.
// Must never compute what the SQL function returns, nor print its text raw
// (print_table escapes it).
#include "commands.hpp"

#include <string>

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
  return print_query(db, g, Layout::Columns,
                     "SELECT * FROM " + db.fn("trajc_extract") + "($1, $2, $3)",
                     {min_turns.c_str(), limit.c_str(), since ? since->c_str() : nullptr});
}

int run_stats(const GlobalOptions& g, const ParsedArgs&) {
  TrajcDb db(g.dsn);
  return print_query(db, g, Layout::Columns, "SELECT * FROM " + db.fn("trajc_stats") + "()", {});
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
  return print_query(db, g, Layout::Records,
                     "SELECT " + columns + " FROM " + db.fn("trajc_sample") + "($1, $2)",
                     {limit.c_str(), qa_type ? qa_type->c_str() : nullptr});
}

}  // namespace trajc_cli
