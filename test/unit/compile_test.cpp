// BatchRunner end to end against the mock model server, and estimates.
#include "trajc/compile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "mock_server.hpp"
#include "trajc/error.hpp"
#include "trajc/safe_text.hpp"

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
    return run_one_trajectory(s, trajectory("s-1", directive));
  }

  CompileOutcome run_one_trajectory(const CompileSettings& s, const Trajectory& t) {
    BatchRunner runner(s, cancel_at_deadline);
    auto outcomes = run(runner, {t});
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

// ---- issue 9: hostile replies end as that session's failure, never the batch's

namespace {

bool has_nul_or_key(const std::string& s) {
  return s.find('\0') != std::string::npos || s.find(kKey) != std::string::npos;
}

// No invalid UTF-8 (the database could not take it back).
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

TEST_P(ProviderEndToEnd, DeepNestingFailsOnlyThatSession) {
  BatchRunner runner(settings(GetParam()), cancel_at_deadline);
  const auto outcomes = run(runner, {trajectory("a-good", ""), trajectory("b-deep-pair", "mock:deep=100000"),
                                     trajectory("c-deep-envelope", "mock:deep_envelope=1000000"),
                                     trajectory("d-good", "")});
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].status, Status::Ok) << outcomes[0].error;
  EXPECT_EQ(outcomes[3].status, Status::Ok) << outcomes[3].error;
  for (const CompileOutcome& o : {outcomes[1], outcomes[2]}) {
    EXPECT_EQ(o.status, Status::Failed) << o.session_id;
    EXPECT_EQ(o.http_status, 200) << o.session_id;
    EXPECT_NE(o.error.find("nested deeper than 256"), std::string::npos) << o.session_id << ": " << o.error;
    EXPECT_TRUE(o.pairs.empty()) << o.session_id;
  }
}

TEST_P(ProviderEndToEnd, WrongTypedEnvelopeFieldsTouchOnlyThatSession) {
  BatchRunner runner(settings(GetParam()), cancel_at_deadline);
  const auto outcomes = run(runner, {trajectory("a-good", ""), trajectory("b-wrong-types", "mock:wrong_types"),
                                     trajectory("c-good", "")});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].status, Status::Ok) << outcomes[0].error;
  EXPECT_EQ(outcomes[2].status, Status::Ok) << outcomes[2].error;
  // Fields of the wrong type are ignored like missing ones: the text still counts.
  const CompileOutcome& odd = outcomes[1];
  EXPECT_EQ(odd.status, Status::Ok) << odd.error;
  EXPECT_EQ(odd.pairs.size(), 2u);
  EXPECT_GE(odd.tokens_in, 0);
  EXPECT_GE(odd.tokens_out, 0);
  EXPECT_GE(odd.cost_usd, 0);
}

TEST_P(ProviderEndToEnd, KeyEchoedInAGoodReplyIsRedactedFromPairs) {
  // Verification off: an answer quoting the key is ungrounded, and this test
  // is about what reaches the stored text when a pair is kept.
  CompileSettings s = settings(GetParam());
  s.quality.verify = VerifyMode::Off;
  const CompileOutcome o = run_one(s, "mock:echo_key");
  EXPECT_EQ(o.status, Status::Ok) << o.error;
  ASSERT_EQ(o.pairs.size(), 2u);
  for (const QaPair& p : o.pairs) {
    for (const std::string* text : {&p.question, &p.answer, &p.raw_json}) {
      EXPECT_FALSE(has_nul_or_key(*text)) << *text;
      EXPECT_EQ(text->find("SECRET"), std::string::npos) << *text;  // no escaped or encoded form either
    }
    EXPECT_EQ(p.raw_json.find("\\u0000"), std::string::npos) << p.raw_json;  // jsonb refuses \u0000
    EXPECT_EQ(p.raw_json.find("\\ufffd"), std::string::npos) << p.raw_json;  // a LATIN1 jsonb refuses it
  }
  EXPECT_NE(o.pairs[0].answer.find("[redacted]"), std::string::npos) << o.pairs[0].answer;
  EXPECT_NE(o.pairs[1].question.find("[redacted]"), std::string::npos) << o.pairs[1].question;
  EXPECT_NO_THROW(nlohmann::json::parse(o.pairs[0].raw_json));  // still the model's object, as JSON
}

TEST_P(ProviderEndToEnd, HostileErrorBodiesAreStoredSafely) {
  BatchRunner runner(settings(GetParam()), cancel_at_deadline);
  const auto outcomes =
      run(runner, {trajectory("a-nasty", "mock:nasty_error"), trajectory("b-huge", "mock:huge_error=5000000")});
  ASSERT_EQ(outcomes.size(), 2u);
  for (const CompileOutcome& o : outcomes) {
    EXPECT_EQ(o.status, Status::Failed) << o.session_id;
    EXPECT_EQ(o.http_status, 400) << o.session_id;
    EXPECT_FALSE(has_nul_or_key(o.error)) << o.error;
    EXPECT_EQ(o.error.find("SECRET"), std::string::npos) << o.error;
    EXPECT_TRUE(valid_utf8(o.error)) << o.error;
    EXPECT_LE(o.error.size(), kMaxErrorBytes) << o.session_id;
  }
  EXPECT_NE(outcomes[0].error.find("bad request"), std::string::npos) << outcomes[0].error;
  EXPECT_NE(outcomes[1].error.find("xxxxx"), std::string::npos);
}

