// Model verification: the verifier's prompt and the strict parser of its
// verdicts (pure), and BatchRunner's second call per session against the
// mock model server (kept, rejected as unsupported, paid for, failures).
#include "trajc/model_verify.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "mock_server.hpp"
#include "trajc/compile.hpp"
#include "trajc/error.hpp"

using namespace trajc;
using steady = std::chrono::steady_clock;

namespace {

Trajectory six_turns(const std::string& session) {
  Trajectory t;
  t.session_id = session;
  t.agent = "coder";
  for (int i = 1; i <= 6; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.agent = "coder";
    turn.fields.push_back({"action", "step " + std::to_string(i) + " wrote file f" + std::to_string(i) + ".txt"});
    t.turns.push_back(std::move(turn));
  }
  return t;
}

QaPair pair(const std::string& q, const std::string& a, std::vector<int> turns) {
  QaPair p;
  p.question = q;
  p.answer = a;
  p.supporting_turns = std::move(turns);
  p.qa_type = "factoid";
  return p;
}

std::string verdict(int n, const char* supported = "true", const char* multiple = "true",
                    const char* trivial = "false") {
  return std::string("{\"pair\": ") + std::to_string(n) + ", \"supported\": " + supported +
         ", \"needs_multiple_turns\": " + multiple + ", \"answerable_without_log\": " + trivial +
         ", \"reason\": \"r" + std::to_string(n) + "\"}";
}

std::string error_code(const std::string& text, std::size_t count) {
  try {
    parse_verdicts(text, count);
  } catch (const Error& e) {
    return e.code();
  }
  return "none";
}

}  // namespace

TEST(VerifierPrompt, ShowsEachPairWithOnlyItsCitedTurns) {
  const Trajectory t = six_turns("s-9");
  const std::vector<QaPair> pairs = {pair("What did turns 1 and 3 write?", "f1.txt and f3.txt", {1, 3}),
                                     pair("What did turn 6 write after turn 4?", "f6.txt", {4, 6})};
  const std::string prompt = build_verifier_prompt(t.session_id, verify_items(pairs, t));
  EXPECT_NE(prompt.find(kVerifierMark), std::string::npos);
  EXPECT_NE(prompt.find("\nSession: s-9\n"), std::string::npos);
  EXPECT_NE(prompt.find("## Pair 1\nQuestion: What did turns 1 and 3 write?\nAnswer: f1.txt and f3.txt\n"),
            std::string::npos);
  EXPECT_NE(prompt.find("## Pair 2\n"), std::string::npos);
  for (int cited : {1, 3, 4, 6}) {
    EXPECT_NE(prompt.find("### Turn " + std::to_string(cited) + " ("), std::string::npos) << cited;
    EXPECT_NE(prompt.find("wrote file f" + std::to_string(cited) + ".txt"), std::string::npos) << cited;
  }
  for (int uncited : {2, 5}) {
    EXPECT_EQ(prompt.find("### Turn " + std::to_string(uncited)), std::string::npos) << uncited;
    EXPECT_EQ(prompt.find("f" + std::to_string(uncited) + ".txt"), std::string::npos) << uncited;
  }
  // Turn 1 is shown under pair 1, turn 4 only under pair 2.
  EXPECT_LT(prompt.find("### Turn 3 ("), prompt.find("## Pair 2"));
  EXPECT_GT(prompt.find("### Turn 4 ("), prompt.find("## Pair 2"));
}

TEST(VerifierPrompt, CutsAHugeTurnAtACharacterBoundary) {
  Trajectory t = six_turns("s-big");
  t.turns[0].fields.push_back({"output", std::string(kMaxVerifiedTurnChars, 'x') + "\xc3\xa9tail"});
  const std::string prompt =
      build_verifier_prompt(t.session_id, verify_items({pair("q", "a", {1, 3})}, t));
  EXPECT_LT(prompt.size(), 2 * kMaxVerifiedTurnChars);
  EXPECT_NE(prompt.find("[... turn cut at "), std::string::npos);
  EXPECT_EQ(prompt.find("tail"), std::string::npos);
}

