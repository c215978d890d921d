// The eval core: the match grader's normalization, containment and token F1,
// no-answer detection, the candidate and judge prompts, the judge's verdict.
#include "trajc/eval.hpp"

#include <gtest/gtest.h>

namespace trajc {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Trajectory three_turns() {
  Trajectory t;
  t.session_id = "s-eval";
  for (int i = 1; i <= 3; i++) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-01T10:00:0" + std::to_string(i) + ".000000Z";
    turn.agent = "coder";
    turn.fields = {{"response", "result number " + std::to_string(i), false}};
    t.turns.push_back(turn);
  }
  return t;
}

TEST(NormalizeAnswer, LowerCasesDropsPunctuationAndArticles) {
  EXPECT_EQ(normalize_answer("The Reviewer, at turn 6!"), "reviewer at turn 6");
  EXPECT_EQ(normalize_answer("  \"run_tests\" (an edit)  "), "run tests edit");
  EXPECT_EQ(normalize_answer("A"), "");
  EXPECT_EQ(normalize_answer(""), "");
}

TEST(NormalizeAnswer, KeepsNumbersWhole) {
  EXPECT_EQ(normalize_answer("3.5 s, then 1,000 rows."), "3.5 s then 1000 rows");
  EXPECT_EQ(normalize_answer("turns 3,5"), "turns 35");  // a digit comma joins, as in 1,000
  EXPECT_EQ(normalize_answer("v1. Next"), "v1 next");    // a '.' not between digits separates
}

TEST(NormalizeAnswer, FoldsTypographicPunctuationFirst) {
  // (Split literals: a hex escape would swallow the letters and digits after it.)
  EXPECT_EQ(normalize_answer("\xE2\x80\x9C" "Reviewer" "\xE2\x80\x9D" "\xC2\xA0" "at turn" "\xC2\xA0" "6"),
            "reviewer at turn 6");
  EXPECT_TRUE(grade_match("the \xE2\x80\x9C" "run_tests" "\xE2\x80\x9D tool", "\"run_tests\"").correct);
}

TEST(NormalizeAnswer, KeepsNonAsciiText) {
  EXPECT_EQ(normalize_answer("Ünïcode Straße"), "Ünïcode straße");
}

TEST(TokenF1, IsTheHarmonicMeanOfTokenPrecisionAndRecall) {
  // candidate {run, tests, failed, twice}, reference {tests, failed}: P 2/4, R 2/2.
  EXPECT_NEAR(token_f1("run tests failed twice", "tests failed"), 2 * 0.5 * 1 / 1.5, 1e-12);
  EXPECT_DOUBLE_EQ(token_f1("tests failed", "tests failed"), 1);
  EXPECT_DOUBLE_EQ(token_f1("nothing alike", "tests failed"), 0);
  EXPECT_DOUBLE_EQ(token_f1("", "tests failed"), 0);
  // Multisets: a repeated candidate token matches once per reference occurrence.
  EXPECT_NEAR(token_f1("fail fail fail", "fail pass"), 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5), 1e-12);
}

TEST(GradeMatch, ContainmentOnTokenBoundariesIsCorrect) {
  Grade g = grade_match("It was the reviewer, at turn 6.", "Reviewer at turn 6");
  EXPECT_TRUE(g.correct);
  EXPECT_EQ(g.score, 1);
  EXPECT_EQ(g.reason, "contains the reference");
  // "6" is not contained in "16": containment is on whole tokens.
  g = grade_match("turn 16", "6");
  EXPECT_FALSE(g.correct);
}

TEST(GradeMatch, TokenF1AtHalfOrMoreIsCorrect) {
  // P = 2/3, R = 2/3 -> F1 0.667.
  Grade g = grade_match("timeout at turn", "timeout turn 3");
  EXPECT_TRUE(g.correct);
  EXPECT_NEAR(g.score, 2.0 / 3, 1e-12);
  // P = 1/3, R = 1/3 -> F1 0.333.
  g = grade_match("error at five", "timeout turn 5");
  EXPECT_FALSE(g.correct);
  EXPECT_EQ(g.reason, "token F1 < 0.5");
  // Exactly 0.5 counts: P = 1/2, R = 1/2.
  EXPECT_TRUE(grade_match("tests green", "tests red").correct);
}

