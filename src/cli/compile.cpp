// compile: session by session, each in its own transaction, so that Ctrl-C
// (which cancels the model call in flight) loses only the unfinished session.
// Each session's status comes from the extension's own status row
// (trajc_compile_session). Must never compile anything itself, nor guess a
// status from trajc.compile_log.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.hpp"
#include "compile_progress.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "signals.hpp"

namespace trajc_cli {

namespace {

// Sessions in trajc_extract's order (longest first), up to limit (0 = all);
// --session restricts the list to the named sessions, in that order. Which
// of them are unchanged since their last compile is trajc_compile's to say.
std::vector<std::string> list_candidates(TrajcDb& db, int min_turns, int limit,
                                         const std::vector<std::string>& sessions) {
  const std::string min = std::to_string(sessions.empty() ? min_turns : 1);
  const std::string lim = std::to_string(sessions.empty() ? limit : 0);
  const std::string only = text_array(sessions);
  PgResult res = db.exec("SELECT e.session_id FROM " + db.fn("trajc_extract") +
                             "($1, $2) e"
                             " WHERE cardinality($3::text[]) = 0 OR e.session_id = ANY ($3::text[])",
                         {min.c_str(), lim.c_str(), only.c_str()});
  std::vector<std::string> out;
  for (int r = 0; r < PQntuples(res.get()); r++) out.push_back(PQgetvalue(res.get(), r, 0));
  if (sessions.empty()) return out;
  // Named sessions: in the order given, and each must exist.
  std::vector<std::string> named;
  std::string missing;
  for (const auto& s : sessions) {
    if (std::find(out.begin(), out.end(), s) == out.end())
      missing += (missing.empty() ? "" : ", ") + s;
    else
      named.push_back(s);
  }
  if (!missing.empty()) throw usage_error("no such session in the audit log: " + missing);
  return named;
}

// Errors that will hit every session alike (a missing API key, an unknown
// tier, no privilege): stop the run instead of failing each session.
// A failed model call or a bad reply (58000, 22P02, ...) is the session's own.
bool stops_the_run(const CliError& e) {
  const std::string& s = e.sqlstate();
  if (e.code() == kExitInterrupted || s.empty()) return true;  // cancel, lost connection
  for (const char* prefix : {"22023", "42", "08", "28", "3D", "53", "57P"})
    if (s.rfind(prefix, 0) == 0) return true;
  return false;
}

// The one call of the extension's compile: trajc_compile_session does what
// trajc_compile does (claim, skip if unchanged, model call, store, log) in
// its own transaction, and returns the session's status row, shaped like a
// row of trajc_compile_batch. A session's own failure is a 'failed' row; an
// error raised is one the whole run shares (see stops_the_run).
SessionResult compile_session(TrajcDb& db, const std::string& session_id, const char* tier,
                              bool force) {
  PgResult row = db.exec("SELECT status, pairs, rejected, cost_usd::float8, error FROM " +
                             db.fn("trajc_compile_session") + "($1::text, $2::text, $3::boolean)",
                         {session_id.c_str(), tier, force ? "true" : "false"});
  if (PQntuples(row.get()) != 1)
    throw CliError(kExitFailed, "trajc_compile_session returned " +
                                    std::to_string(PQntuples(row.get())) + " rows, not one");
  SessionResult r;
  r.session_id = session_id;
  r.status = PQgetvalue(row.get(), 0, 0);
  r.pairs = std::atoi(PQgetvalue(row.get(), 0, 1));
  r.rejected = std::atoi(PQgetvalue(row.get(), 0, 2));
  r.cost_usd = std::atof(PQgetvalue(row.get(), 0, 3));
  r.error = PQgetvalue(row.get(), 0, 4);  // "" for NULL
  return r;
}

// One session, timed; an error raised for it alone (the session vanished
// from the audit log, a bad value) makes it 'failed', the rest goes on.
SessionResult compile_one(TrajcDb& db, const std::string& session_id, const char* tier,
                          bool force) {
  const auto started = Clock::now();
  SessionResult r;
  try {
    r = compile_session(db, session_id, tier, force);
  } catch (const CliError& e) {
    if (stops_the_run(e)) throw;
    r.session_id = session_id;
    r.status = "failed";
    r.error = e.what();
    if (!e.hint().empty()) r.error += " (hint: " + e.hint() + ")";
  }
  r.seconds = seconds_since(started);
  return r;
}

struct Totals {
  long pairs = 0;
  double cost = 0;
  // "skipped" comes from the server: unchanged since its last compile, or
  // being compiled by another run (the error column says which).
  std::size_t ok = 0, empty = 0, failed = 0, skipped = 0;
};

Totals totals_of(const std::vector<SessionResult>& results) {
  Totals t;
  for (const auto& r : results) {
    t.pairs += r.pairs;
    t.cost += r.cost_usd;
    t.ok += r.status == "ok";
    t.empty += r.status == "empty";
    t.failed += r.status == "failed";
    t.skipped += r.status == "skipped";
  }
  return t;
}

// The sessions as a table (all of them, or only the failed ones).
Table session_table(const std::vector<SessionResult>& results, bool failed_only) {
  Table t;
  t.columns = {{"session_id", ValueKind::Text}, {"status", ValueKind::Text},
               {"pairs", ValueKind::Number},    {"rejected", ValueKind::Number},
               {"cost_usd", ValueKind::Number}, {"seconds", ValueKind::Number},
               {"error", ValueKind::Text}};
  for (const auto& r : results) {
    if (failed_only && r.status != "failed") continue;
    char usd[32], secs[32];
    std::snprintf(usd, sizeof usd, "%.6f", r.cost_usd);
    std::snprintf(secs, sizeof secs, "%.3f", r.seconds);
    t.rows.push_back({r.session_id, r.status, std::to_string(r.pairs), std::to_string(r.rejected),
                      usd, secs,
                      r.error.empty() ? std::nullopt : std::optional<std::string>(r.error)});
  }
  return t;
}

void print_json_summary(const std::vector<SessionResult>& results, std::size_t planned,
                        bool was_interrupted) {
  const Totals t = totals_of(results);
  char usd[32];
  std::snprintf(usd, sizeof usd, "%.6f", t.cost);
  std::string out =
      "{\"sessions\": " + to_json(session_table(results, false)) + ",\n \"summary\": {" +
      "\"planned\": " + std::to_string(planned) +
      ", \"compiled\": " + std::to_string(results.size()) + ", \"ok\": " + std::to_string(t.ok) +
      ", \"empty\": " + std::to_string(t.empty) + ", \"failed\": " + std::to_string(t.failed) +
      ", \"skipped\": " + std::to_string(t.skipped) + ", \"pairs\": " + std::to_string(t.pairs) +
      ", \"cost_usd\": " + usd + ", \"interrupted\": " + (was_interrupted ? "true" : "false") +
      "}}\n";
  std::fputs(out.c_str(), stdout);
}

void print_text_summary(const std::vector<SessionResult>& results, std::size_t planned,
                        bool was_interrupted, double seconds) {
  const Totals t = totals_of(results);
  std::printf("%s %zu of %zu sessions in %s: %zu ok, %zu empty, %zu failed",
              was_interrupted ? "interrupted after" : "compiled", results.size(), planned,
              format_duration(seconds).c_str(), t.ok, t.empty, t.failed);
  if (t.skipped)
    std::printf(", %zu skipped (unchanged: --force recompiles; or busy elsewhere)", t.skipped);
  std::printf("\npairs: %ld, cost: %s\n", t.pairs, format_usd(t.cost).c_str());
  if (t.failed) {
    std::printf("failed sessions:\n");
    print_table(session_table(results, true), OutputStyle{});
  }
  std::fflush(stdout);
}

struct Run {
  std::vector<SessionResult> results;
  bool interrupted = false;
  Clock::time_point started = Clock::now();
};

void print_summary(const GlobalOptions& g, const Run& run, std::size_t planned) {
  if (g.json)
    print_json_summary(run.results, planned, run.interrupted);
  else
    print_text_summary(run.results, planned, run.interrupted, seconds_since(run.started));
}

// Compiles `todo` in order until done or interrupted. An error that stops the
// run is thrown after the summary of what was finished (and is kept).
Run compile_all(const GlobalOptions& g, TrajcDb& db, const std::vector<std::string>& todo,
                const char* tier, bool force) {
  Run run;
  Progress progress(todo.size(), isatty(STDERR_FILENO) != 0);
  for (const auto& session_id : todo) {
    if (interrupted()) {
      run.interrupted = true;
      break;
    }
    progress.starting(session_id);
    try {
      run.results.push_back(compile_one(db, session_id, tier, force));
    } catch (const CliError& e) {
      progress.finish();
      if (e.code() != kExitInterrupted) {
        print_summary(g, run, todo.size());
        throw;
      }
      run.interrupted = true;
      break;
    }
    progress.done(run.results.back());
  }
  progress.finish();
  return run;
}

}  // namespace

int run_compile(const GlobalOptions& g, const ParsedArgs& a) {
  const int min_turns = a.get_int("min-turns", 10, 1);
  const int limit = a.get_int("limit", 25, 0);
  const auto tier = a.maybe("tier");
  const auto provider = a.maybe("provider");
  const std::vector<std::string> only = a.all("session");

  TrajcDb db(g.dsn);
  const std::vector<std::string> todo = list_candidates(db, min_turns, limit, only);
  // After the first trajc call, so the module has defined the setting and
  // rejects an unknown provider here rather than at the first session.
  if (provider)
    db.exec("SELECT pg_catalog.set_config('trajc.provider', $1, false)", {provider->c_str()});

  InterruptScope interrupt_scope;
  interrupt_scope.cancel_on_signal(db.raw());
  const Run run = compile_all(g, db, todo, tier ? tier->c_str() : nullptr, a.has("force"));
  print_summary(g, run, todo.size());
  if (run.interrupted) return kExitInterrupted;
  for (const auto& r : run.results)
    if (r.status == "failed") return kExitFailed;
  return kExitOk;
}

}  // namespace trajc_cli
