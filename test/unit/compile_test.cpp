// BatchRunner end to end against the mock model server, and estimates.
#include "trajc/compile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "mock_server.hpp"
#include "trajc/error.hpp"

using namespace trajc;
using std::chrono::milliseconds;
using std::chrono::seconds;
using steady = std::chrono::steady_clock;

namespace trajc {
// Readable test names for the vendor-parameterised tests.
void PrintTo(Provider p, std::ostream* os) { *os << provider_name(p); }
}  // namespace trajc

namespace {

const std::string kKey = "key-SECRET-42";

steady::time_point g_cancel_at = steady::time_point::max();
bool cancel_at_deadline() { return steady::now() >= g_cancel_at; }

// A session of `turns` turns; the mock reads its directive from turn 2.
Trajectory trajectory(const std::string& session, const std::string& directive, int turns = 6) {
  Trajectory t;
  t.session_id = session;
  t.agent = "planner";
  for (int i = 1; i <= turns; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i % 10) + ".000000Z";
    turn.agent = "planner";
    turn.fields.push_back({"action", "step " + std::to_string(i) + " wrote file f" + std::to_string(i) + ".txt"});
    if (i == 2 && !directive.empty()) turn.fields.push_back({"note", directive});
    t.turns.push_back(std::move(turn));
  }
  return t;
}

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_unique<trajc_test::MockServer>();
    g_cancel_at = steady::time_point::max();
  }
  void TearDown() override { mock_.reset(); }

  CompileSettings settings(Provider p = Provider::Gemini) const {
    CompileSettings s;
    s.provider = p;
    s.model = "test-model";
    s.api_key = kKey;
    s.base_url = mock_->url();
    s.prices = {1.0, 4.0};
    s.timeout_ms = 5000;
    s.max_retries = 2;
    s.retry_base_delay_ms = 20;  // retries come back fast in tests
    return s;
  }

  // Starts every trajectory (all must be admitted) and collects the outcomes.
  static std::vector<CompileOutcome> run(BatchRunner& runner, const std::vector<Trajectory>& ts) {
    for (const Trajectory& t : ts) {
      EXPECT_EQ(runner.admit(Estimate{}), BatchRunner::Admission::Start) << t.session_id;
      runner.start(t, Estimate{});
    }
    return drain(runner, ts.size());
  }

  static std::vector<CompileOutcome> drain(BatchRunner& runner, std::size_t count) {
    std::vector<CompileOutcome> all;
    const auto give_up = steady::now() + seconds(15);
    while (all.size() < count && steady::now() < give_up) {
      for (CompileOutcome& o : runner.wait(200)) all.push_back(std::move(o));
    }
    EXPECT_EQ(all.size(), count);
    EXPECT_EQ(runner.active(), 0u);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.session_id < b.session_id; });
    return all;
  }

  CompileOutcome run_one(const CompileSettings& s, const std::string& directive) {
    BatchRunner runner(s, cancel_at_deadline);
    auto outcomes = run(runner, {trajectory("s-1", directive)});
    if (outcomes.size() != 1) throw std::runtime_error("no outcome");
    return outcomes[0];
  }

  std::unique_ptr<trajc_test::MockServer> mock_;
};

class ProviderEndToEnd : public BatchTest, public ::testing::WithParamInterface<Provider> {};

}  // namespace

TEST_P(ProviderEndToEnd, CompilesGroundedPairs) {
  const CompileSettings s = settings(GetParam());
  const Trajectory t = trajectory("s-1", "");
  const std::int64_t before = std::chrono::duration_cast<milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
  BatchRunner runner(s, cancel_at_deadline);
  const auto outcomes = run(runner, {t});
  ASSERT_EQ(outcomes.size(), 1u);
  const CompileOutcome& o = outcomes[0];
  EXPECT_EQ(o.status, Status::Ok) << o.error;
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.session_id, "s-1");
  EXPECT_EQ(o.agent, "planner");
  EXPECT_EQ(o.turn_count, 6);
  EXPECT_EQ(o.trajectory_hash, trajectory_hash(t));
  EXPECT_EQ(o.pairs.size(), 2u);
  EXPECT_TRUE(o.rejected.empty());
  EXPECT_EQ(o.http_status, 200);
  EXPECT_EQ(o.attempts, 1);
  // The mock counts prompt chars / 4 in.
  EXPECT_EQ(o.tokens_in, static_cast<long>(build_prompt(t, s.prompt).size() / 4));
  EXPECT_GT(o.tokens_out, 0);
  EXPECT_DOUBLE_EQ(o.cost_usd, call_cost_usd(s.prices, o.tokens_in, o.tokens_out));
  EXPECT_DOUBLE_EQ(runner.spent_usd(), o.cost_usd);
  EXPECT_GE(o.started_unix_ms, before);
  EXPECT_GE(o.finished_unix_ms, o.started_unix_ms);
  EXPECT_EQ(source_model(s), "test-model");

  const auto log = mock_->requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["session"], "s-1");
  EXPECT_EQ(log[0]["path"].get<std::string>().find(kKey), std::string::npos);
  EXPECT_NE(log[0]["headers"].dump().find(kKey), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllVendors, ProviderEndToEnd,
                         ::testing::Values(Provider::Gemini, Provider::OpenAI, Provider::Anthropic),
                         [](const auto& info) { return std::string(provider_name(info.param)); });

