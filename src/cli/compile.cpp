// compile: session by session, each in its own transaction, so that Ctrl-C
// (which cancels the model call in flight) loses only the unfinished session.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "signals.hpp"

namespace trajc_cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct SessionResult {
  std::string session_id;
  std::string status;  // ok, empty, failed (as in trajc.compile_log)
  int pairs = 0;
  int rejected = 0;
  double cost_usd = 0;
  double seconds = 0;
  std::string error;
};

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

// One session in one transaction: the pairs trajc_compile inserted, then the
// compile_log row it wrote for the status, rejections and the call's cost.
SessionResult compile_one(TrajcDb& db, const std::string& session_id, const char* tier,
                          bool force) {
  SessionResult r;
  r.session_id = session_id;
  auto started = Clock::now();
  db.exec("BEGIN");
  try {
    PgResult pairs = db.exec("SELECT count(*), coalesce(sum(cost_usd), 0)::float8 FROM " +
                                 db.fn("trajc_compile") + "($1, $2, $3)",
                             {session_id.c_str(), tier, force ? "true" : "false"});
    r.pairs = std::atoi(PQgetvalue(pairs.get(), 0, 0));
    r.cost_usd = std::atof(PQgetvalue(pairs.get(), 0, 1));
    r.status = r.pairs > 0 ? "ok" : "empty";
    PgResult log = db.exec(
        "SELECT status, pairs_rejected, cost_usd::float8, error FROM trajc.compile_log"
        " WHERE session_id = $1 AND started_at >= now() ORDER BY id DESC LIMIT 1",
        {session_id.c_str()});
    if (PQntuples(log.get()) == 1) {
      r.status = PQgetvalue(log.get(), 0, 0);
      r.rejected = std::atoi(PQgetvalue(log.get(), 0, 1));
      r.cost_usd = std::atof(PQgetvalue(log.get(), 0, 2));
      r.error = PQgetvalue(log.get(), 0, 3);
    }
    db.exec("COMMIT");
  } catch (const CliError& e) {
    PQclear(PQexec(db.raw(), "ROLLBACK"));  // best effort: the error is what matters
    if (stops_the_run(e)) throw;
    r.status = "failed";
    r.error = e.what();
    if (!e.hint().empty()) r.error += " (hint: " + e.hint() + ")";
  }
  r.seconds = seconds_since(started);
  return r;
}

// Sessions done/total, pairs, cost and ETA: a bar redrawn in place on a
// terminal, one line per session otherwise (logs, CI).
class Progress {
 public:
  Progress(std::size_t total, bool terminal)
      : total_(total), terminal_(terminal), started_(Clock::now()) {}

  void starting(const std::string& session_id) {
    if (terminal_) draw(session_id);
  }

  void done(const SessionResult& r) {
    done_++;
    pairs_ += r.pairs;
    cost_ += r.cost_usd;
    char line[512];
    std::snprintf(line, sizeof line, "[%zu/%zu] %s %s: %d pairs, %d rejected, %s, %.1fs", done_,
                  total_, r.session_id.c_str(), r.status.c_str(), r.pairs, r.rejected,
                  format_usd(r.cost_usd).c_str(), r.seconds);
    std::string text = line;
    if (!r.error.empty()) text += " -- " + r.error;
    if (!terminal_) {
      std::fprintf(stderr, "%s\n", text.c_str());
    } else if (r.status == "failed") {
      clear();
      std::fprintf(stderr, "%s\n", text.c_str());  // failures stay above the bar
    }
    if (terminal_) draw("");
  }

  void finish() {
    if (terminal_) clear();
  }

 private:
  void clear() { std::fputs("\r\033[K", stderr); }

  void draw(const std::string& current) {
    constexpr int kWidth = 24;
    const int filled = total_ ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    const double elapsed = seconds_since(started_);
    const double eta = done_ ? elapsed / done_ * (total_ - done_) : -1;
    std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "]";
    clear();
    std::fprintf(stderr, "%s %zu/%zu sessions | %ld pairs | %s | ETA %s%s%s", bar.c_str(), done_,
                 total_, pairs_, format_usd(cost_).c_str(), format_duration(eta).c_str(),
                 current.empty() ? "" : " | ", current.c_str());
    std::fflush(stderr);
  }

  std::size_t total_, done_ = 0;
  long pairs_ = 0;
  double cost_ = 0;
  bool terminal_;
  Clock::time_point started_;
};

