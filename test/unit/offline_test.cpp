#include "trajc/offline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <set>

#include "trajc/dedup.hpp"
#include "trajc/prompt.hpp"
#include "trajc/qa.hpp"
#include "trajc/verify.hpp"

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
// the number of turns listed with it. A question may also quote the task it
// is about: that is in the first turn.
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
        std::string request = text_of(1);  // the task, as a question quotes it
        request.erase(std::remove(request.begin(), request.end(), '"'), request.end());
        const bool task = s == &p.question && request.find(value) != std::string::npos;
        EXPECT_TRUE(task || cited_text.find(value) != std::string::npos)
            << "not in cited turns: " << value;
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
  std::vector<QuestionFingerprint> seen;
  for (const QaPair& p : v.kept) {
    expect_grounded(t, p);
    // The same literal check every provider's pairs go through.
    const Grounding g = verify_literal(p, t);
    EXPECT_TRUE(g.grounded) << p.question << " -> " << p.answer << " missing "
                            << (g.missing.empty() ? "" : g.missing.front());
    // And the in-session near-duplicate check, at the default threshold.
    const QuestionFingerprint f = fingerprint(p.question);
    for (const QuestionFingerprint& earlier : seen) {
      EXPECT_FALSE(is_near_duplicate(f, earlier, 0.8)) << "near-duplicate: " << p.question;
    }
    seen.push_back(f);
  }
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

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(OfflineCompile, ToolLogQuestionsAreExact) {
  const std::vector<QaPair> pairs = compile_checked(tool_log(), 40);
  const QaPair* failures = find_answer(pairs, "2, at turns 3 and 5.");
  ASSERT_NE(failures, nullptr);
  EXPECT_TRUE(contains(failures->question, "\"run_tests\"")) << failures->question;
  EXPECT_TRUE(contains(failures->question, "fail")) << failures->question;
  EXPECT_EQ(failures->qa_type, "factoid");

  const QaPair* retry =
      find_answer(pairs, "2 more calls: it failed again at turn 5 and succeeded at turn 8.");
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->supporting_turns, (std::vector<int>{3, 5, 8}));
  EXPECT_EQ(retry->qa_type, "reasoning");

  // The retry that changed an argument is preferred over other changes.
  const QaPair* change = find_answer(pairs, "\"60\" at turn 5.");
  ASSERT_NE(change, nullptr);
  EXPECT_TRUE(contains(change->question, "\"timeout\"")) << change->question;
  EXPECT_TRUE(contains(change->question, "\"30\"")) << change->question;
  EXPECT_TRUE(contains(change->question, "turn 3")) << change->question;

  const QaPair* first = find_answer(pairs, "\"search\" at turn 1, before \"run_tests\" at turn 3.");
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(contains(first->question, "\"run_tests\" or \"search\"")) << first->question;
  EXPECT_EQ(first->qa_type, "temporal");

  // Every value an argument took, with its turns.
  const QaPair* values = find_answer(pairs, "\"30\" (turn 3); \"60\" (turns 5 and 8).");
  if (values == nullptr) values = find_answer(pairs, "\"flaky test\" (turn 1); \"release notes\" (turn 9).");
  ASSERT_NE(values, nullptr);
  EXPECT_TRUE(contains(values->question, "\"query\"") || contains(values->question, "\"timeout\""));
  EXPECT_EQ(values->qa_type, "composition");

  // The busiest tool of a window cites the whole window, which holds its turns.
  const QaPair* busiest = find_answer(pairs, "\"run_tests\", 3 times (turns 3, 5 and 8).");
  ASSERT_NE(busiest, nullptr);
  EXPECT_GE(busiest->supporting_turns.size(), 5u);
  for (int turn : {3, 5, 8}) {
    EXPECT_TRUE(std::count(busiest->supporting_turns.begin(), busiest->supporting_turns.end(), turn));
  }
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

// ---- logs with a request, handoffs, costs and durations (issue 17) --------------

