// The progress display of `trajc compile` (see compile_progress.hpp). Writes
// to stderr only.
#include "compile_progress.hpp"

#include <cstdio>

#include "output.hpp"

namespace trajc_cli {

void Progress::starting(const std::string& session_id) {
  if (terminal_) draw(session_id);
}

void Progress::done(const SessionResult& r) {
  done_++;
  pairs_ += r.pairs;
  cost_ += r.cost_usd;
  char counts[128];
  std::snprintf(counts, sizeof counts, ": %d pairs, %d rejected, %s, %.1fs", r.pairs, r.rejected,
                format_usd(r.cost_usd).c_str(), r.seconds);
  std::string text = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "] " +
                     r.session_id + " " + r.status + counts;
  if (!r.error.empty()) text += " -- " + r.error;
  text = printable(text);  // the id and the error come from the database
  if (!terminal_) {
    std::fprintf(stderr, "%s\n", text.c_str());
  } else if (r.status == "failed") {
    clear();
    std::fprintf(stderr, "%s\n", text.c_str());  // failures stay above the bar
  }
  if (terminal_) draw("");
}

void Progress::finish() {
  if (terminal_) clear();
}

void Progress::clear() { std::fputs("\r\033[K", stderr); }

void Progress::draw(const std::string& current) {
  constexpr int kWidth = 24;
  const int filled = total_ ? static_cast<int>(kWidth * done_ / total_) : kWidth;
  const double elapsed = seconds_since(started_);
  const double eta = done_ ? elapsed / done_ * (total_ - done_) : -1;
  std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "]";
  clear();
  std::fprintf(stderr, "%s %zu/%zu sessions | %ld pairs | %s | ETA %s%s%s", bar.c_str(), done_,
               total_, pairs_, format_usd(cost_).c_str(), format_duration(eta).c_str(),
               current.empty() ? "" : " | ", printable(current).c_str());
  std::fflush(stderr);
}

}  // namespace trajc_cli