void print_summary(const GlobalOptions& g, const std::vector<SessionResult>& results,
                   std::size_t planned, bool was_interrupted, double seconds) {
  long pairs = 0;
  double cost = 0;
  // "skipped" comes from the server: unchanged since its last compile, or
  // being compiled by another run (the error column says which).
  std::size_t ok = 0, empty = 0, failed = 0, skipped = 0;
  Table sessions;
  sessions.columns = {{"session_id", ValueKind::Text}, {"status", ValueKind::Text},
                      {"pairs", ValueKind::Number},    {"rejected", ValueKind::Number},
                      {"cost_usd", ValueKind::Number}, {"seconds", ValueKind::Number},
                      {"error", ValueKind::Text}};
  Table failures = sessions;
  for (const auto& r : results) {
    pairs += r.pairs;
    cost += r.cost_usd;
    ok += r.status == "ok";
    empty += r.status == "empty";
    failed += r.status == "failed";
    skipped += r.status == "skipped";
    char usd[32], secs[32];
    std::snprintf(usd, sizeof usd, "%.6f", r.cost_usd);
    std::snprintf(secs, sizeof secs, "%.3f", r.seconds);
    std::vector<std::optional<std::string>> row = {
        r.session_id,
        r.status,
        std::to_string(r.pairs),
        std::to_string(r.rejected),
        usd,
        secs,
        r.error.empty() ? std::nullopt : std::optional<std::string>(r.error)};
    if (r.status == "failed") failures.rows.push_back(row);
    sessions.rows.push_back(std::move(row));
  }
  if (g.json) {
    char usd[32];
    std::snprintf(usd, sizeof usd, "%.6f", cost);
    std::string out = "{\"sessions\": " + to_json(sessions) + ",\n \"summary\": {" +
                      "\"planned\": " + std::to_string(planned) +
                      ", \"compiled\": " + std::to_string(results.size()) +
                      ", \"ok\": " + std::to_string(ok) + ", \"empty\": " + std::to_string(empty) +
                      ", \"failed\": " + std::to_string(failed) +
                      ", \"skipped\": " + std::to_string(skipped) +
                      ", \"pairs\": " + std::to_string(pairs) + ", \"cost_usd\": " + usd +
                      ", \"interrupted\": " + (was_interrupted ? "true" : "false") + "}}\n";
    std::fputs(out.c_str(), stdout);
    return;
  }
  std::printf("%s %zu of %zu sessions in %s: %zu ok, %zu empty, %zu failed",
              was_interrupted ? "interrupted after" : "compiled", results.size(), planned,
              format_duration(seconds).c_str(), ok, empty, failed);
  if (skipped) std::printf(", %zu skipped (unchanged: --force recompiles; or busy elsewhere)", skipped);
  std::printf("\npairs: %ld, cost: %s\n", pairs, format_usd(cost).c_str());
  if (!failures.rows.empty()) {
    std::printf("failed sessions:\n");
    print_table(failures, OutputStyle{});
  }
  std::fflush(stdout);
}

}  // namespace

int run_compile(const GlobalOptions& g, const ParsedArgs& a) {
  const int min_turns = a.get_int("min-turns", 10, 1);
  const int limit = a.get_int("limit", 25, 0);
  const auto tier = a.maybe("tier");
  const auto provider = a.maybe("provider");
  const std::vector<std::string> only = a.all("session");
  const bool force = a.has("force");

  TrajcDb db(g.dsn);
  const std::vector<std::string> todo = list_candidates(db, min_turns, limit, only);
  // After the first trajc call, so the module has defined the setting and
  // rejects an unknown provider here rather than at the first session.
  if (provider)
    db.exec("SELECT pg_catalog.set_config('trajc.provider', $1, false)", {provider->c_str()});


  InterruptScope interrupt_scope;
  interrupt_scope.cancel_on_signal(db.raw());
  Progress progress(todo.size(), isatty(STDERR_FILENO) != 0);
  std::vector<SessionResult> results;
  auto started = Clock::now();
  bool was_interrupted = false;
  for (const auto& session_id : todo) {
    if (interrupted()) {
      was_interrupted = true;
      break;
    }
    progress.starting(session_id);
    SessionResult r;
    try {
      r = compile_one(db, session_id, tier ? tier->c_str() : nullptr, force);
    } catch (const CliError& e) {
      progress.finish();
      if (e.code() != kExitInterrupted) {
        // Finished sessions are committed; say so before the error itself.
        print_summary(g, results, todo.size(), false, seconds_since(started));
        throw;
      }
      was_interrupted = true;
      break;
    }
    progress.done(r);
    results.push_back(std::move(r));
  }
  progress.finish();
  print_summary(g, results, todo.size(), was_interrupted, seconds_since(started));
  if (was_interrupted) return kExitInterrupted;
  for (const auto& r : results)
    if (r.status == "failed") return kExitFailed;
  return kExitOk;
}

}  // namespace trajc_cli
