// `trajc eval run` and `trajc eval report`: thin clients of trajc_eval_pending
// and trajc_eval_report.
//
// eval run sends CALL trajc_eval_pending(...) on one connection (the
// procedure commits as it goes) and watches trajc.eval_runs from a second one
// to draw progress. Ctrl-C cancels the call: every answer committed so far is
// kept, and running the same command again resumes the run. The tool never
// grades or stores anything itself.
#include <sys/select.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "signals.hpp"

namespace trajc_cli {

namespace {

using Clock = std::chrono::steady_clock;

struct RunProgress {
  bool exists = false;
  long total = 0;   // pairs the run selects
  long asked = 0;   // rows in eval_answers (graded or not)
  long graded = 0;
  long correct = 0;
  double cost = 0;
};

RunProgress read_progress(TrajcDb& db, const std::string& label) {
  PgResult r = db.exec(
      "SELECT r.pairs, r.correct, r.cost_usd::float8,"
      "       (SELECT count(*) FROM trajc.eval_answers a WHERE a.run_id = r.id),"
      "       (SELECT count(*) FROM (SELECT 1 FROM trajc.qa_pairs p"
      "          WHERE r.qa_type IS NULL OR p.qa_type = r.qa_type"
      "          LIMIT nullif(r.pair_limit, 0)) s)"
      "  FROM trajc.eval_runs r WHERE r.label = $1",
      {label.c_str()});
  RunProgress p;
  if (PQntuples(r.get()) == 0) return p;
  p.exists = true;
  p.graded = std::atol(PQgetvalue(r.get(), 0, 0));
  p.correct = std::atol(PQgetvalue(r.get(), 0, 1));
  p.cost = std::atof(PQgetvalue(r.get(), 0, 2));
  p.asked = std::atol(PQgetvalue(r.get(), 0, 3));
  p.total = std::atol(PQgetvalue(r.get(), 0, 4));
  return p;
}

// A bar redrawn in place on a terminal; otherwise a line whenever the
// count of asked pairs changes (logs, CI).
class EvalProgress {
 public:
  explicit EvalProgress(bool terminal) : terminal_(terminal), started_(Clock::now()) {}

  void show(const RunProgress& p) {
    if (!p.exists) return;
    if (terminal_) {
      constexpr int kWidth = 24;
      const int filled = p.total ? static_cast<int>(kWidth * std::min(p.asked, p.total) / p.total) : 0;
      const double elapsed =
          std::chrono::duration<double>(Clock::now() - started_).count();
      const long fresh = p.asked - first_asked();
      const double eta = fresh > 0 ? elapsed / fresh * (p.total - p.asked) : -1;
      std::fprintf(stderr, "\r\033[K[%s%s] %ld/%ld pairs | %ld right of %ld graded | %s | ETA %s",
                   std::string(filled, '#').c_str(), std::string(kWidth - filled, '-').c_str(),
                   p.asked, p.total, p.correct, p.graded, format_usd(p.cost).c_str(),
                   format_duration(eta).c_str());
      std::fflush(stderr);
    } else if (p.asked != last_asked_) {
      std::fprintf(stderr, "[%ld/%ld] %ld right of %ld graded, %s\n", p.asked, p.total,
                   p.correct, p.graded, format_usd(p.cost).c_str());
    }
    if (first_asked_ < 0) first_asked_ = p.asked;
    last_asked_ = p.asked;
  }

  void finish() {
    if (terminal_) std::fputs("\r\033[K", stderr);
  }