TEST_F(BatchTest, GeminiCountsThinkingTokensAsOutput) {
  // The mock's reply text is the same for every vendor; Gemini adds 7 thoughts.
  const CompileOutcome gemini = run_one(settings(Provider::Gemini), "");
  const CompileOutcome openai = run_one(settings(Provider::OpenAI), "");
  EXPECT_EQ(gemini.tokens_out, openai.tokens_out + 7);
}

TEST_F(BatchTest, OfflineCompilesWithoutNetwork) {
  CompileSettings s = settings(Provider::Offline);
  BatchRunner runner(s, cancel_at_deadline);
  const Trajectory t = trajectory("s-off", "");
  EXPECT_EQ(estimate_compile(t, s).cost_usd, 0);
  runner.start(t, estimate_compile(t, s));
  EXPECT_EQ(runner.active(), 1u);
  const auto t0 = steady::now();
  const auto outcomes = runner.wait(5000);
  EXPECT_LT(steady::now() - t0, seconds(1));  // ready at once, not after the wait
  ASSERT_EQ(outcomes.size(), 1u);
  const CompileOutcome& o = outcomes[0];
  EXPECT_NE(o.status, Status::Failed) << o.error;
  EXPECT_EQ(o.status, o.pairs.empty() ? Status::Empty : Status::Ok);
  EXPECT_EQ(o.cost_usd, 0);
  EXPECT_EQ(o.tokens_in, 0);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_GT(o.finished_unix_ms, 0);
  EXPECT_EQ(runner.active(), 0u);
  EXPECT_EQ(source_model(s), "offline");
  EXPECT_TRUE(mock_->requests().empty());
}

TEST_F(BatchTest, TooManyRequestsHonoursRetryAfter) {
  BatchRunner runner(settings(), cancel_at_deadline);
  runner.start(trajectory("s-1", "mock:status=429,retry_after=1,times=1"), Estimate{});
  // While the 429's cooldown runs, nothing new may start, though slots are free.
  bool saw_cooldown = false;
  std::vector<CompileOutcome> outcomes;
  const auto give_up = steady::now() + seconds(10);
  while (outcomes.empty() && steady::now() < give_up) {
    outcomes = runner.wait(50);
    if (outcomes.empty() && runner.admit(Estimate{}) == BatchRunner::Admission::Wait) saw_cooldown = true;
  }
  EXPECT_TRUE(saw_cooldown);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Ok) << outcomes[0].error;
  EXPECT_EQ(outcomes[0].attempts, 2);
  EXPECT_EQ(outcomes[0].http_status, 200);
  const auto log = mock_->requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_GE(log[1]["received_ms"].get<double>() - log[0]["received_ms"].get<double>(), 990);
  EXPECT_EQ(runner.admit(Estimate{}), BatchRunner::Admission::Start);
}

TEST_F(BatchTest, ServerErrorsAreRetriedThenFail) {
  const CompileOutcome o = run_one(settings(), "mock:status=500");
  EXPECT_EQ(o.status, Status::Failed);
  EXPECT_EQ(o.attempts, 3);  // max_retries = 2
  EXPECT_EQ(o.http_status, 500);
  EXPECT_EQ(o.error, "gemini HTTP 500: mock error 500");
  EXPECT_EQ(mock_->requests().size(), 3u);
}