std::string two_digit(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// A turn at second 7*number of the day: any number of turns gets valid times.
Turn timed_turn(int number, std::string agent, std::vector<Field> fields) {
  Turn t = make_turn(number, std::move(agent), std::move(fields));
  const int s = 7 * number;
  t.at = "2026-01-02T" + two_digit(s / 3600 % 24) + ":" + two_digit(s / 60 % 60) + ":" +
         two_digit(s % 60) + ".250000Z";
  return t;
}

// A team run in the shape of the generated sample log: a human request,
// agents handing work to each other, tool calls with costs, durations,
// failures and retries, a summary at the end.
Trajectory team_log(const std::string& session_id, int turns = 48) {
  const char* agents[] = {"planner", "coder", "tester", "writer"};
  const char* tools[] = {"read_file", "run_shell", "search_docs"};
  Trajectory t;
  t.session_id = session_id;
  t.agent = "coder";
  t.turns.push_back(timed_turn(1, "", {{"action", "request"},
                                       {"arguments", R"({"from":"ops@example.com"})", true},
                                       {"response", "Audit the dependencies of the prestige API "
                                                    "for known vulnerabilities."}}));
  for (int n = 2; n < turns; ++n) {
    const std::string agent = agents[(n * 7 / 5) % 4];
    std::vector<Field> fields = {{"agent", agent}};
    const std::string cost = "0.00" + std::to_string(1000 + n * 37 % 900);
    if (n % 6 == 0) {
      const std::string to = agents[(n / 6) % 4] == agent ? agents[(n / 6 + 1) % 4] : agents[(n / 6) % 4];
      fields.push_back({"action", "handoff"});
      fields.push_back({"arguments", "{\"to\":\"" + to + "\",\"task\":\"next step\"}", true});
      fields.push_back({"response", "Handing over to " + to + "."});
    } else if (n % 2 == 1) {
      const std::string tool = tools[n % 3];
      fields.push_back({"tool", tool});
      fields.push_back({"action", "tool_call"});
      fields.push_back({"success", n % 5 == 0 ? "false" : "true"});
      fields.push_back({"arguments", "{\"path\":\"docs/draft_" + std::to_string(n % 4) +
                                         ".md\",\"attempt\":" + std::to_string(1 + n % 2) + "}",
                        true});
      fields.push_back({"response", n % 5 == 0 ? "error: timeout after 30 s"
                                               : "read 120 lines of docs/report_" +
                                                     std::to_string(n) + ".md"});
    } else {
      fields.push_back({"action", "message"});
      fields.push_back({"response", "Progress note " + std::to_string(n) + "."});
    }
    fields.push_back({"cost_usd", cost});
    fields.push_back({"duration_ms", std::to_string(100 + n * 13)});
    t.turns.push_back(timed_turn(n, agent, std::move(fields)));
  }
  t.turns.push_back(timed_turn(turns, "writer",
                               {{"agent", "writer"},
                                {"action", "message"},
                                {"response", "Summary: the audit of docs/report_3.md is done."}}));
  return t;
}

const QaPair* find_question(const std::vector<QaPair>& pairs, const std::string& part) {
  for (const QaPair& p : pairs) {
    if (contains(p.question, part)) return &p;
  }
  return nullptr;
}

TEST(OfflineCompile, RequestOutcomeDurationAndSumsAreGroundedAndRight) {
  const Trajectory t = team_log("team-1");
  const std::vector<QaPair> pairs = compile_checked(t, 60);
  EXPECT_EQ(types_of(pairs).size(), 4u);

  // The first request against the final outcome.
  const QaPair* outcome = find_answer(pairs, "\"writer\", at turn 48.");
  ASSERT_NE(outcome, nullptr);
  EXPECT_EQ(outcome->supporting_turns, (std::vector<int>{1, 48}));
  EXPECT_TRUE(contains(outcome->question, "Audit the dependencies")) << outcome->question;

  // The run's duration from the timestamps: 47 turns of 7 s.
  const QaPair* took = find_answer(pairs, "5.5 minutes, from turn 1 to turn 48.");
  ASSERT_NE(took, nullptr);
  EXPECT_EQ(took->qa_type, "temporal");

  // A cost or duration summed over one tool's or agent's turns: recomputed here.
  const QaPair* sum = find_question(pairs, "\"cost_usd\"");
  if (sum == nullptr) sum = find_question(pairs, "\"duration_ms\"");
  ASSERT_NE(sum, nullptr);
  const bool cost = contains(sum->question, "\"cost_usd\"");
  double expected = 0;
  for (int turn : sum->supporting_turns) {
    for (const Field& f : t.turns.at(turn - 1).fields) {
      if (f.name == (cost ? "cost_usd" : "duration_ms")) expected += std::stod(f.value);
    }
  }
  EXPECT_NEAR(std::stod(sum->answer), expected, 1e-9) << sum->answer;
  EXPECT_EQ(sum->qa_type, "composition");
}

TEST(OfflineCompile, HandoffsAreFollowed) {
  const Trajectory t = team_log("team-2");
  const std::vector<QaPair> pairs = compile_checked(t, 60);
  // Every handoff turn names its target in a "to" argument.
  std::size_t found = 0;
  for (const QaPair& p : pairs) {
    if (!contains(p.question, "hand")) continue;
    ++found;
    for (int turn : p.supporting_turns) {
      const Turn& cited = t.turns.at(turn - 1);
      const bool handoff = std::any_of(cited.fields.begin(), cited.fields.end(), [](const Field& f) {
        return f.name == "action" && f.value == "handoff";
      });
      // A handoff question cites handoff turns, and at most the target's last turn.
      EXPECT_TRUE(handoff || turn == p.supporting_turns.back()) << p.question;
    }
  }
  EXPECT_GE(found, 2u);
}

// A Magentic-One style run: the orchestrator's agent name says whom it
// addresses; the task is a question after a shared preamble.
Trajectory orchestrated_log(const std::string& session_id, int turns = 44) {
  Trajectory t;
  t.session_id = session_id;
  t.agent = "Orchestrator (thought)";
  t.turns.push_back(timed_turn(
      1, "human",
      {{"agent", "human"},
       {"action", "request"},
       {"response", "You are given a task and advice from your manager.\n# General Task\nOf the "
                    "authors of the paper \"Pie Menus\", what was the title of the first paper "
                    "by the one with prior papers? Please solve it."}}));
  const char* workers[] = {"WebSurfer", "Assistant", "FileSurfer"};
  for (int n = 2; n <= turns; ++n) {
    std::string agent;
    std::string text;
    if (n % 3 == 2) {
      agent = "Orchestrator (thought)";
      text = "Updated ledger at step " + std::to_string(n) + ".";
    } else if (n % 3 == 0) {
      agent = std::string("Orchestrator (-> ") + workers[(n / 3) % 3] + ")";
      text = "Please look up the next source.";
    } else {
      agent = workers[((n - 1) / 3) % 3];
      text = n == 7 ? "Found the author list at https://example.org/pie_menus_2015.html"
                    : "Still searching, page " + std::to_string(n) + ".";
      if (n == 40) text = "Back to https://example.org/pie_menus_2015.html for the titles.";
    }
    t.turns.push_back(timed_turn(n, agent, {{"agent", agent}, {"action", "message"},
                                            {"response", text}}));
  }
  return t;
}

TEST(OfflineCompile, OrchestratedRunNamesTaskHandoffsAndReusedValues) {
  const Trajectory t = orchestrated_log("ww-1");
  const std::vector<QaPair> pairs = compile_checked(t, 60);
  EXPECT_EQ(types_of(pairs).size(), 4u);
  // The task is named by its question, not by the preamble every run shares.
  const QaPair* task = find_question(pairs, "\"first paper by the one with prior papers\"");
  ASSERT_NE(task, nullptr);
  EXPECT_FALSE(contains(task->question, "You are given")) << task->question;
  // A value given at turn 7 and reused at turn 40, by the agent who wrote it.
  const QaPair* reuse = find_answer(pairs, "At turn 40, by \"Assistant\".");
  ASSERT_NE(reuse, nullptr);
  EXPECT_EQ(reuse->supporting_turns, (std::vector<int>{7, 40}));
  EXPECT_EQ(reuse->qa_type, "temporal");
  // A handoff's receiver is read from "Orchestrator (-> X)".
  bool receiver = false;
  for (const QaPair& p : pairs) {
    receiver = receiver || (contains(p.question, "handed") &&
                            (contains(p.answer, "\"WebSurfer\"") || contains(p.answer, "\"Assistant\"") ||
                             contains(p.answer, "\"FileSurfer\"")));
  }
  EXPECT_TRUE(receiver);
}

// The template of a question: quoted values and numbers masked.
std::string shape_of(const std::string& question) {
  static const std::regex quoted("\"[^\"]*\"");
  static const std::regex number("\\d+");
  return std::regex_replace(std::regex_replace(question, quoted, "<v>"), number, "<n>");
}

TEST(OfflineCompile, SessionsOfOneKindGetVariedQuestionsReproducibly) {
  std::set<std::string> shapes;
  std::set<std::string> questions;
  std::size_t pairs_total = 0;
  for (int k = 0; k < 30; ++k) {
    const std::string id = "team-" + std::to_string(k);
    const std::vector<QaPair> pairs = compile_checked(team_log(id));  // checks determinism too
    EXPECT_EQ(pairs.size(), 5u);
    pairs_total += pairs.size();
    for (const QaPair& p : pairs) {
      shapes.insert(shape_of(p.question));
      questions.insert(p.question);
    }
  }
  // One template engine would give 5 shapes and 5 distinct questions here.
  EXPECT_GE(shapes.size(), 25u);
  EXPECT_GE(questions.size(), 40u) << "of " << pairs_total;
}

TEST(OfflineCompile, LongRunsGetLongRangePairs) {
  std::size_t pairs_total = 0;
  std::size_t long_range = 0;
  for (int k = 0; k < 20; ++k) {
    for (const Trajectory& t : {team_log("long-" + std::to_string(k), 60),
                                orchestrated_log("long-" + std::to_string(k), 60)}) {
      for (const QaPair& p : compile_checked(t)) {
        ++pairs_total;
        long_range += p.supporting_turns.back() - p.supporting_turns.front() >= 20;
      }
    }
  }
  ASSERT_GT(pairs_total, 0u);
  EXPECT_GE(long_range * 100 / pairs_total, 40u) << long_range << " of " << pairs_total;
}

TEST(OfflineCompile, ReplySizeDoesNotGrowWithTheLog) {
  // Answers list at most a few turns and labels: a run 100 times longer
  // gives a reply of about the same size (the work is linear, bench/parsers.sh).
  const std::size_t small = offline_compile(team_log("size", 50)).size();
  const std::size_t large = offline_compile(team_log("size", 5000)).size();
  EXPECT_GT(small, 200u);
  EXPECT_LT(large, small * 2);
}

// Found by the fuzzer: a label that is not UTF-8 (the reply's JSON would
// replace its bytes) and a token that another turn has only inside a longer
// one ("uild_1234" in "build_1234") must not make an ungrounded answer.
TEST(OfflineCompile, OddLabelsAndTokenPiecesStayGrounded) {
  Trajectory t;
  t.session_id = "odd";
  const std::pair<const char*, const char*> rows[] = {
      {"search", "started"},          {"run_tests", "see build_1234 log"},
      {"edi\xff\xfele", "patched"},    {"search", "nothing"},
      {"edi\xff\xfele", "uild_1234 and botontenp=eldtoying"}, {"run_tests", "ok uild_1234"},
      {"search", "done"}};
  int n = 0;
  for (const auto& [tool, text] : rows) {
    t.turns.push_back(make_turn(++n, "bot", {{"tool", tool}, {"response", text}}));
  }
  const std::vector<QaPair> pairs = compile_checked(t, 40);
  EXPECT_FALSE(pairs.empty());
  for (const QaPair& p : pairs) {
    EXPECT_EQ(p.answer.find("\xef\xbf\xbd"), std::string::npos) << p.answer;  // U+FFFD
    if (contains(p.answer, "\"uild_1234\" at turn")) {
      EXPECT_TRUE(contains(p.answer, "\"uild_1234\" at turn 5")) << p.answer;
    }
  }
}

// Found by the fuzzer: a label holding a typographic double quote (U+201F,
// U+201C) reads as the end of its quoted value once the verifier folds it,
// so such a label is never quoted in an answer.
TEST(OfflineCompile, LabelsWithTypographicQuotesAreNotQuoted) {
  Trajectory t;
  t.session_id = "quotes";
  const char* agents[] = {"coder\xe2\x80\x9fol=search", "coder", "coder", "reviewer",
                          "\xe2\x80\x9creviewer\xe2\x80\x9d", "reviewer", "coder"};
  int n = 0;
  for (const char* agent : agents) {
    t.turns.push_back(make_turn(++n, agent, {{"tool", n % 2 ? "search" : "edit"}, {"response", "ok"}}));
  }
  const std::vector<QaPair> pairs = compile_checked(t, 40);  // grounded, or the test fails
  EXPECT_FALSE(pairs.empty());
  for (const QaPair& p : pairs) {
    EXPECT_FALSE(contains(p.answer, "\xe2\x80\x9f") || contains(p.answer, "\xe2\x80\x9c")) << p.answer;
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
  const bool costs = rng() % 2;
  const bool handoffs = rng() % 2;
  Trajectory t;
  t.session_id = "random-" + std::to_string(seed);
  const int turns = static_cast<int>(rng() % 40);
  for (int i = 1; i <= turns; ++i) {
    const std::string agent = i == 1 && rng() % 2 ? std::string("human")
                              : rng() % 5 == 0
                                  ? "lead (-> agent_" + std::to_string(rng() % agents) + ")"
                                  : "agent_" + std::to_string(rng() % agents);
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
    if (costs) {
      fields.push_back({"cost_usd", pick({"0.001", "0.0125", "2", "0.000001", "x"})});
      fields.push_back({"duration_ms", pick({"15", "2500", "7", ""})});
    }
    if (handoffs && rng() % 3 == 0) {
      fields.push_back({"arguments", "{\"to\":\"agent_" + std::to_string(rng() % agents) + "\"}", true});
    }
    std::string text = pick({"Looking at", "Tried", "Result:", "Checked"});
    for (int w = 0; w < 3; ++w)
      text += " " + pick({"the", "file", "report_7.txt", "v1.2.3", "out/log_9", "ok"});
    fields.push_back({"response", text});
    if (i == 1 && agent == "human") {
      fields.push_back({"action", "request"});
      fields.push_back({"response", pick({"Why did the nightly build fail? Check it.",
                                          "Find the \"owner\" of report_7.txt please now",
                                          "Summarize v1.2.3"})});
    }
    t.turns.push_back(rng() % 2 ? timed_turn(i, agent, std::move(fields))
                                : make_turn(i, agent, std::move(fields)));
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
