#include "trajc/offline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <set>

#include "trajc/prompt.hpp"
#include "trajc/qa.hpp"

namespace trajc {
namespace {

Turn make_turn(int number, std::string agent, std::vector<Field> fields) {
  Turn t;
  t.number = number;
  t.at = "2026-01-02T03:04:" + std::to_string(10 + number) + ".000000Z";
  t.agent = std::move(agent);
  t.fields = std::move(fields);
  return t;
}

// A coding agent's tool log: failures, a retry that changes an argument, a reviewer.
Trajectory tool_log() {
  struct Row {
    const char* agent;
    const char* tool;  // "" = no tool column
    const char* success;
    const char* arguments;
    const char* response;
  };
  const Row rows[] = {
      {"coder", "search", "true", R"({"query": "flaky test", "limit": 5})",
       "found tests/test_io.py"},
      {"coder", "read_file", "true", R"({"path": "tests/test_io.py"})", "def test_read(): ..."},
      {"coder", "run_tests", "false", R"({"target": "tests/test_io.py", "timeout": 30})",
       "TimeoutError after 30s"},
      {"coder", "edit_file", "true", R"({"path": "src/io.cpp"})", "patched the read loop"},
      {"coder", "run_tests", "false", R"({"target": "tests/test_io.py", "timeout": 60})",
       "AssertionError: 3 != 2"},
      {"reviewer", "", "true", "", "Check the off-by-one in the read loop."},
      {"coder", "edit_file", "true", R"({"path": "src/io.cpp"})", "fixed the off-by-one"},
      {"coder", "run_tests", "true", R"({"target": "tests/test_io.py", "timeout": 60})",
       "3 passed"},
      {"coder", "search", "true", R"({"query": "release notes", "limit": 5})",
       "found CHANGELOG.md"},
      {"reviewer", "", "true", "", "Looks good, ship it."},
  };
  Trajectory t;
  t.session_id = "tool-log";
  t.agent = "coder";
  int n = 0;
  for (const Row& r : rows) {
    std::vector<Field> fields = {{"agent", r.agent}};
    if (*r.tool) fields.push_back({"tool", r.tool});
    fields.push_back({"success", r.success});
    if (*r.arguments) fields.push_back({"arguments", r.arguments, true});
    fields.push_back({"response", r.response});
    t.turns.push_back(make_turn(++n, r.agent, std::move(fields)));
  }
  return t;
}

// A multi-agent chat in the shape of real agent-team logs: only agent, actor,
// action and free-text response are set.
Trajectory chat_log() {
  const std::pair<const char*, const char*> rows[] = {
      {"human", "How many rows of data/sales_2024.csv have region EU?"},
      {"Planner", "Plan: load data/sales_2024.csv with pandas, filter region == 'EU', count."},
      {"Coder", "```python\nimport pandas as pd\ndf = pd.read_csv('data/sales_2024.csv')\n```"},
      {"Computer_terminal", "exitcode: 1\nFileNotFoundError: data/sales_2024.csv"},
      {"Coder", "The file lives under input/. Retrying with input/sales_2024.csv."},
      {"Computer_terminal", "exitcode: 0\nCode output: 1375"},
      {"Verifier", "Checked input/sales_2024.csv: 1375 EU rows."},
      {"Planner", "Answer: 1375. TERMINATE"},
  };
  Trajectory t;
  t.session_id = "chat-log";
  t.agent = "Coder";
  int n = 0;
  for (const auto& [agent, text] : rows) {
    const std::string agent_name = agent;
    const bool human = agent_name == "human";
    t.turns.push_back(make_turn(++n, agent_name,
                                {{"agent", agent_name},
                                 {"actor", human   ? "human"
                                           : n % 2 ? "assistant"
                                                   : "user"},
                                 {"action", human ? "request" : "message"},
                                 {"response", text}}));
  }
  return t;
}

// ---- the grounding check -------------------------------------------------------

// What the model sees of a turn: its agent (in the header) and its fields.
std::string turn_text(const Turn& t) { return t.agent + "\n" + render_turn(t.fields); }

std::vector<int> numbers_in(const std::string& list) {
  std::vector<int> numbers;
  static const std::regex number("\\d+");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), number);
       it != std::sregex_iterator(); ++it) {
    numbers.push_back(std::stoi(it->str()));
  }
  return numbers;
}

constexpr char kTurnList[] = "turns? (\\d+(?:, \\d+)*(?: and \\d+)?)";

