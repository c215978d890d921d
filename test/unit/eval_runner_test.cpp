// EvalRunner end to end against the mock model server: the candidate's
// request (plain text, trajectory and question only), match and judge
// grading, no answer, failed calls, the budget, and each vendor's wire.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "mock_server.hpp"
#include "trajc/error.hpp"
#include "trajc/eval.hpp"

using namespace trajc;
using steady = std::chrono::steady_clock;

namespace {

bool never_cancel() { return false; }

// Six turns; turn 3 says what failed.
Trajectory trajectory(int turns = 6) {
  Trajectory t;
  t.session_id = "s-eval";
  t.agent = "coder";
  for (int i = 1; i <= turns; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.agent = "coder";
    turn.fields.push_back({"response", i == 3 ? "TimeoutError after 30s" : "step " + std::to_string(i)});
    t.turns.push_back(std::move(turn));
  }
  return t;
}

EvalItem item(const std::string& id, const std::string& directive,
              const std::string& reference = "TimeoutError after 30s") {
  return {id, "What did the tests report? " + directive, reference, "factoid", 6};
}

class EvalRunnerTest : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override { mock_ = std::make_unique<trajc_test::MockServer>(); }

  ModelEndpoint endpoint(const std::string& model) const {
    return {GetParam(), model, "key-SECRET-7", mock_->url(), {1.0, 4.0}};
  }

  EvalSettings settings(bool judge = false, const std::string& judge_model = "judge-model") const {
    EvalSettings s;
    s.candidate = endpoint("candidate-model");
    s.use_judge = judge;
    s.judge = endpoint(judge_model);
    s.limits.timeout_ms = 5000;
    s.limits.max_retries = 0;
    return s;
  }

  // Starts every item (each admitted) and collects the outcomes by pair id.
  std::vector<EvalOutcome> run(const EvalSettings& s, const std::vector<EvalItem>& items,
                               const Trajectory& t = trajectory()) {
    EvalRunner runner(s, never_cancel);
    for (const auto& i : items) {
      const Estimate e = estimate_eval(t, i, s);
      EXPECT_EQ(runner.admit(e), EvalRunner::Admission::Start);
      runner.start(t, i, e);
    }
    std::vector<EvalOutcome> all;
    const auto give_up = steady::now() + std::chrono::seconds(15);
    while (all.size() < items.size() && steady::now() < give_up)
      for (auto& o : runner.wait(200)) all.push_back(std::move(o));
    EXPECT_EQ(runner.active(), 0u);
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.pair_id < b.pair_id; });
    return all;
  }

  std::unique_ptr<trajc_test::MockServer> mock_;
};

TEST_P(EvalRunnerTest, MatchGradesRightWrongAndNoAnswer) {
  auto out = run(settings(), {item("1-right", "mock:answer=3"), item("2-wrong", "mock:answer_wrong=3"),
                              item("3-none", "mock:answer_none")});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].graded && out[0].correct) << out[0].reason;
  EXPECT_EQ(out[0].answer, "response: TimeoutError after 30s");
  EXPECT_EQ(out[0].score, 1);
  EXPECT_EQ(out[0].reason, "match: contains the reference");
  EXPECT_TRUE(out[1].graded && !out[1].correct);
  EXPECT_EQ(out[1].answer, "It was the banana service, at turn 99.");
  EXPECT_TRUE(out[2].graded && !out[2].correct && out[2].has_answer);
  EXPECT_EQ(out[2].reason, "no answer");
  for (const auto& o : out) {
    EXPECT_GT(o.tokens_in, 0);
    EXPECT_NEAR(o.cost_usd, (o.tokens_in * 1.0 + o.tokens_out * 4.0) / 1e6, 1e-12);
    EXPECT_EQ(o.judge_cost_usd, 0);
  }
}

TEST_P(EvalRunnerTest, CandidateSeesTrajectoryAndQuestionNeverTheAnswer) {
  EvalItem i = item("1", "mock:answer=3", "SECRET-REFERENCE-ANSWER");
  run(settings(), {i});
  const auto requests = mock_->requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string body = requests[0]["body"].dump();
  EXPECT_NE(body.find("### Turn 3"), std::string::npos);
  EXPECT_NE(body.find("Question: What did the tests report?"), std::string::npos);
  EXPECT_EQ(body.find("SECRET-REFERENCE-ANSWER"), std::string::npos);
  EXPECT_EQ(body.find("supporting"), std::string::npos);
  // Plain text: no structured-output request.
  EXPECT_EQ(body.find("response_format"), std::string::npos);
  EXPECT_EQ(body.find("responseSchema"), std::string::npos);
  EXPECT_EQ(body.find("responseMimeType"), std::string::npos);
}