TEST(GradeMatch, NoAnswerIsWrong) {
  for (const char* none : {"", "  ", "unknown", "Unknown.", "I don't know", "No answer"}) {
    Grade g = grade_match(none, "reviewer");
    EXPECT_FALSE(g.correct) << none;
    EXPECT_EQ(g.reason, "no answer") << none;
    EXPECT_TRUE(is_no_answer(none)) << none;
  }
  EXPECT_FALSE(is_no_answer("the unknown tool"));
}

TEST(AnswerPrompt, HasTrajectoryAndQuestionButNeverTheAnswer) {
  const Trajectory t = three_turns();
  PromptOptions opt;
  const std::string p = build_answer_prompt(t, "What came after turn 1?", opt);
  EXPECT_NE(p.find("Session: s-eval\n"), std::string::npos);
  EXPECT_NE(p.find(render_trajectory(t, opt)), std::string::npos)
      << "the trajectory is rendered exactly as for compiling";
  EXPECT_TRUE(ends_with(p, "\n\nQuestion: What came after turn 1?\n")) << p;
  EXPECT_NE(p.find("reply exactly: unknown"), std::string::npos);
  EXPECT_EQ(p.find("supporting"), std::string::npos);
  EXPECT_EQ(p.find("JSON"), std::string::npos);
}

TEST(AnswerPrompt, UsesTheCompilePromptBudget) {
  Trajectory t = three_turns();
  t.turns[1].fields[0].value = std::string(50000, 'x');
  PromptOptions opt;
  opt.budget_chars = 2000;
  opt.max_value_chars = 500;
  const std::string p = build_answer_prompt(t, "Q?", opt);
  EXPECT_LT(p.size(), 3000u);
  EXPECT_NE(p.find("chars elided"), std::string::npos);
}

TEST(JudgePrompt, ShowsQuestionReferenceAndResponseWithTheTypesRule) {
  const std::string p = build_judge_prompt("temporal", "Who came first?", "coder", "the coder");
  EXPECT_NE(p.find("Question: Who came first?"), std::string::npos);
  EXPECT_NE(p.find("Correct Answer: coder"), std::string::npos);
  EXPECT_NE(p.find("Model Response: the coder"), std::string::npos);
  EXPECT_NE(p.find("order of events"), std::string::npos);
  EXPECT_TRUE(ends_with(p, "\n\nIs the model response correct? Answer yes or no only.")) << p;
  EXPECT_NE(build_judge_prompt("composition", "q", "a", "r").find("Every item"), std::string::npos);
}

TEST(JudgeReply, FirstWordYesOrNo) {
  EXPECT_TRUE(parse_judge_reply("yes").yes);
  EXPECT_TRUE(parse_judge_reply("**Yes.** The response names it.").yes);
  JudgeVerdict no = parse_judge_reply("No");
  EXPECT_TRUE(no.understood);
  EXPECT_FALSE(no.yes);
  EXPECT_FALSE(parse_judge_reply("Nope").understood);
  EXPECT_FALSE(parse_judge_reply("").understood);
  EXPECT_FALSE(parse_judge_reply("I think yes").understood);
}

TEST(CleanAnswer, StripsFencesAndAnAnswerPrefix) {
  EXPECT_EQ(clean_answer("  Answer: the reviewer \n"), "the reviewer");
  EXPECT_EQ(clean_answer("```text\nturn 6\n```"), "turn 6");
  EXPECT_EQ(clean_answer("```\nturn 6\n```"), "turn 6");
  EXPECT_EQ(clean_answer("plain"), "plain");
}

}  // namespace
}  // namespace trajc