TEST_F(BatchTest, ClientErrorFailsAtOnce) {
  const CompileOutcome o = run_one(settings(Provider::Anthropic), "mock:status=400");
  EXPECT_EQ(o.status, Status::Failed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.http_status, 400);
  EXPECT_EQ(o.error, "anthropic HTTP 400: mock error 400");
}

TEST_F(BatchTest, UnusableRepliesFailButArePaidFor) {
  BatchRunner runner(settings(Provider::OpenAI), cancel_at_deadline);
  const auto outcomes = run(runner, {trajectory("a-non-json", "mock:non_json"), trajectory("b-truncated", "mock:truncated"),
                                     trajectory("c-empty", "mock:empty")});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const CompileOutcome& o : outcomes) {
    EXPECT_EQ(o.status, Status::Failed) << o.session_id;
    EXPECT_EQ(o.http_status, 200) << o.session_id;
    EXPECT_EQ(o.attempts, 1) << o.session_id;
    EXPECT_GT(o.cost_usd, 0) << o.session_id;
    EXPECT_TRUE(o.pairs.empty()) << o.session_id;
  }
  EXPECT_FALSE(outcomes[0].error.empty());
  EXPECT_NE(outcomes[1].error.find("truncated"), std::string::npos) << outcomes[1].error;
  EXPECT_NE(outcomes[2].error.find("empty"), std::string::npos) << outcomes[2].error;
  EXPECT_DOUBLE_EQ(runner.spent_usd(), outcomes[0].cost_usd + outcomes[1].cost_usd + outcomes[2].cost_usd);
}

TEST_F(BatchTest, CountsRejectionsByReason) {
  const CompileOutcome o = run_one(settings(), "mock:invalid");
  EXPECT_EQ(o.status, Status::Ok) << o.error;
  EXPECT_EQ(o.pairs.size(), 1u);
  const std::map<std::string, int> expected = {
      {reject::kMalformed, 1},  {reject::kTooFewTurns, 1}, {reject::kTurnOutOfRange, 1},
      {reject::kAdjacentOnly, 1}, {reject::kEmptyText, 1},  {reject::kUnknownType, 1},
      {reject::kDuplicate, 1}};
  EXPECT_EQ(o.rejected, expected);
}

TEST_F(BatchTest, NoGroundedPairIsEmpty) {
  // Two turns cannot hold two non-adjacent citations: the mock sends no pairs.
  BatchRunner runner(settings(), cancel_at_deadline);
  const auto outcomes = run(runner, {trajectory("s-short", "", 2)});
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, Status::Empty) << outcomes[0].error;
  EXPECT_EQ(outcomes[0].error, "");
}

TEST_F(BatchTest, HangingRequestTimesOut) {
  CompileSettings s = settings();
  s.timeout_ms = 300;
  s.max_retries = 0;
  const CompileOutcome o = run_one(s, "mock:hang");
  EXPECT_EQ(o.status, Status::Failed);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
}

TEST_F(BatchTest, CancelStopsAHangingRequest) {
  BatchRunner runner(settings(), cancel_at_deadline);
  runner.start(trajectory("s-1", "mock:hang"), Estimate{});
  const auto t0 = steady::now();
  g_cancel_at = t0 + milliseconds(200);
  try {
    runner.wait(5000);
    FAIL() << "wait returned without cancel";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "57014");
  }
  EXPECT_LT(steady::now() - t0, seconds(1));
}

TEST_F(BatchTest, DroppedConnectionsAreRetried) {
  CompileSettings s = settings();
  s.max_retries = 1;
  const CompileOutcome o = run_one(s, "mock:drop");
  EXPECT_EQ(o.status, Status::Failed);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(o.error.rfind("gemini request failed: ", 0), 0u) << o.error;
}

TEST_F(BatchTest, OversizedReplyFailsWithoutRetry) {
  CompileSettings s = settings();
  s.max_response_bytes = 4096;
  const CompileOutcome o = run_one(s, "mock:big=100000");
  EXPECT_EQ(o.status, Status::Failed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.error, "gemini request failed: response larger than 4096 bytes");
}