TEST(Verdicts, ParsesOnePerPairInPairOrder) {
  const std::string text = "```json\n{\"verdicts\": [" + verdict(2, "false") + ", " + verdict(1) + "]}\n```";
  const std::vector<Verdict> v = parse_verdicts(text, 2);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].supported);
  EXPECT_EQ(v[0].reason, "r1");
  EXPECT_FALSE(v[1].supported);
  EXPECT_TRUE(verdict_keeps(v[0]));
  EXPECT_FALSE(verdict_keeps(v[1]));
}

TEST(Verdicts, KeepsOnlyAFullPass) {
  Verdict v;
  v.supported = true;
  v.needs_multiple_turns = true;
  v.answerable_without_log = false;
  EXPECT_TRUE(verdict_keeps(v));
  EXPECT_EQ(verdict_rejection(v), "");
  Verdict partial = v;
  partial.supported = false;
  EXPECT_FALSE(verdict_keeps(partial));
  EXPECT_NE(verdict_rejection(partial).find("do not fully support"), std::string::npos);
  Verdict single = v;
  single.needs_multiple_turns = false;
  EXPECT_FALSE(verdict_keeps(single));
  EXPECT_NE(verdict_rejection(single).find("one cited turn suffices"), std::string::npos);
  Verdict trivial = v;
  trivial.answerable_without_log = true;
  trivial.reason = "common knowledge";
  EXPECT_FALSE(verdict_keeps(trivial));
  EXPECT_EQ(verdict_rejection(trivial), "answerable without the log (verifier: common knowledge)");
}

TEST(Verdicts, RefusesAnythingButOneWellTypedVerdictPerPair) {
  EXPECT_EQ(error_code("no json here", 1), sqlstate::kInvalidJson);
  EXPECT_EQ(error_code("", 1), sqlstate::kInvalidJson);
  EXPECT_EQ(error_code("{\"pairs\": []}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": {}}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(1) + "]}", 2), sqlstate::kExternal);  // too few
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(1) + "," + verdict(1) + "]}", 2), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(3) + "]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(0) + "]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(1, "\"true\"") + "]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [" + verdict(1, "true", "1") + "]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [{\"pair\": 1, \"supported\": true}]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [{\"pair\": 1.5, \"supported\": true}]}", 1), sqlstate::kExternal);
  EXPECT_EQ(error_code("{\"verdicts\": [7]}", 1), sqlstate::kExternal);
  // A bare array of verdicts is read like the envelope.
  EXPECT_EQ(parse_verdicts("[" + verdict(1) + "]", 1).size(), 1u);
}

TEST(Verdicts, SchemaIsStrictModeShaped) {
  const nlohmann::json& s = verdict_schema();
  const nlohmann::json& item = s["properties"]["verdicts"]["items"];
  EXPECT_EQ(item["required"].size(), item["properties"].size());
  EXPECT_EQ(item["additionalProperties"], false);
  const std::string openai = request_body(Provider::OpenAI, "m", "p", true, ReplyFormat::Verdicts);
  EXPECT_NE(openai.find("\"name\":\"verdicts\""), std::string::npos);
  EXPECT_NE(openai.find("\"strict\":true"), std::string::npos);
  const std::string gemini = request_body(Provider::Gemini, "m", "p", true, ReplyFormat::Verdicts);
  EXPECT_NE(gemini.find("needs_multiple_turns"), std::string::npos);
  EXPECT_EQ(gemini.find("additionalProperties"), std::string::npos);
}

// --- BatchRunner with trajc.verify = 'model', against the mock ---------------

namespace {

class ModelVerifyRun : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override { mock_ = std::make_unique<trajc_test::MockServer>(); }

  CompileSettings settings(const std::string& verifier_model) const {
    CompileSettings s;
    s.provider = GetParam();
    s.model = "compile-model";
    s.api_key = "key-SECRET-7";
    s.base_url = mock_->url();
    s.prices = {1.0, 4.0};
    s.timeout_ms = 5000;
    s.max_retries = 1;
    s.retry_base_delay_ms = 20;
    s.quality.verify = VerifyMode::Model;
    s.verifier = {s.provider, verifier_model, s.api_key, s.base_url, Prices{10.0, 40.0}};
    return s;
  }

