// `trajc report --html FILE`: one self-contained page about the pairs, what
// they cost, eval runs and recall, with charts drawn as inline SVG.
//
// The page must never load anything: no script, no stylesheet, font or
// image from elsewhere (it is opened from disk, mailed, archived). Every
// figure comes from the database (trajc_stats, trajc_eval_report,
// trajc_recall_report, plain reads of the trajc tables); a part whose data
// is missing (older schema, no eval run, no readable audit log) says "not
// available" and why, instead of failing the page.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "out_file.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "recall.hpp"
#include "svg.hpp"

namespace trajc_cli {

namespace {

const char* const kTypes[] = {"factoid", "reasoning", "composition", "temporal"};
const int kRecallKs[] = {1, 2, 3, 5, 10, 20};
constexpr int kRecallTableK = 10;
constexpr std::size_t kAgentBars = 12;
constexpr int kRegressionRows = 100;

struct ReportOptions {
  std::string path;
  std::vector<std::string> eval_labels;  // 0, 1 or 2 labels
  std::vector<std::string> retrievals;   // extra retrieval tables
  int recall_pairs = 300;                // pairs for the baselines, 0 = all
};

std::string value(const PgResult& r, int row, int col) {
  return PQgetisnull(r.get(), row, col) ? std::string() : PQgetvalue(r.get(), row, col);
}

double number(const std::string& s) { return s.empty() ? 0 : std::atof(s.c_str()); }

std::string percent(const std::string& share) {
  return share.empty() ? "n/a" : format_number(number(share) * 100, 1) + "%";
}

std::string not_available(const std::string& chart, const std::string& why) {
  return "<p class=\"na\" data-chart=\"" + html_escape(chart) +
         "\" data-available=\"false\">not available: " + html_escape(why) + "</p>\n";
}

// Runs one part of the page; a server error in it (a missing table, no
// privilege, no audit log) becomes that part's "not available" note. Only
// the connection failing or Ctrl-C stops the whole report.
std::string guarded(const std::string& chart, const std::function<std::string()>& part) {
  try {
    return part();
  } catch (const CliError& e) {
    if (e.sqlstate().empty()) throw;
    return not_available(chart, e.what());
  }
}

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return "<section id=\"" + id + "\">\n<h2>" + html_escape(title) + "</h2>\n" + body +
         "</section>\n";
}

// A plain HTML table of text cells (all escaped).
std::string html_table(const std::string& id, const std::vector<std::string>& head,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table data-table=\"" + html_escape(id) + "\"><thead><tr>";
  for (const auto& h : head) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

bool relation_exists(TrajcDb& db, const char* name) {
  return db.scalar("SELECT to_regclass($1) IS NOT NULL", {name}) == "t";
}

bool column_exists(TrajcDb& db, const char* table, const char* column) {
  return db.scalar(
             "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1)"
             " AND attname = $2 AND attnum > 0 AND NOT attisdropped",
             {table, column}) != "0";
}

// --- the parts of the page ---------------------------------------------

std::string overview(TrajcDb& db) {
  PgResult r = db.exec(
      "SELECT count(*), count(DISTINCT session_id), coalesce(sum(cost_usd), 0),"
      " (SELECT coalesce(sum(cost_usd), 0) FROM trajc.compile_log),"
      " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC', current_database()"
      " FROM trajc.qa_pairs");
  return "<p class=\"summary\" data-pairs=\"" + value(r, 0, 0) + "\" data-sessions=\"" +
         value(r, 0, 1) + "\">Database <b>" + html_escape(value(r, 0, 5)) + "</b>, " +
         html_escape(value(r, 0, 4)) + ": <b>" + value(r, 0, 0) + "</b> pairs from <b>" +
         value(r, 0, 1) + "</b> sessions; compiling cost <b>$" +
         format_number(number(value(r, 0, 3)), 4) + "</b> in all.</p>\n";
}

std::string pairs_per_type(TrajcDb& db) {
  PgResult r = db.exec("SELECT qa_type, pairs FROM " + db.fn("trajc_stats") +
                       "() WHERE qa_type <> 'total'");
  std::vector<Datum> bars;
  for (int i = 0; i < PQntuples(r.get()); i++)
    bars.push_back({value(r, i, 0), number(value(r, i, 1)), value(r, i, 1), value(r, i, 1)});
  return bar_chart("pairs-per-type", bars);
}

std::string pairs_per_agent(TrajcDb& db) {
  PgResult r = db.exec(
      "SELECT coalesce(agent, '(none)'), count(*) FROM trajc.qa_pairs GROUP BY 1"
      " ORDER BY 2 DESC, 1");
  const int n = PQntuples(r.get());
  if (n == 0) return not_available("pairs-per-agent", "no pairs yet");
  std::vector<Datum> bars;
  long rest = 0;
  for (int i = 0; i < n; i++) {
    if (bars.size() < kAgentBars) {
      bars.push_back({value(r, i, 0), number(value(r, i, 1)), value(r, i, 1), value(r, i, 1)});
    } else {
      rest += std::atol(PQgetvalue(r.get(), i, 1));
    }
  }
  if (rest > 0) {
    const std::string others = std::to_string(n - static_cast<int>(kAgentBars)) + " other agents";
    bars.push_back({others, static_cast<double>(rest), std::to_string(rest), std::to_string(rest)});
  }
  return bar_chart("pairs-per-agent", bars);
}

// Cost per day (UTC) of compiling, and of eval runs when there are any.
std::string cost_over_time(TrajcDb& db) {
  const bool evals = relation_exists(db, "trajc.eval_runs");
  std::string sql =
      "WITH c AS (SELECT (finished_at AT TIME ZONE 'UTC')::date AS day, sum(cost_usd) AS usd"
      "             FROM trajc.compile_log GROUP BY 1),"
      " e AS (" +
      std::string(evals ? "SELECT (coalesce(finished_at, started_at) AT TIME ZONE 'UTC')::date"
                          " AS day, sum(cost_usd) AS usd FROM trajc.eval_runs GROUP BY 1"
                        : "SELECT NULL::date AS day, NULL::numeric AS usd WHERE false") +
      ") SELECT to_char(d.day, 'YYYY-MM-DD'), coalesce(c.usd, 0), coalesce(e.usd, 0)"
      "  FROM (SELECT day FROM c UNION SELECT day FROM e) d"
      "  LEFT JOIN c ON c.day = d.day LEFT JOIN e ON e.day = d.day ORDER BY d.day";
  PgResult r = db.exec(sql);
  const int n = PQntuples(r.get());
  if (n == 0) return not_available("cost-over-time", "nothing compiled yet");
  std::vector<std::string> days;
  Series compile{"compile", {}}, eval{"eval", {}};
  double total = 0;
  for (int i = 0; i < n; i++) {
    days.push_back(value(r, i, 0));
    for (int s = 0; s < 2; s++) {
      const std::string usd = value(r, i, 1 + s);
      total += number(usd);
      (s == 0 ? compile : eval)
          .points.push_back({days.back(), number(usd), usd, "$" + format_number(number(usd), 4)});
    }
  }
  std::vector<Series> series = {compile};
  if (evals) series.push_back(eval);
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  return "<p>USD per day (UTC); $" + format_number(total, 4) + " in all.</p>\n" + legend(names) +
         line_chart("cost-over-time", days, series, 0, "$%.3g");
}

// Shares of pairs with verified_by set and with duplicate_of set. Schemas
// before pair verification have neither column: then "not available".
std::string quality_shares(TrajcDb& db) {
  std::string out;
  const std::string total = db.scalar("SELECT count(*) FROM trajc.qa_pairs");
  if (total == "0") return not_available("quality-shares", "no pairs yet");
  std::vector<Datum> bars;
  std::vector<std::string> missing;
  for (const auto& [column, label] : {std::pair<const char*, const char*>{"verified_by", "verified"},
                                     {"duplicate_of", "near-duplicate"}}) {
    if (!column_exists(db, "trajc.qa_pairs", column)) {
      missing.push_back(std::string(label) + " (no column trajc.qa_pairs." + column +
                        " in this schema)");
      continue;
    }
    // The column name is one of two constants above, never user input.
    const std::string share = db.scalar(std::string("SELECT (count(") + column +
                                        ")::float8 / count(*))::text FROM trajc.qa_pairs");
    bars.push_back({label, number(share), share, percent(share)});
  }
  if (!bars.empty()) out += bar_chart("quality-shares", bars, 1);
  for (const auto& m : missing)
    out += "<p class=\"na\" data-chart=\"quality-shares\" data-available=\"false\">" +
           html_escape(m) + ": not available</p>\n";
  return out;
}

// Accuracy per qa_type of one or two eval runs (A older, B newer by
// default), and the pairs A got right and B did not: the regressions.
std::string eval_accuracy(TrajcDb& db, const std::vector<std::string>& chosen) {
  if (!relation_exists(db, "trajc.eval_runs"))
    return not_available("eval-accuracy", "this schema has no trajc.eval_runs (trajc 0.2.0 adds it)");
  std::vector<std::string> labels = chosen;
  if (labels.empty()) {
    PgResult r = db.exec("SELECT label FROM trajc.eval_runs ORDER BY started_at DESC, id DESC LIMIT 2");
    for (int i = PQntuples(r.get()) - 1; i >= 0; i--) labels.push_back(value(r, i, 0));
  }
  if (labels.empty()) return not_available("eval-accuracy", "no eval run yet (trajc eval run)");
  const char* b = labels.size() > 1 ? labels[1].c_str() : nullptr;
  PgResult r = db.exec("SELECT qa_type, pairs, accuracy_a, accuracy_b, delta, a_only, b_only FROM " +
                           db.fn("trajc_eval_report") + "($1, $2)",
                       {labels[0].c_str(), b});
  std::vector<std::string> categories;
  Series sa{labels[0], {}}, sb{labels.size() > 1 ? labels[1] : "", {}};
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r.get()); i++) {
    const std::string type = value(r, i, 0), pairs = value(r, i, 1);
    categories.push_back(type + " (" + pairs + ")");
    const std::string acc_a = value(r, i, 2), acc_b = value(r, i, 3);
    sa.points.push_back({type, number(acc_a), acc_a, percent(acc_a)});
    sb.points.push_back({type, number(acc_b), acc_b, percent(acc_b)});
    rows.push_back({type, pairs, percent(acc_a), percent(acc_b), value(r, i, 4), value(r, i, 5),
                    value(r, i, 6)});
  }
  std::vector<Series> series = {sa};
  if (b) series.push_back(sb);
  std::string out = "<p>Accuracy over the pairs " +
                    std::string(b ? "both runs answered" : "the run answered") + ".</p>\n" +
                    legend(b ? std::vector<std::string>{labels[0], labels[1]}
                             : std::vector<std::string>{labels[0]}) +
                    grouped_bar_chart("eval-accuracy", categories, series, 1) +
                    html_table("eval-report",
                               {"qa_type", "pairs", "accuracy " + labels[0],
                                "accuracy " + (b ? labels[1] : std::string("-")), "delta",
                                "only " + labels[0], "only " + (b ? labels[1] : std::string("-"))},
                               rows);
  if (!b) return out;
  const std::string limit = std::to_string(kRegressionRows);
  PgResult reg = db.exec(
      "SELECT p.qa_type, p.question, p.answer, xa.answer, xb.answer, count(*) OVER ()"
      "  FROM trajc.eval_answers xa"
      "  JOIN trajc.eval_runs ra ON ra.id = xa.run_id AND ra.label = $1"
      "  JOIN trajc.eval_answers xb ON xb.pair_id = xa.pair_id"
      "  JOIN trajc.eval_runs rb ON rb.id = xb.run_id AND rb.label = $2"
      "  JOIN trajc.qa_pairs p ON p.id = xa.pair_id"
      " WHERE xa.correct AND NOT xb.correct"
      " ORDER BY p.qa_type, p.id LIMIT $3",
      {labels[0].c_str(), labels[1].c_str(), limit.c_str()});
  const int n = PQntuples(reg.get());
  const std::string count = n ? value(reg, 0, 5) : "0";
  out += "<h3 data-regressions=\"" + count + "\">Regressions: " + count + " pairs " +
         html_escape(labels[0]) + " got right and " + html_escape(labels[1]) + " did not" +
         (std::atoi(count.c_str()) > n ? " (first " + std::to_string(n) + " shown)" : "") +
         "</h3>\n";
  std::vector<std::vector<std::string>> regressions;
  for (int i = 0; i < n; i++)
    regressions.push_back({value(reg, i, 0), value(reg, i, 1), value(reg, i, 2), value(reg, i, 3),
                           value(reg, i, 4)});
  if (n)
    out += html_table("regressions",
                      {"qa_type", "question", "reference", labels[0], labels[1]}, regressions);
  return out;
}