TEST_F(BatchTest, SchemaRejectionFallsBackToJsonModeOnce) {
  CompileSettings s = settings(Provider::OpenAI);
  s.concurrency = 1;
  BatchRunner runner(s, cancel_at_deadline);
  const auto first = run(runner, {trajectory("s-1", "mock:schema_reject")});
  const auto second = run(runner, {trajectory("s-2", "mock:schema_reject")});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].status, Status::Ok) << first[0].error;
  EXPECT_EQ(first[0].attempts, 2);
  EXPECT_EQ(second[0].status, Status::Ok) << second[0].error;
  EXPECT_EQ(second[0].attempts, 1);  // remembered: JSON mode straight away
  const auto log = mock_->requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["body"]["response_format"]["type"], "json_schema");
  EXPECT_EQ(log[1]["body"]["response_format"]["type"], "json_object");
  EXPECT_EQ(log[2]["body"]["response_format"]["type"], "json_object");
}

TEST_F(BatchTest, RunsRequestsConcurrently) {
  CompileSettings s = settings();
  s.concurrency = 16;
  BatchRunner runner(s, cancel_at_deadline);
  std::vector<Trajectory> ts;
  for (int i = 0; i < 16; ++i) ts.push_back(trajectory("s-" + std::to_string(100 + i), "mock:slow=500"));
  for (const Trajectory& t : ts) {
    ASSERT_EQ(runner.admit(Estimate{}), BatchRunner::Admission::Start);
    runner.start(t, Estimate{});
  }
  EXPECT_EQ(runner.active(), 16u);
  EXPECT_EQ(runner.admit(Estimate{}), BatchRunner::Admission::Wait);
  for (const CompileOutcome& o : drain(runner, 16)) EXPECT_EQ(o.status, Status::Ok) << o.session_id << o.error;
  // Every request reached the server before the first reply left it.
  const auto log = mock_->requests();
  ASSERT_EQ(log.size(), 16u);
  double last_received = 0, first_replied = 1e18;
  for (const auto& r : log) {
    last_received = std::max(last_received, r["received_ms"].get<double>());
    first_replied = std::min(first_replied, r["replied_ms"].get<double>());
  }
  EXPECT_LT(last_received, first_replied);
}

TEST_F(BatchTest, KeyEchoedByTheVendorIsRedacted) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    const CompileOutcome o = run_one(settings(p), "mock:status=401");
    EXPECT_EQ(o.status, Status::Failed);
    EXPECT_EQ(o.http_status, 401);
    EXPECT_EQ(o.attempts, 1);
    EXPECT_EQ(o.error.find(kKey), std::string::npos) << o.error;
    EXPECT_NE(o.error.find("[redacted]"), std::string::npos) << o.error;
  }
}

TEST_F(BatchTest, CostBudgetCountsRequestsInFlight) {
  CompileSettings s = settings();
  s.max_cost_usd = 0.01;
  BatchRunner runner(s, cancel_at_deadline);
  EXPECT_EQ(runner.admit(Estimate{0, 0.02}), BatchRunner::Admission::OverBudget);
  ASSERT_EQ(runner.admit(Estimate{0, 0.006}), BatchRunner::Admission::Start);
  runner.start(trajectory("s-1", ""), Estimate{0, 0.006});
  EXPECT_EQ(runner.admit(Estimate{0, 0.006}), BatchRunner::Admission::OverBudget);
  drain(runner, 1);
  // Done: the real (tiny) cost replaces the estimate.
  EXPECT_LT(runner.spent_usd(), 0.001);
  EXPECT_EQ(runner.admit(Estimate{0, 0.006}), BatchRunner::Admission::Start);
}

TEST_F(BatchTest, RateLimitDefersNewRequests) {
  CompileSettings s = settings();
  s.max_requests_per_minute = 60;  // one a second
  BatchRunner runner(s, cancel_at_deadline);
  runner.start(trajectory("s-1", ""), Estimate{});
  EXPECT_EQ(runner.admit(Estimate{}), BatchRunner::Admission::Wait);
}

TEST(Estimate, PromptBytesOverFour) {
  CompileSettings s;
  s.prices = {2.0, 8.0};
  s.expected_output_tokens = 1000;
  Trajectory t;
  t.session_id = "s";
  t.turns.push_back(Turn{1, "2026-01-01T00:00:00.000000Z", "a", {{"content", std::string(4000, 'x')}}});
  const Estimate e = estimate_compile(t, s);
  const long expected = static_cast<long>((build_prompt(t, s.prompt).size() + 3) / 4);
  EXPECT_EQ(e.tokens_in, expected);
  EXPECT_DOUBLE_EQ(e.cost_usd, call_cost_usd(s.prices, expected, 1000));
}