  CompileOutcome run(const CompileSettings& s, const std::string& session = "s-v") {
    BatchRunner runner(s, nullptr);
    runner.start(six_turns(session), Estimate{});
    std::vector<CompileOutcome> out;
    const auto give_up = steady::now() + std::chrono::seconds(15);
    while (out.empty() && steady::now() < give_up) out = runner.wait(200);
    EXPECT_EQ(out.size(), 1u);
    EXPECT_EQ(runner.active(), 0u);
    if (out.empty()) throw std::runtime_error("no outcome");
    EXPECT_DOUBLE_EQ(runner.spent_usd(), out[0].cost_usd);
    return out[0];
  }

  // The mock's last request: the verifier's, when the run verified.
  nlohmann::json last_request() const {
    const nlohmann::json log = mock_->requests();
    return log.empty() ? nlohmann::json() : log.back();
  }

  std::unique_ptr<trajc_test::MockServer> mock_;
};

}  // namespace

TEST_P(ModelVerifyRun, SupportedPairsAreKeptAndNameTheVerifier) {
  CompileSettings literal = settings("verifier-model");
  literal.quality.verify = VerifyMode::Literal;
  const CompileOutcome before = run(literal);
  ASSERT_EQ(before.status, Status::Ok) << before.error;

  const CompileOutcome o = run(settings("verifier-model"));
  ASSERT_EQ(o.status, Status::Ok) << o.error;
  ASSERT_EQ(o.pairs.size(), 2u);
  ASSERT_EQ(o.quality.size(), 2u);
  for (const PairQuality& q : o.quality) EXPECT_EQ(q.verified_by, "verifier-model");
  EXPECT_TRUE(o.rejected.empty());
  EXPECT_EQ(o.attempts, 1);
  // The verifier's call is the session's: its tokens at the verifier's prices.
  const long v_in = o.tokens_in - before.tokens_in, v_out = o.tokens_out - before.tokens_out;
  EXPECT_GT(v_in, 0);
  EXPECT_GT(v_out, 0);
  EXPECT_NEAR(o.cost_usd - before.cost_usd, call_cost_usd(Prices{10.0, 40.0}, v_in, v_out), 1e-12);
  EXPECT_EQ(mock_->requests().size(), 3u);  // literal: one call; model: two
  const nlohmann::json req = last_request();
  EXPECT_EQ(req["session"], "s-v");
  EXPECT_NE(req["body"].dump().find(kVerifierMark), std::string::npos);
  EXPECT_NE((req["path"].dump() + req["body"].dump()).find("verifier-model"), std::string::npos);
  EXPECT_EQ(v_in, static_cast<long>(build_verifier_prompt("s-v", verify_items(o.pairs, six_turns("s-v"))).size() / 4));
}

TEST_P(ModelVerifyRun, UnsupportedPairsAreRejected) {
  const CompileOutcome all = run(settings("mock:verdict_unsupported"));
  EXPECT_EQ(all.status, Status::Empty) << all.error;
  EXPECT_TRUE(all.pairs.empty());
  EXPECT_EQ(all.rejected, (std::map<std::string, int>{{"unsupported", 2}}));
  const CompileOutcome second = run(settings("mock:verdict_unsupported=2"), "s-w");
  EXPECT_EQ(second.status, Status::Ok);
  ASSERT_EQ(second.pairs.size(), 1u);
  EXPECT_EQ(second.pairs[0].supporting_turns, (std::vector<int>{1, 3}));
  EXPECT_EQ(second.rejected, (std::map<std::string, int>{{"unsupported", 1}}));
  EXPECT_EQ(run(settings("mock:verdict_single"), "s-x").rejected.at("unsupported"), 2);
  EXPECT_EQ(run(settings("mock:verdict_trivial"), "s-y").rejected.at("unsupported"), 2);
}

TEST_P(ModelVerifyRun, AFailedOrGarbledVerifierFailsTheSession) {
  int session = 0;
  for (const char* model : {"mock:status=500", "mock:verdict_garbled", "mock:verdict_short", "mock:non_json"}) {
    const CompileOutcome o = run(settings(model), "s-f" + std::to_string(++session));
    EXPECT_EQ(o.status, Status::Failed) << model;
    EXPECT_TRUE(o.pairs.empty()) << model;
    EXPECT_TRUE(o.quality.empty()) << model;  // the store refuses pairs and quality out of step
    EXPECT_EQ(o.error.rfind("verifier: ", 0), 0u) << model << ": " << o.error;
    EXPECT_EQ(o.error.find("key-SECRET-7"), std::string::npos) << o.error;
    EXPECT_GT(o.cost_usd, 0) << model;  // the compile call is paid for
  }
}

