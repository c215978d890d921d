#include "trajc/prompt.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "trajc/error.hpp"

namespace trajc {
namespace {

Trajectory make_trajectory(int turns, std::size_t response_chars) {
  Trajectory t;
  t.session_id = "s-42";
  t.agent = "coder";
  for (int i = 1; i <= turns; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:05.000000Z";
    turn.agent = i % 2 ? "coder" : "reviewer";
    turn.fields = {{"tool", "search"},
                   {"arguments", R"({"query": "q)" + std::to_string(i) + R"("})", true},
                   {"response", std::string(response_chars, 'r')}};
    t.turns.push_back(std::move(turn));
  }
  return t;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

TEST(RenderTrajectory, HeadersThenRenderedTurns) {
  Trajectory t = make_trajectory(2, 3);
  t.turns[1].agent.clear();
  EXPECT_EQ(render_trajectory(t, PromptOptions{}),
            "### Turn 1 (2026-01-02T03:04:05.000000Z, coder)\n"
            "tool: search\narguments: {\"query\":\"q1\"}\nresponse: rrr\n\n"
            "### Turn 2 (2026-01-02T03:04:05.000000Z)\n"
            "tool: search\narguments: {\"query\":\"q2\"}\nresponse: rrr");
}

TEST(TurnHeading, AgentOnlyWhenKnown) {
  std::string out = "x";
  append_turn_heading(out, 12, "2026-01-02T03:04:05.000000Z", "coder");
  EXPECT_EQ(out, "x### Turn 12 (2026-01-02T03:04:05.000000Z, coder)");
  out.clear();
  append_turn_heading(out, 3, "2026-01-02T03:04:05.000000Z", "");
  EXPECT_EQ(out, "### Turn 3 (2026-01-02T03:04:05.000000Z)");
}

TEST(TurnHeading, IsWhatRenderTrajectoryWrites) {
  const Trajectory t = make_trajectory(1, 3);
  std::string heading;
  append_turn_heading(heading, 1, t.turns[0].at, t.turns[0].agent);
  EXPECT_EQ(render_trajectory(t, PromptOptions{}).rfind(heading + "\n", 0), 0u);
}

TEST(RenderTrajectory, EmptyTrajectoryRendersEmpty) {
  EXPECT_EQ(render_trajectory(Trajectory{}, PromptOptions{}), "");
}

TEST(RenderTrajectory, LongValuesStayWholeWhenTheBudgetAllows) {
  PromptOptions opt;
  opt.max_value_chars = 10;
  const std::string text = render_trajectory(make_trajectory(3, 100), opt);
  EXPECT_EQ(count(text, "elided"), 0u);
  EXPECT_EQ(count(text, std::string(100, 'r')), 3u);
}

TEST(RenderTrajectory, ElidesTheMiddleOfLongValuesFirst) {
  Trajectory t = make_trajectory(3, 0);
  t.turns[1].fields[2].value =
      std::string(500, 'h') + std::string(1000, 'm') + std::string(500, 't');
  PromptOptions opt;
  opt.budget_chars = 1500;
  opt.max_value_chars = 200;
  const std::string text = render_trajectory(t, opt);
  EXPECT_LE(text.size(), opt.budget_chars);
  EXPECT_NE(text.find("response: " + std::string(100, 'h') + " [... 1800 chars elided ...] " +
                      std::string(100, 't') + "\n\n### Turn 3"),
            std::string::npos);
  EXPECT_EQ(count(text, "### Turn"), 3u);  // no turn dropped
}

TEST(RenderTrajectory, ElisionCutsAtUtf8CharacterBoundaries) {
  Trajectory t = make_trajectory(1, 0);
  std::string value;
  for (int i = 0; i < 400; ++i) value += "\xc3\xa9";  // é, two bytes
  t.turns[0].fields[2].value = value;
  PromptOptions opt;
  opt.budget_chars = 100;
  opt.max_value_chars = 22;  // halves of 11 bytes would split a character
  const std::string text = render_trajectory(t, opt);
  const std::size_t start = text.find("response: ") + 10;
  const std::size_t marker = text.find(" [... ");
  const std::size_t tail = text.find(" ...] ") + 6;
  ASSERT_NE(marker, std::string::npos);
  EXPECT_EQ((marker - start) % 2, 0u);
  EXPECT_EQ((text.size() - tail) % 2, 0u);
  EXPECT_EQ(text.substr(start, 2), "\xc3\xa9");
}

TEST(RenderTrajectory, DropsMiddleTurnsWithoutRenumbering) {
  const Trajectory t = make_trajectory(200, 100);
  PromptOptions opt;
  opt.budget_chars = 3000;
  const std::string text = render_trajectory(t, opt);
  EXPECT_LE(text.size(), opt.budget_chars);
  EXPECT_EQ(text.rfind("### Turn 1 (", 0), 0u);
  EXPECT_NE(text.find("### Turn 200 ("), std::string::npos);
  EXPECT_EQ(count(text, "omitted to fit the prompt budget"), 1u);
  // The kept turns are a prefix and a suffix, and the line names the gap.
  const std::size_t kept = count(text, "### Turn ");
  std::size_t front = 0;
  while (text.find("### Turn " + std::to_string(front + 1) + " (") != std::string::npos) ++front;
  const std::size_t back = kept - front;
  const std::string line = "[... turns " + std::to_string(front + 1) + "-" +
                           std::to_string(200 - back) + " omitted to fit the prompt budget ...]";
  EXPECT_NE(text.find(line), std::string::npos) << text.substr(0, 400);
  EXPECT_GE(front, 2u);
  EXPECT_GE(back, 2u);
  EXPECT_NEAR(static_cast<double>(front), static_cast<double>(back), 2);  // taken alternately
}

TEST(RenderTrajectory, KeepsFirstAndLastTurnEvenOverBudget) {
  const std::string text = render_trajectory(make_trajectory(5, 50), PromptOptions{1, 10, 5});
  EXPECT_EQ(count(text, "### Turn "), 2u);
  EXPECT_NE(text.find("[... turns 2-4 omitted"), std::string::npos);
  EXPECT_NE(text.find("### Turn 5 ("), std::string::npos);
}

TEST(RenderTrajectory, LargeTrajectoryIsFast) {
  // 20,000 turns of ~1 kB each: sizing first keeps this linear.
  const Trajectory t = make_trajectory(20000, 1000);
  const auto start = std::chrono::steady_clock::now();
  const std::string text = render_trajectory(t, PromptOptions{});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LE(text.size(), PromptOptions{}.budget_chars);
  EXPECT_NE(text.find("### Turn 20000 ("), std::string::npos);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 2000);
}

TEST(BuildPrompt, InstructionsSessionTurnsThenTrajectory) {
  const Trajectory t = make_trajectory(3, 5);
  PromptOptions opt;
  opt.max_questions = 4;
  const std::string prompt = build_prompt(t, opt);
  EXPECT_NE(prompt.find("between 1 and 4 questions"), std::string::npos);
  EXPECT_NE(prompt.find("NON-ADJACENT"), std::string::npos);
  EXPECT_NE(prompt.find(R"({"pairs":[{"question":)"), std::string::npos);
  for (const char* type : {"factoid", "reasoning", "composition", "temporal"}) {
    EXPECT_NE(prompt.find(type), std::string::npos) << type;
  }
  const std::string tail = "\nSession: s-42\nTurns: 3\n\n" + render_trajectory(t, opt);
  ASSERT_GE(prompt.size(), tail.size());
  EXPECT_EQ(prompt.substr(prompt.size() - tail.size()), tail);
  EXPECT_EQ(prompt.find("left out"), std::string::npos);
  EXPECT_EQ(prompt.find("was cut"), std::string::npos);
}

TEST(BuildPrompt, SaysWhenTurnsOrValuesWereShortened) {
  PromptOptions opt;
  opt.budget_chars = 3000;
  opt.max_value_chars = 50;
  const std::string prompt = build_prompt(make_trajectory(200, 100), opt);
  EXPECT_NE(prompt.find("were left out"), std::string::npos);
  EXPECT_NE(prompt.find("was cut"), std::string::npos);
  EXPECT_NE(prompt.find("turn numbers are the original ones"), std::string::npos);
}

TEST(BuildPrompt, RejectsZeroQuestions) {
  PromptOptions opt;
  opt.max_questions = 0;
  try {
    build_prompt(make_trajectory(3, 5), opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kInvalidParameter);
  }
}

}  // namespace
}  // namespace trajc
