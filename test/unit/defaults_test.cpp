// The SQL DEFAULTs of the install and upgrade scripts agree with
// include/trajc/defaults.hpp, which the GUCs and the core's structs use.
#include "trajc/defaults.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "trajc/compile.hpp"
#include "trajc/http.hpp"
#include "trajc/prompt.hpp"
#include "trajc/retry.hpp"

namespace {

namespace fs = std::filesystem;
namespace d = trajc::defaults;

using Defaults = std::map<std::string, std::string>;  // "function.argument" -> DEFAULT text

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Every `name type DEFAULT value` argument of every CREATE FUNCTION/PROCEDURE
// @extschema@.trajc_x(...) in one script, NULL defaults included.
Defaults sql_defaults(const std::string& sql) {
  Defaults out;
  static const std::regex head(R"(CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+@extschema@\.(\w+)\s*\()",
                               std::regex::icase);
  static const std::regex arg(R"re(^\s*"?(\w+)"?\s+[\w ]+?\s+DEFAULT\s+(.+?)\s*$)re", std::regex::icase);
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), head); it != std::sregex_iterator(); ++it) {
    const std::string function = (*it)[1];
    std::size_t pos = static_cast<std::size_t>(it->position() + it->length());
    int depth = 1;
    std::string current;
    std::vector<std::string> args;
    for (; pos < sql.size() && depth > 0; ++pos) {
      const char c = sql[pos];
      if (c == '(') depth++;
      if (c == ')' && --depth == 0) break;
      if (c == ',' && depth == 1) {
        args.push_back(current);
        current.clear();
      } else {
        current += c == '\n' ? ' ' : c;
      }
    }
    args.push_back(current);
    for (const std::string& a : args) {
      std::smatch m;
      if (std::regex_match(a, m, arg)) out[function + "." + m[1].str()] = m[2];
    }
  }
  return out;
}

std::string sql_bool(bool b) { return b ? "true" : "false"; }
std::string sql_text(const char* s) { return std::string("'") + s + "'"; }

// What each script must say: every non-NULL DEFAULT of the SQL surface.
const Defaults& expected() {
  static const Defaults e = {
      {"trajc_extract.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_extract.limit", std::to_string(d::kExtractLimit)},
      {"trajc_compile.force", sql_bool(d::kForceNamedSession)},
      {"trajc_compile_batch.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_compile_batch.limit", std::to_string(d::kCompileLimit)},
      {"trajc_compile_batch.force", sql_bool(d::kForceBatch)},
      {"trajc_compile_pending.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_compile_pending.limit", std::to_string(d::kCompileLimit)},
      {"trajc_estimate.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_estimate.limit", std::to_string(d::kCompileLimit)},
      {"trajc_sample.limit", std::to_string(d::kSampleLimit)},
      {"trajc_compile_session.force", sql_bool(d::kForceNamedSession)},
      {"trajc_batch_submit.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_batch_submit.limit", std::to_string(d::kBatchSubmitLimit)},
      {"trajc_start.min_turns", std::to_string(d::kMinTurns)},
      {"trajc_start.limit", std::to_string(d::kCompileLimit)},
      {"trajc_recall.k", std::to_string(d::kRecallK)},
      {"trajc_recall_report.k", std::to_string(d::kRecallK)},
      {"trajc_retrieve.k", std::to_string(d::kRecallK)},
      {"trajc_retrieve.method", sql_text(d::kRetrieveMethod)},
      {"trajc_eval.limit", std::to_string(d::kEvalLimit)},
      {"trajc_eval.grader", sql_text(d::kEvalGrader)},
      {"trajc_eval_pending.limit", std::to_string(d::kEvalLimit)},
      {"trajc_eval_pending.grader", sql_text(d::kEvalGrader)},
  };
  return e;
}

fs::path sql_dir() { return fs::path(TRAJC_SOURCE_DIR) / "sql"; }

}  // namespace