// Checks that a pair's claims are literally in the turns it cites: every turn
// number it mentions is cited; every quoted value is in a cited turn, and in
// each turn the answer names right after it ("V" at turn 3); a count equals
// the number of turns listed with it.
void expect_grounded(const Trajectory& t, const QaPair& p) {
  SCOPED_TRACE(p.question + " -> " + p.answer);
  const std::vector<int>& cited = p.supporting_turns;
  ASSERT_GE(cited.size(), 2u);
  EXPECT_GE(cited.back() - cited.front(), 2);
  auto text_of = [&](int turn) { return turn_text(t.turns.at(turn - 1)); };
  std::string cited_text;
  for (int turn : cited) cited_text += text_of(turn) + "\n";

  static const std::regex claim(std::string("\"([^\"]*)\"|") + kTurnList);
  for (const std::string* s : {&p.question, &p.answer}) {
    std::string value;  // the last quoted value, which turn lists that follow refer to
    for (auto it = std::sregex_iterator(s->begin(), s->end(), claim); it != std::sregex_iterator();
         ++it) {
      const std::smatch& m = *it;
      if (m[1].matched) {
        value = m[1].str();
        EXPECT_NE(cited_text.find(value), std::string::npos) << "not in cited turns: " << value;
        continue;
      }
      for (int turn : numbers_in(m[2].str())) {
        EXPECT_TRUE(std::binary_search(cited.begin(), cited.end(), turn))
            << "turn " << turn << " not cited";
        if (s == &p.answer && !value.empty() && turn >= 1 &&
            turn <= static_cast<int>(t.turns.size())) {
          EXPECT_NE(text_of(turn).find(value), std::string::npos)
              << value << " not at turn " << turn;
        }
      }
    }
  }
  static const std::regex count(std::string("^(\\d+), at ") + kTurnList + "|(\\d+) times \\(" +
                                kTurnList + "\\)");
  std::smatch m;
  if (std::regex_search(p.answer, m, count)) {
    const int n = std::stoi(m[1].matched ? m[1].str() : m[3].str());
    EXPECT_EQ(numbers_in(m[1].matched ? m[2].str() : m[4].str()).size(),
              static_cast<std::size_t>(n));
  }
}

// Compiles, validates (nothing may be rejected) and checks every pair's grounding.
std::vector<QaPair> compile_checked(const Trajectory& t, int max_questions = 5) {
  const std::string reply = offline_compile(t, max_questions);
  const Validation v =
      validate_pairs(extract_json(reply), static_cast<int>(t.turns.size()), max_questions);
  EXPECT_EQ(v.rejected_total(), 0) << reply;
  EXPECT_LE(v.kept.size(), static_cast<std::size_t>(std::max(max_questions, 0)));
  for (const QaPair& p : v.kept) expect_grounded(t, p);
  EXPECT_EQ(offline_compile(t, max_questions), reply);  // deterministic
  return v.kept;
}

std::set<std::string> types_of(const std::vector<QaPair>& pairs) {
  std::set<std::string> types;
  for (const QaPair& p : pairs) types.insert(p.qa_type);
  return types;
}

const QaPair* find_answer(const std::vector<QaPair>& pairs, const std::string& answer) {
  for (const QaPair& p : pairs) {
    if (p.answer == answer) return &p;
  }
  return nullptr;
}

// ---- tests --------------------------------------------------------------------

TEST(OfflineCompile, ToolLogCoversAllTypesWithGroundedAnswers) {
  const std::vector<QaPair> pairs = compile_checked(tool_log());
  EXPECT_EQ(pairs.size(), 5u);
  EXPECT_EQ(types_of(pairs).size(), 4u);
}

TEST(OfflineCompile, ToolLogQuestionsAreExact) {
  const std::vector<QaPair> pairs = compile_checked(tool_log(), 10);
  const QaPair* failures = find_answer(pairs, "2, at turns 3 and 5.");
  ASSERT_NE(failures, nullptr);
  EXPECT_EQ(failures->question, "How many times did tool \"run_tests\" fail, and at which turns?");
  EXPECT_EQ(failures->qa_type, "factoid");

  const QaPair* retry =
      find_answer(pairs, "2 more calls: it failed again at turn 5 and succeeded at turn 8.");
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->supporting_turns, (std::vector<int>{3, 5, 8}));
  EXPECT_EQ(retry->qa_type, "reasoning");

  // The retry that changed an argument is preferred over other changes.
  const QaPair* change = find_answer(pairs, "\"60\" at turn 5.");
  ASSERT_NE(change, nullptr);
  EXPECT_EQ(change->question,
            "The call to tool \"run_tests\" at turn 3 failed with \"timeout\" set to \"30\". What "
            "\"timeout\" did the next call to \"run_tests\" use, and at which turn?");

  const QaPair* first = find_answer(pairs, "\"search\" at turn 1, before \"run_tests\" at turn 3.");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->question, "Which tool was used first: \"run_tests\" or \"search\"?");
  EXPECT_EQ(first->qa_type, "temporal");

  const QaPair* busiest = find_answer(pairs, "\"run_tests\", 3 times (turns 3, 5 and 8).");
  ASSERT_NE(busiest, nullptr);
  EXPECT_EQ(busiest->supporting_turns, (std::vector<int>{2, 3, 4, 5, 7, 8}));
}