// Recall@k curves (total over pairs) for the two baselines and every
// retrieval table given, and the per-type figures at k = 10.
std::string recall_curves(TrajcDb& db, const ReportOptions& o) {
  struct Source {
    std::string name, relation, error;
  };
  std::vector<Source> sources;
  for (const char* method : {"fts", "recent"}) {
    Source s{std::string(method) + " baseline", "", ""};
    try {
      s.relation = build_baseline(db, method, kRecallKs[sizeof kRecallKs / sizeof(int) - 1],
                                  o.recall_pairs);
    } catch (const CliError& e) {
      if (e.sqlstate().empty()) throw;
      s.error = e.what();
    }
    sources.push_back(s);
  }
  for (const auto& t : o.retrievals) sources.push_back({t, t, ""});

  std::vector<std::string> ks;
  std::string ks_array = "{";
  for (int k : kRecallKs) {
    ks.push_back("k=" + std::to_string(k));
    ks_array += (ks_array.size() > 1 ? "," : "") + std::to_string(k);
  }
  ks_array += "}";
  std::vector<Series> series;
  std::vector<std::vector<std::string>> rows;
  std::string notes;
  const std::string table_k = std::to_string(kRecallTableK);
  for (const auto& s : sources) {
    if (!s.error.empty()) {
      notes += not_available("recall-at-k:" + s.name, s.error);
      continue;
    }
    try {
      PgResult curve = db.exec("SELECT k, r.recall, r.pairs FROM unnest($2::int[]) k, " +
                                   db.fn("trajc_recall_report") +
                                   "($1::regclass, k) r WHERE r.qa_type = 'total' ORDER BY k",
                               {s.relation.c_str(), ks_array.c_str()});
      Series line{s.name, {}};
      for (int i = 0; i < PQntuples(curve.get()); i++) {
        const std::string recall = value(curve, i, 1);
        line.points.push_back({"k=" + value(curve, i, 0), number(recall), recall, percent(recall)});
      }
      series.push_back(line);
      PgResult per_type = db.exec("SELECT * FROM " + db.fn("trajc_recall_report") +
                                      "($1::regclass, $2)",
                                  {s.relation.c_str(), table_k.c_str()});
      for (int i = 0; i < PQntuples(per_type.get()); i++)
        rows.push_back({s.name, value(per_type, i, 0), value(per_type, i, 1),
                        percent(value(per_type, i, 2)), percent(value(per_type, i, 3)),
                        percent(value(per_type, i, 4)), format_number(number(value(per_type, i, 5)), 3),
                        percent(value(per_type, i, 6))});
    } catch (const CliError& e) {
      if (e.sqlstate().empty()) throw;
      notes += not_available("recall-at-k:" + s.name, e.what());
    }
  }
  std::string out =
      "<p>Share of each pair's supporting turns among the first k retrieved, averaged over "
      "pairs. Baselines over " +
      (o.recall_pairs ? "the first " + std::to_string(o.recall_pairs) + " pairs by id"
                      : std::string("every pair")) +
      ": <i>fts</i> ranks the session's turns by full-text match with the question, "
      "<i>recent</i> takes the last k.</p>\n";
  if (!series.empty()) {
    std::vector<std::string> names;
    for (const auto& s : series) names.push_back(s.name);
    out += legend(names) + line_chart("recall-at-k", ks, series, 1, "%.2f");
    out += "<h3>At k = " + table_k + "</h3>\n" +
           html_table("recall-table",
                      {"retrieval", "qa_type", "pairs", "recall", "all", "any", "nDCG",
                       "precision"},
                      rows);
  }
  return out + notes;
}

