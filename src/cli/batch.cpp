// trajc batch submit | collect | list: provider batch mode from the command
// line, a thin client of CALL trajc_batch_submit, CALL trajc_batch_collect
// and trajc.batches. Must never decide what is submitted or stored (the
// procedures do), nor print server text raw (print_table escapes it).
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "pg.hpp"

namespace trajc_cli {

namespace {

constexpr const char* kJobColumns =
    "id, provider, model, remote_id, status, sessions, requests, submitted_at, finished_at,"
    " cost_usd, error";

void print_jobs(TrajcDb& db, const GlobalOptions& g, const std::string& where, const Params& params) {
  PgResult res = db.exec(std::string("SELECT ") + kJobColumns + " FROM trajc.batches " + where, params);
  OutputStyle style;
  style.json = g.json;
  style.layout = Layout::Columns;
  print_table(Table::from_result(res.get()), style);
}

// Sends the pending sessions as jobs; shows the jobs it made. A job the
// vendor refused makes the exit code 1 (its sessions are failed and will be
// sent again by the next submit).
int submit(TrajcDb& db, const GlobalOptions& g, const ParsedArgs& a) {
  const std::string min_turns = std::to_string(a.get_int("min-turns", 10, 1));
  const std::string limit = std::to_string(a.get_int("limit", 500, 0));
  const auto tier = a.maybe("tier");
  if (const auto provider = a.maybe("provider"))
    db.exec("SELECT pg_catalog.set_config('trajc.provider', $1, false)", {provider->c_str()});
  const std::string before = db.scalar("SELECT coalesce(max(id), 0) FROM trajc.batches");
  db.exec("CALL " + db.fn("trajc_batch_submit") + "($1::int, $2::int, $3::text)",
          {min_turns.c_str(), limit.c_str(), tier ? tier->c_str() : nullptr});
  print_jobs(db, g, "WHERE id > $1 ORDER BY id", {before.c_str()});
  const std::string refused =
      db.scalar("SELECT count(*) FROM trajc.batches WHERE id > $1 AND status = 'failed'", {before.c_str()});
  return refused == "0" ? kExitOk : kExitFailed;
}

// Polls the open jobs, stores what finished; shows those jobs as they are now.
int collect(TrajcDb& db, const GlobalOptions& g) {
  const std::string open =
      db.scalar("SELECT '{' || coalesce(string_agg(id::text, ','), '') || '}' FROM trajc.batches"
                " WHERE collected_at IS NULL");
  db.exec("CALL " + db.fn("trajc_batch_collect") + "()");
  print_jobs(db, g, "WHERE id = ANY ($1::bigint[]) ORDER BY id", {open.c_str()});
  return kExitOk;
}

int list(TrajcDb& db, const GlobalOptions& g, const ParsedArgs& a) {
  const std::string limit = std::to_string(a.get_int("limit", 20, 0));
  const std::string where = a.has("open") ? "WHERE collected_at IS NULL " : "";
  print_jobs(db, g, where + "ORDER BY id DESC LIMIT nullif($1::int, 0)", {limit.c_str()});
  return kExitOk;
}

}  // namespace

int run_batch(const GlobalOptions& g, const ParsedArgs& a) {
  if (a.positional().empty())
    throw usage_error("batch needs an action: submit, collect or list", "see `trajc help batch`");
  const std::string& action = a.positional()[0];
  if (action != "submit" && action != "collect" && action != "list")
    throw usage_error("unknown batch action \"" + action + "\"", "use submit, collect or list");
  TrajcDb db(g.dsn);
  if (action == "submit") return submit(db, g, a);
  if (action == "collect") return collect(db, g);
  return list(db, g, a);
}

}  // namespace trajc_cli