TEST(OfflineCompile, ChatLogUsesAgentsAndContent) {
  const std::vector<QaPair> pairs = compile_checked(chat_log());
  EXPECT_EQ(pairs.size(), 5u);
  EXPECT_EQ(types_of(pairs).size(), 4u);
  const std::vector<QaPair> more = compile_checked(chat_log(), 20);
  const QaPair* mention = find_answer(more, "At turns 1, 2, 3 and 4.");
  ASSERT_NE(mention, nullptr);
  EXPECT_EQ(mention->question, "In which turns does \"data/sales_2024.csv\" appear?");
  const QaPair* first =
      find_answer(more, "\"data/sales_2024.csv\" at turn 1, before \"pd.read_csv\" at turn 3.");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->qa_type, "temporal");
}

TEST(OfflineCompile, SingleAgentFreeTextFallsBackToContent) {
  Trajectory t;
  const char* texts[] = {
      "Reading config/app.yaml now.",        "Nothing useful here.",       "Still thinking.",
      "Found port 8080 in config/app.yaml.", "Opening build_v2.log next.", "All done."};
  int n = 0;
  for (const char* text : texts) t.turns.push_back(make_turn(++n, "solo", {{"response", text}}));
  const std::vector<QaPair> pairs = compile_checked(t);
  EXPECT_FALSE(pairs.empty());
}

TEST(OfflineCompile, RespectsMaxQuestionsAndCoversTypesFirst) {
  for (int max = 0; max <= 4; ++max) {
    const std::vector<QaPair> pairs = compile_checked(tool_log(), max);
    EXPECT_EQ(pairs.size(), static_cast<std::size_t>(max));
    EXPECT_EQ(types_of(pairs).size(), static_cast<std::size_t>(max));
  }
}

TEST(OfflineCompile, TooShortForNonAdjacentTurnsGivesNoPairs) {
  Trajectory t = tool_log();
  for (std::size_t keep : {0u, 1u, 2u}) {
    t.turns.resize(keep);
    EXPECT_EQ(offline_compile(t), R"({"pairs":[]})");
  }
}

// Random logs of every shape: whatever comes out must validate and be grounded.
Trajectory random_log(unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<const char*> options) {
    return std::string(*(options.begin() + rng() % options.size()));
  };
  const bool tools = rng() % 2;
  const bool outcomes = rng() % 2;
  const bool action = rng() % 2;
  const int agents = 1 + rng() % 4;
  Trajectory t;
  t.session_id = "random-" + std::to_string(seed);
  const int turns = static_cast<int>(rng() % 40);
  for (int i = 1; i <= turns; ++i) {
    const std::string agent = "agent_" + std::to_string(rng() % agents);
    std::vector<Field> fields = {{"agent", agent}};
    if (action) fields.push_back({"action", pick({"message", "tool_call", "handoff"})});
    if (tools && rng() % 4) {
      fields.push_back({"tool", pick({"search", "read_file", "write_file", "run"})});
      fields.push_back({"arguments",
                        "{\"path\": \"" + pick({"a.txt", "b/c.py", "d e.md"}) +
                            "\", \"n\": " + std::to_string(rng() % 3) +
                            ", \"flag\": " + pick({"true", "false"}) + "}",
                        true});
    }
    if (outcomes) {
      fields.push_back(rng() % 2 ? Field{"success", pick({"true", "false"})}
                                 : Field{"status", pick({"ok", "error", "500", "200"})});
    }
    std::string text = pick({"Looking at", "Tried", "Result:", "Checked"});
    for (int w = 0; w < 3; ++w)
      text += " " + pick({"the", "file", "report_7.txt", "v1.2.3", "out/log_9", "ok"});
    fields.push_back({"response", text});
    t.turns.push_back(make_turn(i, agent, std::move(fields)));
  }
  return t;
}

TEST(OfflineCompile, RandomLogsAreAlwaysGrounded) {
  std::size_t total = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    total += compile_checked(random_log(seed)).size();
  }
  EXPECT_GT(total, 500u);
}

}  // namespace
}  // namespace trajc