const char* const kStyle =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:980px;"
    "color:#222;background:#fff}"
    "h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;"
    "padding-bottom:4px;margin-top:28px}h3{font-size:15px}"
    "section{margin-bottom:12px}.summary{color:#444}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px}"
    "svg.chart{max-width:100%;height:auto;display:block}"
    "svg .label,svg .value,svg .axis{font-size:12px;fill:#333}svg .axis{fill:#666}"
    "svg .grid{stroke:#e5e5e5}svg .line{stroke-width:2.5}"
    ".legend span{margin-right:16px;font-size:13px}.legend i{display:inline-block;width:12px;"
    "height:12px;margin-right:5px;vertical-align:-1px}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}"
    ".na{color:#a33;font-style:italic}footer{color:#777;font-size:12px;margin-top:32px}";

std::string page(TrajcDb& db, const ReportOptions& o) {
  std::string body;
  body += "<h1>trajc report</h1>\n" + guarded("summary", [&] { return overview(db); });
  body += section("pairs", "Pairs per type",
                  guarded("pairs-per-type", [&] { return pairs_per_type(db); }));
  body += section("agents", "Pairs per agent",
                  guarded("pairs-per-agent", [&] { return pairs_per_agent(db); }));
  body += section("cost", "Cost over time",
                  guarded("cost-over-time", [&] { return cost_over_time(db); }));
  body += section("quality", "Verified and duplicate shares",
                  guarded("quality-shares", [&] { return quality_shares(db); }));
  body += section("eval", "Eval: accuracy per type",
                  guarded("eval-accuracy", [&] { return eval_accuracy(db, o.eval_labels); }));
  body += section("recall", "Recall@k", guarded("recall-at-k", [&] { return recall_curves(db, o); }));
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>trajc report</title>\n<style>" +
         std::string(kStyle) + "</style></head>\n<body>\n" + body +
         "<footer>Made by trajc report; self-contained: no script, no external resource."
         "</footer>\n</body></html>\n";
}

}  // namespace