INSTANTIATE_TEST_SUITE_P(AllVendors, ModelVerifyRun,
                         ::testing::Values(Provider::Gemini, Provider::OpenAI, Provider::Anthropic),
                         [](const auto& info) { return std::string(provider_name(info.param)); });

TEST(ModelVerifySettings, OfflineCannotVerifyWithAModel) {
  CompileSettings s;
  s.provider = Provider::Offline;
  s.quality.verify = VerifyMode::Model;
  try {
    BatchRunner runner(s, nullptr);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kInvalidParameter);
  }
}

TEST(ModelVerifySettings, LiteralRejectedPairsAreNotSentAndEmptyRepliesMakeNoCall) {
  trajc_test::MockServer mock;
  CompileSettings s;
  s.provider = Provider::OpenAI;
  s.model = "mock:empty";  // the compile reply is empty text: failed, no verifier call
  s.api_key = "k";
  s.base_url = mock.url();
  s.max_retries = 0;
  s.quality.verify = VerifyMode::Model;
  s.verifier = {Provider::OpenAI, "verifier", "k", mock.url(), Prices{}};
  BatchRunner runner(s, nullptr);
  runner.start(six_turns("s-e"), Estimate{});
  std::vector<CompileOutcome> out;
  while (out.empty()) out = runner.wait(200);
  EXPECT_EQ(out[0].status, Status::Failed);
  EXPECT_EQ(mock.requests().size(), 1u);

  // Three pairs, one literally ungrounded: the verifier is asked about two.
  s.model = "mock:ungrounded";
  BatchRunner second(s, nullptr);
  second.start(six_turns("s-u"), Estimate{});
  out.clear();
  while (out.empty()) out = second.wait(200);
  EXPECT_EQ(out[0].status, Status::Ok) << out[0].error;
  EXPECT_EQ(out[0].pairs.size(), 2u);
  EXPECT_EQ(out[0].rejected, (std::map<std::string, int>{{"ungrounded", 1}}));
  const nlohmann::json log = mock.requests();
  ASSERT_EQ(log.size(), 3u);
  const std::string verifier_body = log[2]["body"].dump();
  EXPECT_NE(verifier_body.find("## Pair 2"), std::string::npos);
  EXPECT_EQ(verifier_body.find("## Pair 3"), std::string::npos);
  EXPECT_EQ(verifier_body.find("ord-99999-x"), std::string::npos);
}

// --- The verifier in estimates and the budget (issue 17) ----------------------

namespace {

CompileSettings budget_settings(const std::string& url, VerifyMode verify) {
  CompileSettings s;
  s.provider = Provider::OpenAI;
  s.model = "compile-model";
  s.api_key = "k";
  s.base_url = url;
  s.prices = {1.0, 4.0};
  s.timeout_ms = 5000;
  s.max_retries = 0;
  s.quality.verify = verify;
  s.verifier = {Provider::OpenAI, "verifier-model", "k", url, Prices{10.0, 40.0}};
  return s;
}

}  // namespace

TEST(VerifierBudget, TheEstimateAddsTheVerifierOnlyWhenAModelVerifies) {
  const Trajectory t = six_turns("s-est");
  CompileSettings s = budget_settings("http://127.0.0.1:9", VerifyMode::Literal);
  const Estimate literal = estimate_compile(t, s);
  EXPECT_EQ(estimate_verifier(t, s).tokens_in, 0);
  EXPECT_EQ(estimate_verifier(t, s).cost_usd, 0);
  s.quality.verify = VerifyMode::Model;
  const Estimate model = estimate_compile(t, s);
  const Estimate verifier = estimate_verifier(t, s);
  ASSERT_GT(verifier.tokens_in, 0);
  EXPECT_EQ(model.tokens_in, literal.tokens_in + verifier.tokens_in);
  EXPECT_NEAR(model.cost_usd, literal.cost_usd + verifier.cost_usd, 1e-12);
  // At the verifier's prices: its bound in, a verdict per possible pair out.
  const long pairs = s.prompt.max_questions;
  EXPECT_NEAR(verifier.cost_usd, (verifier.tokens_in * 10.0 + pairs * kVerdictTokens * 40.0) / 1e6, 1e-12);
  // prepare_request (what runs admit on) gives the same estimate.
  Prepared p;
  prepare_request(t, s, p);
  EXPECT_EQ(p.estimate.tokens_in, model.tokens_in);
  EXPECT_NEAR(p.estimate.cost_usd, model.cost_usd, 1e-12);
}