TEST_P(EvalRunnerTest, OnlyTheCompiledTurnsAreShown) {
  EvalItem i = item("1", "mock:answer=3");
  i.turn_count = 4;
  run(settings(), {i}, trajectory(8));
  const std::string body = mock_->requests()[0]["body"].dump();
  EXPECT_NE(body.find("### Turn 4"), std::string::npos);
  EXPECT_EQ(body.find("### Turn 5"), std::string::npos);
}

TEST_P(EvalRunnerTest, JudgeDecidesAndIsPaidFor) {
  auto yes = run(settings(true, "mock:judge_yes"), {item("1", "mock:answer_wrong=3")});
  ASSERT_EQ(yes.size(), 1u);
  EXPECT_TRUE(yes[0].graded && yes[0].correct) << yes[0].reason;
  EXPECT_EQ(yes[0].reason, "judge mock:judge_yes: yes");
  EXPECT_GT(yes[0].judge_tokens_in, 0);
  EXPECT_NEAR(yes[0].judge_cost_usd,
              (yes[0].judge_tokens_in * 1.0 + yes[0].judge_tokens_out * 4.0) / 1e6, 1e-12);
  auto no = run(settings(true, "mock:judge_no"), {item("1", "mock:answer=3")});
  EXPECT_TRUE(no[0].graded && !no[0].correct);
  // The judge's prompt has the reference answer and the candidate's.
  const auto requests = mock_->requests();
  const std::string judge_body = requests[requests.size() - 1]["body"].dump();
  EXPECT_NE(judge_body.find("Correct Answer: TimeoutError after 30s"), std::string::npos);
  EXPECT_NE(judge_body.find("Model Response: response: TimeoutError after 30s"), std::string::npos);
}

TEST_P(EvalRunnerTest, JudgeDefaultContainmentAndGarbledReplies) {
  auto out = run(settings(true), {item("1", "mock:answer=3"), item("2", "mock:answer_wrong=3")});
  EXPECT_TRUE(out[0].graded && out[0].correct);
  EXPECT_TRUE(out[1].graded && !out[1].correct);
  auto garbled = run(settings(true, "mock:judge_garbled"), {item("1", "mock:answer=3")});
  EXPECT_FALSE(garbled[0].graded);
  EXPECT_TRUE(garbled[0].has_answer);
  EXPECT_EQ(garbled[0].reason.rfind("judge reply was neither yes nor no", 0), 0u) << garbled[0].reason;
}

TEST_P(EvalRunnerTest, NoAnswerSkipsTheJudge) {
  auto out = run(settings(true, "mock:judge_yes"), {item("1", "mock:answer_none")});
  EXPECT_TRUE(out[0].graded && !out[0].correct);
  EXPECT_EQ(mock_->requests().size(), 1u);
}

TEST_P(EvalRunnerTest, FailedCallsLeaveThePairUngradedWithoutTheKey) {
  auto out = run(settings(), {item("1", "mock:status=401")});
  EXPECT_FALSE(out[0].graded);
  EXPECT_FALSE(out[0].has_answer);
  EXPECT_EQ(out[0].reason.rfind("candidate call failed: ", 0), 0u) << out[0].reason;
  EXPECT_EQ(out[0].reason.find("SECRET"), std::string::npos) << out[0].reason;
}

TEST_P(EvalRunnerTest, BudgetStopsNewPairs) {
  EvalSettings s = settings();
  s.limits.max_cost_usd = 1e-9;
  EvalRunner runner(s, never_cancel);
  const Trajectory t = trajectory();
  const Estimate e = estimate_eval(t, item("1", ""), s);
  EXPECT_GT(e.cost_usd, 1e-9);
  EXPECT_EQ(runner.admit(e), EvalRunner::Admission::OverBudget);
}

INSTANTIATE_TEST_SUITE_P(AllVendors, EvalRunnerTest,
                         ::testing::Values(Provider::Gemini, Provider::OpenAI, Provider::Anthropic),
                         [](const auto& info) { return std::string(provider_name(info.param)); });

TEST(EvalRunner, OfflineCannotAnswer) {
  EvalSettings s;
  s.candidate.provider = Provider::Offline;
  EvalRunner runner(s, never_cancel);
  const Trajectory t = trajectory();
  try {
    runner.start(t, item("1", ""), Estimate{});
    FAIL() << "offline started";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kInvalidParameter);
  }
  EXPECT_EQ(runner.active(), 0u);
}

}  // namespace