int run_report(const GlobalOptions& g, const ParsedArgs& a) {
  ReportOptions o;
  o.path = a.get("html");
  if (o.path.empty()) throw usage_error("--html FILE is required", "see `trajc help report`");
  o.eval_labels = a.all("eval");
  if (o.eval_labels.size() > 2) throw usage_error("--eval given more than twice (A and B)");
  o.retrievals = a.all("retrievals");
  o.recall_pairs = a.get_int("recall-pairs", o.recall_pairs, 0);
  prepare_output_path(o.path);
  TrajcDb db(g.dsn);
  // A retrieval table the user names must be usable: a typo fails the run
  // (exit 2) instead of turning into a "not available" line.
  for (const auto& t : o.retrievals) {
    try {
      db.exec("SELECT FROM " + db.fn("trajc_recall_report") + "($1::regclass, 1)", {t.c_str()});
    } catch (const CliError& e) {
      if (e.sqlstate().empty()) throw;
      throw CliError(kExitUsage, "--retrievals " + t + ": " + e.what(),
                     "give a table or view with columns (pair_id uuid, rank int, turn int) "
                     "that you can read",
                     e.sqlstate());
    }
  }
  const std::string html = page(db, o);
  // Replaced whole: an interrupted run leaves the previous page (or none).
  LineFile file(o.path);
  file.line(std::string_view(html).substr(0, html.size() - 1));  // the page ends with '\n'
  file.commit();
  if (o.path == "-") return kExitOk;  // stdout holds the page alone
  if (g.json) {
    std::string json = "{\"html\": ";
    append_json_string(json, o.path);
    std::printf("%s, \"bytes\": %zu}\n", json.c_str(), html.size());
  } else
    std::printf("wrote %s (%zu bytes)\n", o.path.c_str(), html.size());
  return kExitOk;
}

}  // namespace trajc_cli