 private:
  long first_asked() const { return first_asked_ < 0 ? 0 : first_asked_; }
  bool terminal_;
  Clock::time_point started_;
  long first_asked_ = -1, last_asked_ = -1;
};

// Waits up to `ms` for the worker connection to have its result ready.
bool wait_readable(PGconn* conn, int ms) {
  fd_set fds;
  FD_ZERO(&fds);
  const int sock = PQsocket(conn);
  if (sock < 0) return true;  // let receive() report the broken connection
  FD_SET(sock, &fds);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  return select(sock + 1, &fds, nullptr, nullptr, &tv) != 0;  // ready, or a signal
}

const char* opt(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }

void print_summary(TrajcDb& db, const GlobalOptions& g, const std::string& label,
                   bool was_interrupted) {
  PgResult r = db.exec("SELECT * FROM trajc.eval_summary(trajc.eval_run_id($1))", {label.c_str()});
  OutputStyle style;
  style.json = g.json;
  if (!g.json) {
    std::printf("eval run \"%s\"%s\n", label.c_str(),
                was_interrupted ? " interrupted: answers so far are kept; run the same command "
                                  "again to resume"
                                : "");
  }
  print_table(Table::from_result(r.get()), style);
}

}  // namespace

int run_eval_run(const GlobalOptions& g, const ParsedArgs& a) {
  const auto label = a.maybe("label");
  if (!label || label->empty()) throw usage_error("--label is required", "see `trajc help eval run`");
  const std::string limit = std::to_string(a.get_int("limit", 0, 0));
  const auto provider = a.maybe("provider"), model = a.maybe("model"), grader = a.maybe("grader");
  const auto qa_type = qa_type_option(a);

  TrajcDb worker(g.dsn);
  TrajcDb monitor(g.dsn);
  // Values go in as literals (send() has no parameters): quoted by libpq.
  auto lit = [&](const char* v) { return v ? worker.literal(v) : std::string("NULL"); };
  const std::string call = "CALL " + worker.fn("trajc_eval_pending") + "(" + lit(label->c_str()) +
                           ", " + lit(opt(provider)) + ", " + lit(opt(model)) + ", " + limit +
                           ", " + lit(opt(qa_type)) + ", " + lit(grader ? grader->c_str() : "auto") +
                           ")";
  InterruptScope interrupt_scope;
  interrupt_scope.cancel_on_signal(worker.raw());
  EvalProgress progress(isatty(STDERR_FILENO) != 0);
  worker.send(call);
  bool was_interrupted = false;
  try {
    for (;;) {
      if (wait_readable(worker.raw(), 300)) {
        worker.absorb();
        if (!PQisBusy(worker.raw())) break;
      }
      progress.show(read_progress(monitor, *label));
    }
    worker.receive();
  } catch (const CliError& e) {
    progress.finish();
    if (e.code() != kExitInterrupted) throw;
    was_interrupted = true;
  }
  progress.finish();
  print_summary(monitor, g, *label, was_interrupted);
  return was_interrupted ? kExitInterrupted : kExitOk;
}

int run_eval_report(const GlobalOptions& g, const ParsedArgs& a) {
  const auto& labels = a.positional();
  if (labels.empty()) throw usage_error("give the label of a run (and a second one to compare)",
                                        "see `trajc help eval report`");
  TrajcDb db(g.dsn);
  const char* b = labels.size() > 1 ? labels[1].c_str() : nullptr;
  PgResult report = db.exec("SELECT * FROM " + db.fn("trajc_eval_report") + "($1, $2)",
                            {labels[0].c_str(), b});
  OutputStyle style;
  style.json = g.json;
  const Table table = Table::from_result(report.get());
  if (!b) {
    print_table(table, style);
    return kExitOk;
  }
  // With two runs, the pairs the first got right and the second did not.
  const std::string limit = std::to_string(a.get_int("regressions", 20, 0));
  PgResult reg = db.exec(
      "SELECT p.id, p.qa_type, p.question, p.answer AS reference, xa.answer AS answer_a,"
      "       xb.answer AS answer_b"
      "  FROM trajc.eval_answers xa JOIN trajc.eval_answers xb ON xb.pair_id = xa.pair_id"
      "  JOIN trajc.qa_pairs p ON p.id = xa.pair_id"
      " WHERE xa.run_id = trajc.eval_run_id($1) AND xb.run_id = trajc.eval_run_id($2)"
      "   AND xa.correct AND NOT xb.correct"
      " ORDER BY p.qa_type, p.id LIMIT $3",
      {labels[0].c_str(), b, limit.c_str()});
  const Table regressions = Table::from_result(reg.get());
  if (g.json) {
    std::printf("{\"report\": %s,\n \"regressions\": %s}\n", to_json(table).c_str(),
                to_json(regressions).c_str());
    return kExitOk;
  }
  print_table(table, style);
  std::printf("\nregressions (right in %s, wrong in %s), first %s:\n", labels[0].c_str(), b,
              limit.c_str());
  style.layout = Layout::Records;
  print_table(regressions, style);
  return kExitOk;
}

}  // namespace trajc_cli
