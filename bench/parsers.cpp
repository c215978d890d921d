// bench/parsers.cpp -- linearity of the core's parsers on the shapes of
// issue 9: prose of N '[' then text (the reply finder), bracket-heavy prose
// within the nesting limit, and one session of N turns with all-distinct tool
// names (the offline compiler). For each shape it times sizes N, 2N, 4N, ...
// and prints each time and its ratio to the previous size: ~2 is linear, ~4
// quadratic. Ratios, not absolute times, are the result.
//
//   build/trajc_bench_parsers [shape [start_size [steps]]]
//   shapes: finder_brackets | finder_prose | offline_tools | all (default)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "trajc/error.hpp"
#include "trajc/offline.hpp"
#include "trajc/qa.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Median of three runs, in seconds.
double time_of(const std::function<void()>& run) {
  double t[3];
  for (double& one : t) {
    const auto start = clock_type::now();
    run();
    one = std::chrono::duration<double>(clock_type::now() - start).count();
  }
  if (t[0] > t[1]) std::swap(t[0], t[1]);
  if (t[1] > t[2]) std::swap(t[1], t[2]);
  if (t[0] > t[1]) std::swap(t[0], t[1]);
  return t[1];
}

void find_json(const std::string& text) {
  try {
    trajc::extract_json(text);
  } catch (const trajc::Error&) {
    // A failure is a result too: only the time counts here.
  }
}

std::string brackets_then_text(std::size_t n) { return std::string(n, '[') + " and then some prose"; }

// Blocks of 200 '[' and a word: unclosed brackets, within the nesting limit.
std::string bracket_prose(std::size_t n) {
  std::string s;
  while (s.size() < n) s += std::string(200, '[') + " text ";
  return s + R"({"pairs": []})";
}

trajc::Trajectory distinct_tools(std::size_t n) {
  trajc::Trajectory t;
  t.session_id = "bench";
  t.agent = "agent";
  for (std::size_t i = 1; i <= n; ++i) {
    trajc::Turn turn;
    turn.number = static_cast<int>(i);
    turn.at = "2026-01-02T03:04:05.000000Z";
    turn.agent = "agent";
    turn.fields = {{"tool", "tool_" + std::to_string(i)},
                   {"success", i % 3 ? "true" : "false"},
                   {"arguments", R"({"n": )" + std::to_string(i) + "}", true}};
    t.turns.push_back(std::move(turn));
  }
  return t;
}

void series(const char* shape, std::size_t start, int steps, const std::function<double(std::size_t)>& at) {
  double previous = 0;
  for (int i = 0; i < steps; ++i) {
    const std::size_t n = start << i;
    const double seconds = at(n);
    if (previous > 0) {
      std::printf("bench: %-16s n=%-9zu %12.6f s   ratio to n/2: %5.2f\n", shape, n, seconds, seconds / previous);
    } else {
      std::printf("bench: %-16s n=%-9zu %12.6f s\n", shape, n, seconds);
    }
    std::fflush(stdout);
    previous = seconds;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  const std::size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 0;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 4;
  auto pick = [&](std::size_t fallback) { return size ? size : fallback; };
  if (which == "all" || which == "finder_brackets") {
    series("finder_brackets", pick(10000), steps, [](std::size_t n) {
      const std::string text = brackets_then_text(n);
      return time_of([&] { find_json(text); });
    });
  }
  if (which == "all" || which == "finder_prose") {
    series("finder_prose", pick(1000000), steps, [](std::size_t n) {
      const std::string text = bracket_prose(n);
      return time_of([&] { find_json(text); });
    });
  }
  if (which == "all" || which == "offline_tools") {
    series("offline_tools", pick(25000), steps, [](std::size_t n) {
      const trajc::Trajectory t = distinct_tools(n);
      return time_of([&] { trajc::offline_compile(t); });
    });
  }
  return 0;
}
