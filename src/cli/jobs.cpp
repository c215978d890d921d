// jobs, and compile --background: the extension's background runs seen from
// the tool. `trajc compile --background` calls trajc_start() and prints the
// job's id; `trajc jobs` lists trajc.jobs (as row-level security shows it to
// this role), and with --watch redraws it until no job is queued or running,
// with a progress bar per running job.
//
// Must never: run or stop a job itself (the server's workers do), compute a
// count the jobs table does not hold, or print database text raw.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "compile_progress.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "signals.hpp"

namespace trajc_cli {

namespace {

// The columns `trajc jobs` shows, newest job first.
constexpr const char* kJobsQuery =
    "SELECT id, role::text AS role, status, sessions_done, sessions_total, pairs, cost_usd,"
    "       queued_at, started_at, finished_at, error"
    "  FROM trajc.jobs ORDER BY id DESC LIMIT $1";
// What --watch reads: the same, and how long each job has been running (for the ETA).
constexpr const char* kWatchQuery =
    "SELECT id, role::text, status, sessions_done, sessions_total, pairs, cost_usd,"
    "       queued_at, started_at, finished_at, error,"
    "       extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at)::float8"
    "  FROM trajc.jobs ORDER BY id DESC LIMIT $1";

struct Job {
  std::string id, role, status, error;
  long done = 0, total = -1, pairs = 0;  // total -1: not listed yet
  double cost = 0, seconds = 0;
  bool live() const { return status == "queued" || status == "running"; }
};

std::vector<Job> jobs_of(const PGresult* res) {
  std::vector<Job> out;
  auto text = [&](int r, int c) { return std::string(PQgetvalue(res, r, c)); };
  for (int r = 0; r < PQntuples(res); r++) {
    Job j;
    j.id = text(r, 0);
    j.role = text(r, 1);
    j.status = text(r, 2);
    j.done = std::atol(PQgetvalue(res, r, 3));
    if (!PQgetisnull(res, r, 4)) j.total = std::atol(PQgetvalue(res, r, 4));
    j.pairs = std::atol(PQgetvalue(res, r, 5));
    j.cost = std::atof(PQgetvalue(res, r, 6));
    j.error = text(r, 10);
    j.seconds = std::atof(PQgetvalue(res, r, 11));
    out.push_back(j);
  }
  return out;
}

// One line of a watched job: its bar while it runs.
std::string job_line(const Job& j) {
  std::string line = "job " + j.id + " " + j.status;
  if (j.status == "running" && j.total >= 0)
    line += " " + progress_bar(static_cast<std::size_t>(j.done), static_cast<std::size_t>(j.total),
                               j.pairs, j.cost, j.seconds);
  else if (j.status == "running")
    line += " (listing sessions)";
  return printable(line);
}

// On a terminal, the frame of live jobs is redrawn in place; elsewhere a
// line is printed whenever a job's status or count changes.
class Watch {
 public:
  explicit Watch(bool terminal) : terminal_(terminal) {}

  void show(const std::vector<Job>& jobs) {
    std::vector<std::string> lines;
    for (const Job& j : jobs)
      if (j.live()) lines.push_back(job_line(j));
    if (terminal_) {
      erase();
      for (const auto& l : lines) std::printf("%s\n", l.c_str());
      drawn_ = lines.size();
    } else {
      for (const auto& l : lines)
        if (std::find(last_.begin(), last_.end(), l) == last_.end()) std::printf("%s\n", l.c_str());
      last_ = lines;
    }
    std::fflush(stdout);
  }

  void erase() {
    if (terminal_ && drawn_ > 0) std::printf("\033[%zuF\033[J", drawn_);
    drawn_ = 0;
  }

 private:
  bool terminal_;
  std::size_t drawn_ = 0;
  std::vector<std::string> last_;
};

// Sleeps `seconds`, waking early on Ctrl-C.
void nap(int seconds) {
  for (int i = 0; i < seconds * 10 && !interrupted(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

int run_jobs(const GlobalOptions& g, const ParsedArgs& a) {
  const std::string limit = std::to_string(a.get_int("limit", 20, 1));
  const int interval = a.get_int("interval", 1, 1);
  TrajcDb db(g.dsn);
  OutputStyle style;
  style.json = g.json;
  if (a.has("watch")) {
    InterruptScope interrupt_scope;
    interrupt_scope.cancel_on_signal(db.raw());
    Watch watch(!g.json && isatty(STDOUT_FILENO) != 0);
    for (;;) {
      PgResult res = db.exec(kWatchQuery, {limit.c_str()});
      const std::vector<Job> jobs = jobs_of(res.get());
      bool any_live = false;
      for (const Job& j : jobs) any_live = any_live || j.live();
      if (!any_live || interrupted()) break;
      if (!g.json) watch.show(jobs);
      nap(interval);
      if (interrupted()) break;
    }
    watch.erase();
    if (interrupted()) return kExitInterrupted;
  }
  PgResult res = db.exec(kJobsQuery, {limit.c_str()});
  print_table(Table::from_result(res.get()), style);
  return kExitOk;
}

int start_background_job(const GlobalOptions& g, const ParsedArgs& a) {
  for (const char* option : {"session", "force"})
    if (a.has(option))
      throw usage_error(std::string("--") + option + " cannot be used with --background",
                        "a background job compiles what CALL trajc_compile_pending() would");
  const std::string min_turns = std::to_string(a.get_int("min-turns", 10, 1));
  const std::string limit = std::to_string(a.get_int("limit", 25, 0));
  const auto tier = a.maybe("tier");
  const auto provider = a.maybe("provider");
  TrajcDb db(g.dsn);
  // The job takes this session's settings of the moment it starts.
  if (provider)
    db.exec("SELECT pg_catalog.set_config('trajc.provider', $1, false)", {provider->c_str()});
  const std::string id =
      db.scalar("SELECT " + db.fn("trajc_start") + "($1::int, $2::int, $3::text)",
                {min_turns.c_str(), limit.c_str(), tier ? tier->c_str() : nullptr});
  if (g.json) {
    std::printf("{\"job_id\": %s}\n", id.c_str());
  } else {
    std::printf("%s\n", id.c_str());
    std::fprintf(stderr, "trajc: started background job %s; follow it with `trajc jobs --watch`\n",
                 id.c_str());
  }
  return kExitOk;
}

}  // namespace trajc_cli