TEST(VerifierBudget, TheBoundHoldsForTheLargestPromptTheSessionCanGive) {
  // max_questions pairs, each citing every turn (one of them huge, cut), with
  // their texts as long as the bound allows: the real prompt fits in it.
  Trajectory t = six_turns("s-big");
  t.turns[2].fields.push_back({"output", std::string(3 * kMaxVerifiedTurnChars, 'x')});
  const int pairs = 5;
  const std::size_t qa_bytes = 1000;
  std::vector<QaPair> all;
  for (int i = 0; i < pairs; ++i)
    all.push_back(pair(std::string(qa_bytes / pairs / 2, 'q'), std::string(qa_bytes / pairs / 2, 'a'),
                       {1, 2, 3, 4, 5, 6}));
  const std::size_t largest = build_verifier_prompt("s-big", verify_items(all, t)).size();
  const std::size_t bound = verifier_prompt_bound(t, pairs, qa_bytes);
  EXPECT_GE(bound, largest);
  EXPECT_LE(bound, largest + 64);  // an upper bound, not a guess far above it
  EXPECT_LT(bound, static_cast<std::size_t>(pairs) * 4 * kMaxVerifiedTurnChars);  // the huge turn is cut
}

TEST(VerifierBudget, AdmissionReservesTheVerifierWithTheCompile) {
  trajc_test::MockServer mock;
  const Trajectory t = six_turns("s-adm");
  CompileSettings s = budget_settings(mock.url(), VerifyMode::Literal);
  const Estimate compile_only = estimate_compile(t, s);
  s.quality.verify = VerifyMode::Model;
  const Estimate both = estimate_compile(t, s);
  // A budget the compile call fits but not the compile and its verifier.
  s.max_cost_usd = (compile_only.cost_usd + both.cost_usd) / 2;
  Prepared p;
  prepare_request(t, s, p);
  BatchRunner verifying(s, nullptr);
  EXPECT_EQ(verifying.admit(p.estimate), BatchRunner::Admission::OverBudget);
  s.quality.verify = VerifyMode::Literal;
  prepare_request(t, s, p);
  BatchRunner literal(s, nullptr);
  EXPECT_EQ(literal.admit(p.estimate), BatchRunner::Admission::Start);
}

TEST(VerifierBudget, AVerifierCallPastTheBudgetIsNotSentAndFailsTheSession) {
  trajc_test::MockServer mock;
  CompileSettings s = budget_settings(mock.url(), VerifyMode::Literal);
  // What the compile call really costs (the mock's usage figures).
  BatchRunner probe(s, nullptr);
  probe.start(six_turns("s-over"), Estimate{});
  std::vector<CompileOutcome> out;
  while (out.empty()) out = probe.wait(200);
  ASSERT_EQ(out[0].status, Status::Ok) << out[0].error;
  const double compile_cost = out[0].cost_usd;

  // The compile call alone fits; started on a zero estimate (it cost more
  // than estimated), its verifier call would pass the budget: not sent.
  s.quality.verify = VerifyMode::Model;
  s.max_cost_usd = compile_cost * 1.001;
  BatchRunner runner(s, nullptr);
  runner.start(six_turns("s-over"), Estimate{});
  out.clear();
  while (out.empty()) out = runner.wait(200);
  EXPECT_EQ(out[0].status, Status::Failed);
  EXPECT_EQ(out[0].error, std::string("verifier: ") + kOverBudget);
  EXPECT_TRUE(out[0].pairs.empty());
  EXPECT_TRUE(out[0].quality.empty());
  EXPECT_DOUBLE_EQ(out[0].cost_usd, compile_cost);  // the compile call is paid for
  EXPECT_LE(runner.spent_usd(), s.max_cost_usd);
  EXPECT_EQ(runner.active(), 0u);
  EXPECT_EQ(mock.requests().size(), 2u);  // the probe's and this compile's: no verifier call
}