TEST_F(BatchTest, ModelNameThatLeavesItsPathSegmentIsRefused) {
  CompileSettings s = settings(Provider::Gemini);
  s.model = "../../v1/other";
  try {
    BatchRunner runner(s, cancel_at_deadline);
    runner.start(trajectory("s-1", ""), Estimate{});
    runner.wait(2000);
    FAIL() << "model name accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kInvalidParameter);
  }
  EXPECT_TRUE(mock_->requests().empty());
}

TEST_F(BatchTest, CancelDuringAnOfflineCompileStopsTheBatch) {
  BatchRunner runner(settings(Provider::Offline), [] { return true; });
  try {
    runner.start(trajectory("s-off", ""), Estimate{});
    runner.wait(100);
    FAIL() << "not canceled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kQueryCanceled);  // not swallowed as a failed session
  }
}

// ---- pair quality in the runner ------------------------------------------------

namespace {

// A session whose turns hold planted PII of every kind (turn 2 carries the
// mock directive, as in trajectory()).
Trajectory planted(const std::string& session, const std::string& directive) {
  Trajectory t = trajectory(session, directive, 6);
  t.turns[0].fields.push_back({"user", "alice@example.com"});
  t.turns[0].fields.push_back({"args", R"({"card": 4111111111111111, "ip": "203.0.113.9"})", true});
  t.turns[2].fields.push_back({"user", "alice@example.com"});
  t.turns[2].fields.push_back({"callback", "+1 415 555 0100"});
  t.turns[3].fields.push_back({"api_key", "sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd"});
  return t;
}

const char* const kPlanted[] = {"alice@example.com", "4111111111111111", "203.0.113.9", "415 555 0100",
                                "sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd"};

}  // namespace

TEST_F(BatchTest, RedactsBeforeThePromptAndVerifiesAgainstWhatWasSent) {
  CompileSettings s = settings();
  s.redact_pii = true;
  const CompileOutcome o = run_one_trajectory(s, planted("s-pii", "mock:record"));
  ASSERT_EQ(o.status, Status::Ok) << o.error;
  EXPECT_TRUE(o.redacted);
  EXPECT_EQ(o.redactions, (std::map<std::string, int>{{"card", 1}, {"email", 2}, {"ip", 1}, {"phone", 1}, {"secret", 1}}));
  const std::string body = mock_->requests().at(0)["body"].dump();
  for (const char* value : kPlanted) EXPECT_EQ(body.find(value), std::string::npos) << value;
  EXPECT_NE(body.find("[EMAIL_1]"), std::string::npos);
  // The model's pair about a placeholder is grounded in the redacted turns.
  ASSERT_EQ(o.pairs.size(), 3u);
  EXPECT_EQ(o.pairs[2].answer, "\"[EMAIL_1]\" (turns 1 and 3).");
  EXPECT_EQ(o.quality.at(2).verified_by, "literal");
  EXPECT_TRUE(o.rejected.empty());
  // The hash is the log's own, so an unchanged session is still recognized.
  EXPECT_EQ(o.trajectory_hash, trajectory_hash(planted("s-pii", "mock:record")));
}

TEST_F(BatchTest, WithoutRedactionThePromptHoldsTheValues) {
  const CompileOutcome o = run_one_trajectory(settings(), planted("s-raw", "mock:record"));
  EXPECT_FALSE(o.redacted);
  EXPECT_TRUE(o.redactions.empty());
  EXPECT_NE(mock_->requests().at(0)["body"].dump().find("alice@example.com"), std::string::npos);
}

TEST_F(BatchTest, UngroundedAndNearDuplicatePairsAreCounted) {
  const CompileOutcome u = run_one(settings(), "mock:ungrounded");
  EXPECT_EQ(u.pairs.size(), 2u);
  EXPECT_EQ(u.rejected, (std::map<std::string, int>{{"ungrounded", 1}}));
  const CompileOutcome d = run_one(settings(), "mock:near_duplicate");
  EXPECT_EQ(d.pairs.size(), 2u);
  EXPECT_EQ(d.rejected, (std::map<std::string, int>{{"near_duplicate", 1}}));
  ASSERT_EQ(d.quality.size(), 2u);
  EXPECT_EQ(d.quality[0].fingerprint.key, "what was done in turn 1 and in turn 3");
  CompileSettings off = settings();
  off.quality.verify = VerifyMode::Off;
  const CompileOutcome kept = run_one(off, "mock:ungrounded");
  EXPECT_EQ(kept.pairs.size(), 3u);
  EXPECT_EQ(kept.quality.at(2).verified_by, "");
}

TEST_F(BatchTest, OfflineCompilesTheRedactedTrajectory) {
  CompileSettings s = settings(Provider::Offline);
  s.redact_pii = true;
  Trajectory t = planted("s-off-pii", "");
  // A column whose repeated values are addresses: the offline compiler asks about them.
  for (Turn& turn : t.turns) turn.fields.push_back({"customer", turn.number % 2 ? "bob@example.org" : "carol@example.net"});
  const CompileOutcome o = run_one_trajectory(s, t);
  ASSERT_EQ(o.status, Status::Ok) << o.error;
  bool mentions_placeholder = false;
  for (const QaPair& p : o.pairs) {
    for (const std::string* text : {&p.question, &p.answer}) {
      for (const char* value : {"alice@example.com", "bob@example.org", "carol@example.net"}) {
        EXPECT_EQ(text->find(value), std::string::npos) << *text;
      }
      mentions_placeholder = mentions_placeholder || text->find("[EMAIL_") != std::string::npos;
    }
  }
  EXPECT_TRUE(mentions_placeholder);
  EXPECT_EQ(o.redactions.at("email"), 8);
  EXPECT_TRUE(o.rejected.count("ungrounded") == 0);
}
