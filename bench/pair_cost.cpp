// Per-pair cost of the quality checks in the core, each beside a baseline
// the compiler already pays per pair, run alternately (A B A B ...) so that
// drift hits both alike; prints medians and ratios. Never part of the tests.
//   fingerprint  question_key + shingles + MinHash + band keys  vs  qa's key
//                (lowercase + whitespace fold, what validate_pairs does)
//   verify       literal verification of a pair  vs  rendering its cited
//                turns (which the verifier needs anyway)
//   redact       PII redaction of a whole trajectory  vs  rendering it for the
//                prompt
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "trajc/dedup.hpp"
#include "trajc/offline.hpp"
#include "trajc/prompt.hpp"
#include "trajc/qa.hpp"
#include "trajc/redact.hpp"
#include "trajc/verify.hpp"

using namespace trajc;

namespace {

// A tool log like the sample one: ~60 turns with JSON arguments, responses
// of a few hundred bytes, some ids, costs, e-mail addresses and IPs.
Trajectory sample(unsigned seed, int turns) {
  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<const char*> o) { return std::string(*(o.begin() + rng() % o.size())); };
  Trajectory t;
  t.session_id = "bench-" + std::to_string(seed);
  for (int i = 1; i <= turns; ++i) {
    Turn turn;
    turn.number = i;
    char at[40];
    std::snprintf(at, sizeof at, "2026-01-02T%02d:%02d:%02d.000000Z", i / 3600, (i / 60) % 60, i % 60);
    turn.at = at;
    turn.agent = pick({"planner", "coder", "reviewer", "web_surfer"});
    const std::string tool = pick({"search", "read_file", "run_tests", "send_mail", "http_get"});
    std::string response;
    while (response.size() < 400) {
      response += pick({"Looked at src/io.cpp line 42. ", "Order ord-" , "Mailed bob@example.com. ",
                        "Fetched http://10.0.0.5:8080/x. ", "3 tests passed, 1 failed. ",
                        "The user asked for a refund of 12.50 EUR. "});
      response += std::to_string(rng() % 100000) + " ";
    }
    turn.fields = {{"tool", tool},
                   {"arguments", "{\"path\": \"src/f" + std::to_string(rng() % 50) + ".cpp\", \"n\": " +
                                     std::to_string(rng() % 9) + "}", true},
                   {"success", pick({"true", "false"})},
                   {"cost", "0.0" + std::to_string(rng() % 90 + 10)},
                   {"response", response}};
    t.turns.push_back(std::move(turn));
  }
  return t;
}

std::string simple_key(const std::string& q) {  // what qa.cpp's duplicate check costs
  std::string k;
  bool space = false;
  for (char c : q) {
    if (c == ' ' || c == '\t' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !k.empty()) k += ' ';
    space = false;
    k += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return k;
}

double now_ns() {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

volatile std::size_t g_sink = 0;

// Runs a and b alternately `rounds` times, each over `items` items; prints
// the median ns per item of each and their ratio.
void compare(const char* name, std::size_t items, int rounds, const std::function<std::size_t()>& a,
             const char* baseline, const std::function<std::size_t()>& b) {
  std::vector<double> ta, tb;
  for (int r = 0; r < rounds; ++r) {
    for (int order = 0; order < 2; ++order) {
      const bool first_a = (r + order) % 2 == 0;
      const double t0 = now_ns();
      g_sink = g_sink + (first_a ? a() : b());
      const double t1 = now_ns();
      (first_a ? ta : tb).push_back((t1 - t0) / static_cast<double>(items));
    }
  }
  const double ma = median(ta), mb = median(tb);
  std::printf("%-12s %10.0f ns/item   baseline %-26s %10.0f ns/item   ratio %.2f\n", name, ma, baseline, mb,
              ma / mb);
}

}  // namespace

int main() {
  std::vector<Trajectory> logs;
  for (unsigned s = 1; s <= 40; ++s) logs.push_back(sample(s, 60));

  // Pairs as the offline compiler writes them (every pair cites >= 2 turns).
  std::vector<std::pair<const Trajectory*, QaPair>> pairs;
  for (const Trajectory& t : logs) {
    const Validation v = validate_pairs(extract_json(offline_compile(t, 8)), static_cast<int>(t.turns.size()), 8);
    for (const QaPair& p : v.kept) pairs.push_back({&t, p});
  }
  std::size_t grounded = 0;
  for (const auto& [t, p] : pairs) grounded += verify_literal(p, *t).grounded;
  std::printf("%zu pairs from %zu sessions of 60 turns; %zu literally grounded\n", pairs.size(), logs.size(),
              grounded);

  compare("fingerprint", pairs.size(), 31,
          [&] {
            std::size_t n = 0;
            for (const auto& pr : pairs) n += static_cast<std::size_t>(fingerprint(pr.second.question).bands[0] & 1);
            return n;
          },
          "(qa's lowercase key)",
          [&] {
            std::size_t n = 0;
            for (const auto& pr : pairs) n += simple_key(pr.second.question).size();
            return n;
          });
  compare("verify", pairs.size(), 31,
          [&] {
            std::size_t n = 0;
            for (const auto& [t, p] : pairs) n += verify_literal(p, *t).grounded;
            return n;
          },
          "(render cited turns)",
          [&] {
            std::size_t n = 0;
            for (const auto& [t, p] : pairs) n += cited_turns(*t, p.supporting_turns).size();
            return n;
          });
  compare("redact", logs.size(), 11,
          [&] {
            std::size_t n = 0;
            for (const Trajectory& t : logs) {
              Trajectory copy = t;
              PiiRedactor r;
              r.redact(copy);
              n += static_cast<std::size_t>(r.total());
            }
            return n;
          },
          "(copy + render_trajectory)",
          [&] {
            std::size_t n = 0;
            for (const Trajectory& t : logs) {
              Trajectory copy = t;
              n += render_trajectory(copy, PromptOptions{}).size();
            }
            return n;
          });
  return 0;
}