TEST(SqlDefaults, ParserReadsTheScriptShapes) {
  const Defaults got = sql_defaults(
      "CREATE FUNCTION @extschema@.trajc_x(a int DEFAULT 10, \"limit\" int DEFAULT 25,\n"
      "    t text DEFAULT NULL, f boolean DEFAULT true)\n  RETURNS int AS 'x';\n"
      "CREATE PROCEDURE @extschema@.trajc_y(n int) AS 'y';");
  EXPECT_EQ(got, (Defaults{{"trajc_x.a", "10"}, {"trajc_x.limit", "25"}, {"trajc_x.t", "NULL"},
                           {"trajc_x.f", "true"}}));
}

// The fresh install states every default, each as defaults.hpp says.
TEST(SqlDefaults, FreshInstallMatchesDefaultsHpp) {
  const Defaults got = sql_defaults(read_file(sql_dir() / "trajc--0.2.0.sql"));
  for (const auto& [key, value] : expected()) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << key << " has no DEFAULT in trajc--0.2.0.sql";
    EXPECT_EQ(it->second, value) << key;
  }
}

// No script (released, fresh or upgrade) has a non-NULL DEFAULT that
// defaults.hpp does not hold, or one that disagrees with it.
TEST(SqlDefaults, EveryScriptAgrees) {
  int scripts = 0;
  for (const auto& entry : fs::directory_iterator(sql_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("trajc--", 0) != 0) continue;
    scripts++;
    for (const auto& [key, value] : sql_defaults(read_file(entry.path()))) {
      if (value == "NULL") continue;
      auto it = expected().find(key);
      ASSERT_NE(it, expected().end()) << name << ": " << key << " DEFAULT " << value
                                      << " is not in defaults.hpp";
      EXPECT_EQ(value, it->second) << name << ": " << key;
    }
  }
  EXPECT_GE(scripts, 3);
}

TEST(Defaults, StructsStartFromDefaultsHpp) {
  const trajc::CompileSettings s;
  EXPECT_EQ(s.provider, trajc::parse_provider(d::kProvider));
  EXPECT_EQ(s.timeout_ms, d::kTimeoutMs.value);
  EXPECT_EQ(s.max_retries, d::kMaxRetries.value);
  EXPECT_EQ(s.concurrency, d::kConcurrency.value);
  EXPECT_EQ(s.max_requests_per_minute, d::kMaxRequestsPerMinute.value);
  EXPECT_EQ(s.max_cost_usd, d::kMaxCostUsd.value);
  EXPECT_EQ(s.max_response_bytes, static_cast<std::size_t>(d::kMaxResponseKb.value) * 1024);
  EXPECT_EQ(s.prompt.budget_chars, static_cast<std::size_t>(d::kPromptBudgetChars.value));
  EXPECT_EQ(s.prompt.max_value_chars, static_cast<std::size_t>(d::kMaxValueChars.value));
  EXPECT_EQ(s.prompt.max_questions, d::kMaxQuestions);
  EXPECT_EQ(trajc::RetryPolicy{}.max_retries, d::kMaxRetries.value);
  EXPECT_EQ(trajc::HttpLimits{}.total_timeout_ms, d::kTimeoutMs.value);
}

// Every bounded default lies inside its bounds (a GUC refuses a boot value outside).
TEST(Defaults, BootValuesWithinBounds) {
  auto check = [](const auto& b, const char* name) {
    EXPECT_LE(b.min, b.value) << name;
    EXPECT_LE(b.value, b.max) << name;
  };
  check(d::kTimeoutMs, "timeout_ms");
  check(d::kMaxRetries, "max_retries");
  check(d::kConcurrency, "concurrency");
  check(d::kMaxRequestsPerMinute, "max_requests_per_minute");
  check(d::kMaxCostUsd, "max_cost_usd");
  check(d::kPromptBudgetChars, "prompt_budget_chars");
  check(d::kMaxValueChars, "max_value_chars");
  check(d::kMaxResponseKb, "max_response_kb");
  check(d::kMaxJobs, "max_jobs");
  EXPECT_GE(d::kJobQueueCapacity, d::kMaxJobs.max);  // every running job holds a queue entry
}
