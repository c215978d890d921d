// What `trajc compile` shows while it runs: sessions done/total, pairs, cost
// and ETA, as a bar redrawn in place on a terminal or one line per session
// otherwise (logs, CI). Must never print database text raw (session ids and
// errors go through printable()) nor write to stdout, which holds the summary.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace trajc_cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One session's outcome: trajc_compile_session's status row, timed here.
struct SessionResult {
  std::string session_id;
  std::string status;  // ok, empty, failed or skipped
  int pairs = 0;
  int rejected = 0;
  double cost_usd = 0;
  double seconds = 0;
  std::string error;  // empty when none
};

class Progress {
 public:
  Progress(std::size_t total, bool terminal)
      : total_(total), terminal_(terminal), started_(Clock::now()) {}

  void starting(const std::string& session_id);
  void done(const SessionResult& r);
  void finish();  // clears the bar

 private:
  void clear();
  void draw(const std::string& current);

  std::size_t total_, done_ = 0;
  long pairs_ = 0;
  double cost_ = 0;
  bool terminal_;
  Clock::time_point started_;
};

}  // namespace trajc_cli