// --- Reverifier: trajc_verify()'s engine --------------------------------------

namespace {

std::vector<SessionVerdicts> reverify(const std::string& url, const std::string& model, const Trajectory& log,
                                      std::vector<StoredPair> pairs) {
  CallLimits limits;
  limits.max_retries = 0;
  limits.timeout_ms = 5000;
  Reverifier r(ModelEndpoint{Provider::OpenAI, model, "key-SECRET-9", url, Prices{2.0, 8.0}}, limits, false,
               nullptr);
  EXPECT_EQ(r.admit(), ModelCalls::Admission::Start);
  r.start(log, std::move(pairs));
  std::vector<SessionVerdicts> out;
  const auto give_up = steady::now() + std::chrono::seconds(15);
  while (out.empty() && steady::now() < give_up) out = r.wait(200);
  EXPECT_EQ(r.active(), 0u);
  return out;
}

StoredPair stored(const std::string& id, const std::string& hash, QaPair p) { return {id, hash, std::move(p)}; }

}  // namespace

TEST(Reverifier, HashThenLiteralThenTheModel) {
  trajc_test::MockServer mock;
  const Trajectory log = six_turns("s-r");
  const std::string hash = trajectory_hash(log);
  const auto out = reverify(mock.url(), "mock:verdict_unsupported=2", log,
                            {stored("p-old", "0123456789abcdef", pair("q1?", "f1.txt", {1, 3})),
                             stored("p-lit", hash, pair("What did turn 1 write?", "f9.txt", {1, 3})),
                             stored("p-ok", hash, pair("Which files did turns 1 and 3 write?", "f1.txt, f3.txt", {1, 3})),
                             stored("p-no", hash, pair("Which files did turns 4 and 6 write?", "f4.txt, f6.txt", {4, 6}))});
  ASSERT_EQ(out.size(), 1u);
  const SessionVerdicts& s = out[0];
  EXPECT_EQ(s.error, "");
  ASSERT_EQ(s.verdicts.size(), 4u);
  std::map<std::string, std::string> by_id;
  for (const PairVerdict& v : s.verdicts) by_id[v.pair_id] = v.verdict;
  EXPECT_EQ(by_id["p-old"], "ungrounded");
  EXPECT_EQ(by_id["p-lit"], "ungrounded");
  EXPECT_EQ(by_id["p-ok"], "supported");
  EXPECT_EQ(by_id["p-no"], "unsupported");  // the second pair the verifier saw
  EXPECT_GT(s.tokens_in, 0);
  EXPECT_DOUBLE_EQ(s.cost_usd, call_cost_usd(Prices{2.0, 8.0}, s.tokens_in, s.tokens_out));
  // Only the two literally grounded pairs went to the verifier.
  const nlohmann::json log_entries = mock.requests();
  ASSERT_EQ(log_entries.size(), 1u);
  const std::string body = log_entries[0]["body"].dump();
  EXPECT_NE(body.find("## Pair 2"), std::string::npos);
  EXPECT_EQ(body.find("## Pair 3"), std::string::npos);
}

TEST(Reverifier, NoCallWhenNothingIsLeftToAskAndFailuresAreReported) {
  trajc_test::MockServer mock;
  Trajectory gone;
  gone.session_id = "s-gone";
  const auto none = reverify(mock.url(), "m", gone, {stored("p", "h", pair("q", "a", {1, 3}))});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].verdicts.at(0).verdict, "ungrounded");
  EXPECT_EQ(none[0].verdicts.at(0).reason, "the session is no longer in the audit log");
  EXPECT_TRUE(mock.requests().empty());
  const Trajectory log = six_turns("s-fail");
  const auto failed = reverify(mock.url(), "mock:status=503", log,
                               {stored("p", trajectory_hash(log), pair("Which files did turns 1 and 3 write?",
                                                                       "f1.txt, f3.txt", {1, 3}))});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(failed[0].verdicts.empty());
  EXPECT_NE(failed[0].error.find("HTTP 503"), std::string::npos) << failed[0].error;
}
