// Vendor batch mode: job building and splitting, lifecycle and result
// parsing, hostile replies, and each vendor's whole protocol against the mock.
#include "trajc/vendor_batch.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "mock_server.hpp"
#include "trajc/error.hpp"
#include "trajc/prompt.hpp"
#include "trajc/qa.hpp"
#include "error_of.hpp"

using nlohmann::json;
using namespace trajc;

namespace {

const std::string kKey = "key-SECRET-batch-77";

// A session's real prompt; the mock reads a directive from turn 2.
std::string prompt_for(const std::string& session, const std::string& directive = "", int turns = 5) {
  Trajectory t;
  t.session_id = session;
  t.agent = "planner";
  for (int i = 1; i <= turns; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.agent = "planner";
    turn.fields.push_back({"action", "step " + std::to_string(i) + " wrote f" + std::to_string(i) + ".txt"});
    if (i == 2 && !directive.empty()) turn.fields.push_back({"note", directive});
    t.turns.push_back(std::move(turn));
  }
  return build_prompt(t, PromptOptions{});
}

HttpResult ok_reply(const std::string& body) {
  HttpResult r;
  r.status = 200;
  r.body = body;
  return r;
}

VendorAccount account(Provider p, const std::string& base = "https://vendor.example") {
  return VendorAccount{p, base, kKey};
}

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

BatchJob one_job(Provider p, const std::vector<std::pair<std::string, std::string>>& items,
                 BatchLimits limits, const std::string& model = "m-1") {
  BatchJobBuilder b(p, model, limits);
  for (const auto& [id, prompt] : items) EXPECT_TRUE(b.add(id, prompt)) << id;
  return b.take();
}

}  // namespace

// --- building jobs ------------------------------------------------------------

TEST(VendorBatch, PublishedLimits) {
  EXPECT_EQ(vendor_batch_limits(Provider::OpenAI).max_requests, 50000u);
  EXPECT_EQ(vendor_batch_limits(Provider::OpenAI).max_bytes, 200u * 1000 * 1000);
  EXPECT_EQ(vendor_batch_limits(Provider::Anthropic).max_requests, 100000u);
  EXPECT_EQ(vendor_batch_limits(Provider::Anthropic).max_bytes, 256u * 1000 * 1000);
  EXPECT_EQ(vendor_batch_limits(Provider::Gemini).max_inline_bytes, 20u * 1000 * 1000);
  EXPECT_EQ(error_of([] { vendor_batch_limits(Provider::Offline); }).code(), sqlstate::kInvalidParameter);
}

TEST(VendorBatch, CustomIds) {
  EXPECT_TRUE(is_valid_custom_id("r-1_A"));
  EXPECT_TRUE(is_valid_custom_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_custom_id(""));
  EXPECT_FALSE(is_valid_custom_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_custom_id("a.b"));
  EXPECT_FALSE(is_valid_custom_id("a b"));
  EXPECT_FALSE(is_valid_custom_id("s/1"));
}

// Each request inside a job is byte for byte the body the online call sends.
TEST(VendorBatch, RequestsCarryTheOnlineBody) {
  const std::string p1 = prompt_for("s-1"), p2 = prompt_for("s-2");
  const BatchLimits roomy{100, 1u << 30, 1u << 30};
  auto online = [&](Provider p, const std::string& prompt) {
    return json::parse(build_request(p, "", "m-1", kKey, prompt).body);
  };

  const BatchJob oa = one_job(Provider::OpenAI, {{"r1", p1}, {"r2", p2}}, roomy);
  ASSERT_TRUE(oa.as_file);
  const auto lines = jsonl(oa.payload);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["custom_id"], "r1");
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["url"], "/v1/chat/completions");
  EXPECT_EQ(lines[0]["body"], online(Provider::OpenAI, p1));
  EXPECT_EQ(lines[1]["body"], online(Provider::OpenAI, p2));

  const BatchJob an = one_job(Provider::Anthropic, {{"r1", p1}, {"r2", p2}}, roomy);
  ASSERT_FALSE(an.as_file);
  const json create = json::parse(an.payload);
  ASSERT_EQ(create["requests"].size(), 2u);
  EXPECT_EQ(create["requests"][1]["custom_id"], "r2");
  EXPECT_EQ(create["requests"][1]["params"], online(Provider::Anthropic, p2));

  BatchJobBuilder gb(Provider::Gemini, "m-1", roomy);
  ASSERT_TRUE(gb.add("r1", p1));
  ASSERT_TRUE(gb.add("r2", p2));
  EXPECT_EQ(error_of([&] { gb.take("bad label"); }).code(), sqlstate::kInvalidParameter);
  const BatchJob ge = gb.take("trajc-42");
  ASSERT_FALSE(ge.as_file);
  const json batch = json::parse(ge.payload)["batch"];
  EXPECT_EQ(batch["display_name"], "trajc-42");
  const json& reqs = batch["input_config"]["requests"]["requests"];
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["metadata"]["key"], "r1");
  EXPECT_EQ(reqs[0]["request"], online(Provider::Gemini, p1));
  EXPECT_EQ(ge.custom_ids, (std::vector<std::string>{"r1", "r2"}));
}

TEST(VendorBatch, GeminiGoesAsAFileAboveTheInlineLimit) {
  const std::string p1 = prompt_for("s-1");
  const BatchJob ge = one_job(Provider::Gemini, {{"r1", p1}, {"r2", p1}}, {100, 1u << 30, p1.size()});
  ASSERT_TRUE(ge.as_file);
  const auto lines = jsonl(ge.payload);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["key"], "r2");
  EXPECT_EQ(lines[1]["request"], json::parse(request_body(Provider::Gemini, "m-1", p1)));
}

// Jobs are cut at the count and the byte limits, and none breaks either.
TEST(VendorBatch, SplitsAtCountAndByteLimits) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    SCOPED_TRACE(provider_name(p));
    std::vector<std::string> prompts;
    for (int i = 0; i < 7; ++i) prompts.push_back(prompt_for("s-" + std::to_string(i)));

    BatchJobBuilder by_count(p, "m-1", {3, 1u << 30, 1u << 30});
    std::vector<BatchJob> jobs;
    for (int i = 0; i < 7; ++i) {
      const std::string id = "r" + std::to_string(i);
      if (!by_count.add(id, prompts[i])) {
        jobs.push_back(by_count.take());
        ASSERT_TRUE(by_count.add(id, prompts[i]));
      }
    }
    jobs.push_back(by_count.take());
    ASSERT_EQ(jobs.size(), 3u);
    EXPECT_EQ(jobs[0].custom_ids.size(), 3u);
    EXPECT_EQ(jobs[2].custom_ids, (std::vector<std::string>{"r6"}));

    // Room for about two requests a job.
    const std::size_t limit = request_body(p, "m-1", prompts[0]).size() * 2 + 400;
    BatchJobBuilder by_size(p, "m-1", {1000, limit, 0});
    std::vector<BatchJob> sized;
    std::size_t total = 0;
    for (int i = 0; i < 7; ++i) {
      const std::string id = "r" + std::to_string(i);
      if (!by_size.add(id, prompts[i])) {
        sized.push_back(by_size.take());
        ASSERT_TRUE(by_size.add(id, prompts[i]));
      }
    }
    sized.push_back(by_size.take());
    EXPECT_GE(sized.size(), 3u);
    for (const BatchJob& j : sized) {
      EXPECT_LE(j.payload.size(), limit);
      total += j.custom_ids.size();
    }
    EXPECT_EQ(total, 7u);
    EXPECT_TRUE(by_size.empty());
  }
}

TEST(VendorBatch, BuilderRefusesBadIdsAndOversizedRequests) {
  BatchJobBuilder b(Provider::OpenAI, "m-1", {10, 5000, 0});
  EXPECT_EQ(error_of([&] { b.add("bad id", "x"); }).code(), sqlstate::kInvalidParameter);
  EXPECT_TRUE(b.add("r1", "short"));
  EXPECT_EQ(error_of([&] { b.add("r1", "again"); }).code(), sqlstate::kInvalidParameter);
  b.take();
  // An id stays taken across jobs of one builder: results are matched by it.
  EXPECT_EQ(error_of([&] { b.add("r1", "again"); }).code(), sqlstate::kInvalidParameter);
  const Error big = error_of([&] { b.add("r2", std::string(6000, 'x')); });
  EXPECT_EQ(big.code(), sqlstate::kInvalidParameter);
  EXPECT_NE(std::string(big.what()).find("exceeds"), std::string::npos);
  EXPECT_TRUE(b.empty());
}

TEST(VendorBatch, RequestsForEachStep) {
  const BatchJob job = one_job(Provider::OpenAI, {{"r1", "p"}}, {10, 1u << 20, 0});
  const VendorBatchApi oa(account(Provider::OpenAI, "https://vendor.example/"));
  const HttpRequest up = oa.upload_request(job);
  EXPECT_EQ(up.url, "https://vendor.example/v1/files");
  EXPECT_EQ(up.method, "POST");
  EXPECT_NE(up.body.find("name=\"purpose\"\r\n\r\nbatch\r\n"), std::string::npos);
  EXPECT_NE(up.body.find(job.payload), std::string::npos);
  const HttpRequest create = oa.create_request(job, "file-abc");
  EXPECT_EQ(create.url, "https://vendor.example/v1/batches");
  EXPECT_EQ(json::parse(create.body), (json{{"input_file_id", "file-abc"},
                                            {"endpoint", "/v1/chat/completions"},
                                            {"completion_window", "24h"},
                                            {"metadata", {{"trajc_job", "trajc"}}}}));
  const HttpRequest poll = oa.poll_request("batch_123");
  EXPECT_EQ(poll.method, "GET");
  EXPECT_EQ(poll.url, "https://vendor.example/v1/batches/batch_123");
  EXPECT_NE(std::find(poll.headers.begin(), poll.headers.end(), "Authorization: Bearer " + kKey), poll.headers.end());

  const VendorBatchApi ge(account(Provider::Gemini, ""));
  const BatchJob gjob = one_job(Provider::Gemini, {{"r1", "p"}}, {10, 1u << 20, 1u << 20}, "gemini-x");
  EXPECT_EQ(ge.create_request(gjob).url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-x:batchGenerateContent");
  EXPECT_EQ(ge.poll_request("batches/b-1").url, "https://generativelanguage.googleapis.com/v1beta/batches/b-1");

  const VendorBatchApi an(account(Provider::Anthropic));
  EXPECT_EQ(an.poll_request("msgbatch_1").url, "https://vendor.example/v1/messages/batches/msgbatch_1");
  const HttpRequest acreate = an.create_request(one_job(Provider::Anthropic, {{"r1", "p"}}, {10, 1u << 20, 0}));
  EXPECT_NE(std::find(acreate.headers.begin(), acreate.headers.end(), "anthropic-version: 2023-06-01"),
            acreate.headers.end());
}

// --- reading the vendors' replies ------------------------------------------------

TEST(VendorBatch, OpenAIStatuses) {
  const VendorBatchApi api(account(Provider::OpenAI));
  const std::pair<const char*, BatchState> cases[] = {
      {"validating", BatchState::Pending},   {"in_progress", BatchState::Running},
      {"finalizing", BatchState::Finalizing}, {"completed", BatchState::Ended},
      {"failed", BatchState::Failed},         {"expired", BatchState::Expired},
      {"cancelling", BatchState::Cancelling}, {"cancelled", BatchState::Cancelled}};
  for (const auto& [word, state] : cases) {
    const BatchStatus s = api.parse_status(ok_reply(json{{"id", "batch_1"}, {"status", word}}.dump()));
    EXPECT_EQ(s.state, state) << word;
    EXPECT_EQ(s.remote_id, "batch_1");
  }
  const BatchStatus done = api.parse_status(ok_reply(
      R"({"id":"batch_1","status":"completed","output_file_id":"file-o","error_file_id":"file-e",
          "request_counts":{"total":3,"completed":2,"failed":1}})"));
  EXPECT_EQ(done.result_sources, (std::vector<std::string>{"file-o", "file-e"}));
  EXPECT_EQ(done.requests_total, 3);
  EXPECT_EQ(done.requests_failed, 1);
  const BatchStatus failed = api.parse_status(ok_reply(
      R"({"id":"batch_1","status":"failed","errors":{"data":[{"code":"invalid_url","message":"bad url","line":2}]}})"));
  EXPECT_NE(failed.error.find("bad url"), std::string::npos);
  EXPECT_TRUE(failed.result_sources.empty());
  EXPECT_EQ(error_of([&] { api.parse_status(ok_reply(R"({"id":"batch_1","status":"sleeping"})")); }).code(),
            sqlstate::kExternal);
}

TEST(VendorBatch, GeminiStatesInBothSpellings) {
  const VendorBatchApi api(account(Provider::Gemini));
  const std::pair<const char*, BatchState> cases[] = {
      {"BATCH_STATE_PENDING", BatchState::Pending},   {"JOB_STATE_QUEUED", BatchState::Pending},
      {"BATCH_STATE_RUNNING", BatchState::Running},   {"JOB_STATE_RUNNING", BatchState::Running},
      {"BATCH_STATE_SUCCEEDED", BatchState::Ended},   {"JOB_STATE_SUCCEEDED", BatchState::Ended},
      {"BATCH_STATE_FAILED", BatchState::Failed},     {"BATCH_STATE_CANCELLED", BatchState::Cancelled},
      {"BATCH_STATE_EXPIRED", BatchState::Expired},   {"JOB_STATE_CANCELLING", BatchState::Cancelling}};
  for (const auto& [word, state] : cases) {
    const json op = {{"name", "batches/b1"}, {"metadata", {{"state", word}}}};
    EXPECT_EQ(api.parse_status(ok_reply(op.dump())).state, state) << word;
  }
  const BatchStatus file = api.parse_status(ok_reply(R"({"name":"batches/b1","done":true,
      "metadata":{"state":"BATCH_STATE_SUCCEEDED","batchStats":{"requestCount":"4","failedRequestCount":"1"}},
      "response":{"responsesFile":"files/out-1"}})"));
  EXPECT_EQ(file.result_sources, (std::vector<std::string>{"files/out-1"}));
  EXPECT_FALSE(file.results_inline);
  EXPECT_EQ(file.requests_total, 4);
  EXPECT_EQ(file.requests_failed, 1);
  const BatchStatus failed = api.parse_status(
      ok_reply(R"({"name":"batches/b1","done":true,"error":{"code":3,"message":"model not found"}})"));
  EXPECT_EQ(failed.state, BatchState::Failed);
  EXPECT_NE(failed.error.find("model not found"), std::string::npos);
}

TEST(VendorBatch, AnthropicStatuses) {
  const VendorBatchApi api(account(Provider::Anthropic));
  EXPECT_EQ(api.parse_status(ok_reply(R"({"id":"msgbatch_1","processing_status":"in_progress"})")).state,
            BatchState::Running);
  EXPECT_EQ(api.parse_status(ok_reply(R"({"id":"msgbatch_1","processing_status":"canceling"})")).state,
            BatchState::Cancelling);
  const BatchStatus ended = api.parse_status(ok_reply(R"({"id":"msgbatch_1","processing_status":"ended",
      "request_counts":{"processing":0,"succeeded":3,"errored":1,"canceled":0,"expired":2},
      "results_url":"https://vendor.example/v1/messages/batches/msgbatch_1/results"})"));
  EXPECT_EQ(ended.state, BatchState::Ended);
  EXPECT_EQ(ended.requests_total, 6);
  EXPECT_EQ(ended.requests_failed, 3);
  ASSERT_EQ(api.result_requests(ended).size(), 1u);
  EXPECT_EQ(api.result_requests(ended)[0].url, "https://vendor.example/v1/messages/batches/msgbatch_1/results");
}

// Ids and URLs from a reply become request URLs that carry the key: only
// plain ids under the configured API root are followed.
TEST(VendorBatch, HostileIdsAndUrlsAreRefused) {
  const VendorBatchApi oa(account(Provider::OpenAI));
  for (const char* id : {"../files", "batch_1?x=1", "a/b", "batch 1", "", "..", "batch#1"}) {
    const json reply = {{"id", id}, {"status", "in_progress"}};
    EXPECT_EQ(error_of([&] { oa.parse_status(ok_reply(reply.dump())); }).code(), sqlstate::kExternal) << id;
  }
  EXPECT_EQ(error_of([&] {
              oa.parse_status(ok_reply(R"({"id":"batch_1","status":"completed","output_file_id":"file-1/../../x"})"));
            }).code(),
            sqlstate::kExternal);
  EXPECT_EQ(error_of([&] { oa.poll_request("batch_1/../../v1/files"); }).code(), sqlstate::kExternal);

  const VendorBatchApi an(account(Provider::Anthropic));
  for (const char* url : {"https://evil.example/v1/messages/batches/msgbatch_1/results",
                          "https://vendor.example.evil.example/results", "http://vendor.example/x"}) {
    const json reply = {{"id", "msgbatch_1"}, {"processing_status", "ended"}, {"results_url", url}};
    EXPECT_EQ(error_of([&] { an.parse_status(ok_reply(reply.dump())); }).code(), sqlstate::kExternal) << url;
  }
  const VendorBatchApi ge(account(Provider::Gemini));
  EXPECT_EQ(error_of([&] {
              ge.parse_status(ok_reply(R"({"name":"batches/b1","done":true,"metadata":{"state":"BATCH_STATE_SUCCEEDED"},
                  "response":{"responsesFile":"https://evil.example/f"}})"));
            }).code(),
            sqlstate::kExternal);
  EXPECT_EQ(error_of([&] { ge.parse_status(ok_reply(R"({"name":"operations/x","metadata":{}})")); }).code(),
            sqlstate::kExternal);
}

TEST(VendorBatch, HostileBodiesFailCleanly) {
  const VendorBatchApi api(account(Provider::OpenAI));
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  for (const std::string& body : {deep, std::string("not json"), std::string("[1,2]"), std::string("")}) {
    EXPECT_EQ(error_of([&] { api.parse_status(ok_reply(body)); }).code(), sqlstate::kExternal);
  }
  // Deeply nested lines are that request's missing result, not a crash.
  BatchResults results(Provider::OpenAI, {"r1", "r2"}, kKey);
  results.add_body("{\"custom_id\":\"r1\",\"response\":" + deep + "}\n" + std::string(100000, '{') + "\n");
  const auto items = results.finish(BatchState::Ended);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].outcome, ItemOutcome::Errored);
  EXPECT_EQ(items[1].outcome, ItemOutcome::Errored);
}

TEST(VendorBatch, RefusalsCarryTheVendorMessageWithoutTheKey) {
  const VendorBatchApi api(account(Provider::Anthropic));
  HttpResult r;
  r.status = 401;
  r.body = R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: )" + kKey + "\"}}";
  const Error e = error_of([&] { api.parse_status(r); });
  EXPECT_EQ(e.code(), sqlstate::kExternal);
  EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos);
  EXPECT_EQ(std::string(e.what()).find(kKey), std::string::npos);

  HttpResult down;
  down.error = "Could not connect to server";
  EXPECT_NE(std::string(error_of([&] { api.parse_status(down); }).what()).find("Could not connect"),
            std::string::npos);

  // Item errors echoing the key are redacted too.
  BatchResults results(Provider::OpenAI, {"r1"}, kKey);
  results.add_body(json{{"custom_id", "r1"},
                        {"response",
                         {{"status_code", 401}, {"body", {{"error", {{"message", "bad key " + kKey}}}}}}}}
                       .dump());
  const auto items = results.finish(BatchState::Ended);
  EXPECT_EQ(items[0].http_status, 401);
  EXPECT_EQ(items[0].error.find(kKey), std::string::npos);
  EXPECT_NE(items[0].error.find("[redacted]"), std::string::npos);
}

TEST(VendorBatch, OpenAIResultsMatchByCustomId) {
  const json reply = {{"choices", {{{"message", {{"content", "{\"pairs\":[]}"}}}, {"finish_reason", "stop"}}}},
                      {"usage", {{"prompt_tokens", 120}, {"completion_tokens", 30}}}};
  std::string body;
  body += json{{"custom_id", "r3"}, {"response", {{"status_code", 200}, {"body", reply}}}, {"error", nullptr}}.dump() + "\n";
  body += json{{"custom_id", "r1"}, {"response", nullptr},
               {"error", {{"code", "batch_expired"}, {"message", "window passed"}}}}.dump() + "\r\n";
  body += json{{"custom_id", "zz"}, {"response", {{"status_code", 200}, {"body", reply}}}}.dump() + "\n\n";
  body += json{{"custom_id", "r3"}, {"response", {{"status_code", 500}, {"body", reply}}}}.dump() + "\n";
  BatchResults results(Provider::OpenAI, {"r1", "r2", "r3"}, kKey);
  results.add_body(body);
  const auto items = results.finish(BatchState::Ended);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].outcome, ItemOutcome::Expired);
  EXPECT_EQ(items[1].outcome, ItemOutcome::Errored);  // no line for r2
  EXPECT_EQ(items[2].outcome, ItemOutcome::Succeeded);  // the first answer for r3 counts
  EXPECT_EQ(items[2].reply.text, "{\"pairs\":[]}");
  EXPECT_EQ(items[2].reply.tokens_in, 120);
  EXPECT_EQ(items[2].reply.tokens_out, 30);
  EXPECT_EQ(results.unmatched(), 1u);
  // Ids without a result take the job's fate.
  EXPECT_EQ(results.finish(BatchState::Cancelled)[1].outcome, ItemOutcome::Cancelled);
  EXPECT_EQ(results.finish(BatchState::Expired)[1].outcome, ItemOutcome::Expired);
}

TEST(VendorBatch, AnthropicAndGeminiResults) {
  BatchResults an(Provider::Anthropic, {"a", "b", "c", "d"}, kKey);
  an.add_body(R"({"custom_id":"d","result":{"type":"canceled"}}
{"custom_id":"c","result":{"type":"expired"}}
{"custom_id":"b","result":{"type":"errored","error":{"type":"error","error":{"type":"overloaded_error","message":"busy"}}}}
{"custom_id":"a","result":{"type":"succeeded","message":{"content":[{"type":"text","text":"hi"}],"stop_reason":"max_tokens","usage":{"input_tokens":9,"output_tokens":4}}}}
)");
  const auto a = an.finish(BatchState::Ended);
  EXPECT_EQ(a[0].outcome, ItemOutcome::Succeeded);
  EXPECT_TRUE(a[0].reply.truncated);
  EXPECT_EQ(a[0].reply.tokens_in, 9);
  EXPECT_EQ(a[1].outcome, ItemOutcome::Errored);
  EXPECT_NE(a[1].error.find("overloaded_error: busy"), std::string::npos);
  EXPECT_EQ(a[2].outcome, ItemOutcome::Expired);
  EXPECT_EQ(a[3].outcome, ItemOutcome::Cancelled);

  // Gemini inline: keyed by metadata; an unparseable response is that item's error.
  BatchResults ge(Provider::Gemini, {"k1", "k2", "k3"}, kKey);
  ge.add_body(R"({"name":"batches/b","done":true,"response":{"inlinedResponses":{"inlinedResponses":[
    {"metadata":{"key":"k2"},"error":{"code":8,"message":"quota"}},
    {"metadata":{"key":"k1"},"response":{"candidates":[{"content":{"parts":[{"text":"yo"}]}}],
        "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"thoughtsTokenCount":3}}},
    {"metadata":{"key":"k3"},"response":{"promptFeedback":{"blockReason":"SAFETY"}}}]}}})");
  const auto g = ge.finish(BatchState::Ended);
  EXPECT_EQ(g[0].outcome, ItemOutcome::Succeeded);
  EXPECT_EQ(g[0].reply.text, "yo");
  EXPECT_EQ(g[0].reply.tokens_out, 5);  // thinking included, as online
  EXPECT_EQ(g[1].outcome, ItemOutcome::Errored);
  EXPECT_NE(g[1].error.find("quota"), std::string::npos);
  EXPECT_EQ(g[2].outcome, ItemOutcome::Errored);
  EXPECT_NE(g[2].error.find("blocked"), std::string::npos);

  // Gemini file lines without a key are matched by position.
  BatchResults gf(Provider::Gemini, {"k1", "k2"}, kKey);
  gf.add_body("not json\n{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"2nd\"}]}}]}}\n");
  const auto f = gf.finish(BatchState::Ended);
  EXPECT_EQ(f[0].outcome, ItemOutcome::Errored);
  EXPECT_EQ(f[1].reply.text, "2nd");
}

// --- each vendor's protocol against the mock ---------------------------------------------

namespace {

class VendorBatchMock : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override { mock_ = std::make_unique<trajc_test::MockServer>(); }

  VendorBatchApi api() const { return VendorBatchApi(VendorAccount{GetParam(), mock_->url(), kKey}); }
  static BlockingHttp transport() { return BlockingHttp(HttpLimits{2000, 10000, 16u << 20}, RetryPolicy{2, 1, 5}, nullptr); }

  BatchJob job(const std::vector<std::string>& directives, const std::string& model = "mock-model",
               std::size_t inline_limit = 1u << 30) const {
    BatchJobBuilder b(GetParam(), model, {1000, 1u << 30, inline_limit});
    for (std::size_t i = 0; i < directives.size(); ++i) {
      EXPECT_TRUE(b.add("r" + std::to_string(i), prompt_for("s-" + std::to_string(i), directives[i])));
    }
    return b.take();
  }

  // Polls until final; returns the final status and how many polls it took.
  std::pair<BatchStatus, int> until_final(const VendorBatchApi& a, const BatchStatus& submitted, HttpTransport& http,
                                          std::string* reply) const {
    BatchStatus s = submitted;
    int polls = 0;
    while (!is_final(s.state) && polls < 20) {
      s = poll_batch_job(a, s.remote_id, http, reply);
      ++polls;
    }
    return {s, polls};
  }

  std::unique_ptr<trajc_test::MockServer> mock_;
};

}  // namespace

// Submit, two polls, results: each answer is what the online call answers
// for the same prompt (text and usage), so its pairs validate alike.
TEST_P(VendorBatchMock, WholeLifecycleMatchesTheOnlineAnswers) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({"", "mock:status=500", "mock:invalid"});
  const BatchStatus submitted = submit_batch_job(a, j, http);
  EXPECT_FALSE(is_final(submitted.state));
  EXPECT_FALSE(submitted.remote_id.empty());
  std::string reply;
  const auto [done, polls] = until_final(a, submitted, http, &reply);
  EXPECT_EQ(polls, 2);  // one in-progress poll, then the final one (the mock's default)
  ASSERT_EQ(done.state, BatchState::Ended);
  const auto items = fetch_batch_results(a, done, j.custom_ids, reply, http);
  ASSERT_EQ(items.size(), 3u);

  for (std::size_t i : {0u, 2u}) {
    ASSERT_EQ(items[i].outcome, ItemOutcome::Succeeded) << items[i].error;
    const std::string prompt = prompt_for("s-" + std::to_string(i), i == 2 ? "mock:invalid" : "");
    HttpMulti online(HttpLimits{2000, 10000, 16u << 20}, nullptr);
    online.add(1, build_request(GetParam(), mock_->url(), "mock-model", kKey, prompt));
    std::vector<HttpResult> r;
    while (r.empty()) r = online.poll(1000);
    const ModelReply expected = parse_reply(GetParam(), r[0].body);
    EXPECT_EQ(items[i].reply.text, expected.text);
    EXPECT_EQ(items[i].reply.tokens_in, expected.tokens_in);
    EXPECT_EQ(items[i].reply.tokens_out, expected.tokens_out);
    EXPECT_GT(items[i].reply.tokens_in, 0);
  }
  const Validation v = validate_pairs(extract_json(items[0].reply.text), 5);
  EXPECT_EQ(v.kept.size(), 2u);
  EXPECT_EQ(items[1].outcome, ItemOutcome::Errored);
  EXPECT_NE(items[1].error.find("mock error 500"), std::string::npos);
  EXPECT_EQ(items[1].error.find(kKey), std::string::npos);
}

TEST_P(VendorBatchMock, PollsAdvanceOnePerRequest) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({""}, "mock:batch_ok,polls=3");
  const BatchStatus submitted = submit_batch_job(a, j, http);
  std::string reply;
  const auto [done, polls] = until_final(a, submitted, http, &reply);
  EXPECT_EQ(polls, 4);
  EXPECT_EQ(done.state, BatchState::Ended);
  EXPECT_EQ(mock_->batches()[done.remote_id]["polls"], 4);
}

TEST_P(VendorBatchMock, ExpiryKeepsWhatFinished) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({"", "", "", ""}, "mock:batch_expire");
  std::string reply;
  const auto [done, polls] = until_final(a, submit_batch_job(a, j, http), http, &reply);
  ASSERT_TRUE(done.state == BatchState::Expired || done.state == BatchState::Ended) << batch_state_name(done.state);
  const auto items = fetch_batch_results(a, done, j.custom_ids, reply, http);
  int ok = 0, expired = 0;
  for (const ItemResult& r : items) {
    ok += r.outcome == ItemOutcome::Succeeded;
    expired += r.outcome == ItemOutcome::Expired;
  }
  // Gemini keeps nothing of an expired job; the others keep the half that ran.
  EXPECT_EQ(ok, GetParam() == Provider::Gemini ? 0 : 2);
  EXPECT_EQ(expired, GetParam() == Provider::Gemini ? 4 : 2);
}

TEST_P(VendorBatchMock, CancelledJobs) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({"", "", ""}, "mock:batch_cancel");
  std::string reply;
  const auto [done, polls] = until_final(a, submit_batch_job(a, j, http), http, &reply);
  const auto items = fetch_batch_results(a, done, j.custom_ids, reply, http);
  int cancelled = 0;
  for (const ItemResult& r : items) cancelled += r.outcome == ItemOutcome::Cancelled;
  EXPECT_EQ(cancelled, GetParam() == Provider::Gemini ? 3 : 1);
}

// A vendor refusing the job: Gemini and Anthropic at create, OpenAI when it
// validates the file.
TEST_P(VendorBatchMock, RejectedJobs) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({"", ""}, "mock:batch_reject");
  if (GetParam() == Provider::OpenAI) {
    std::string reply;
    const auto [done, polls] = until_final(a, submit_batch_job(a, j, http), http, &reply);
    EXPECT_EQ(done.state, BatchState::Failed);
    EXPECT_NE(done.error.find("mock rejected the batch"), std::string::npos);
    const auto items = fetch_batch_results(a, done, j.custom_ids, reply, http);
    EXPECT_EQ(items[0].outcome, ItemOutcome::Errored);
  } else {
    const Error e = error_of([&] { submit_batch_job(a, j, http); });
    EXPECT_EQ(e.code(), sqlstate::kExternal);
    EXPECT_NE(std::string(e.what()).find("HTTP 400"), std::string::npos);
  }
  // A refusal with a status (here: too large) fails the submission everywhere.
  const Error e = error_of([&] { submit_batch_job(a, job({""}, "mock:batch_reject=413"), http); });
  EXPECT_NE(std::string(e.what()).find("HTTP 413"), std::string::npos);
}

TEST_P(VendorBatchMock, ServerErrorsAreRetriedThenReported) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  const BatchJob j = job({""}, "mock:batch_reject=503");
  const int before = http.attempts();
  EXPECT_EQ(error_of([&] { submit_batch_job(a, j, http); }).code(), sqlstate::kExternal);
  // max_retries = 2: the create was sent three times (after one upload for OpenAI).
  EXPECT_EQ(http.attempts() - before, GetParam() == Provider::OpenAI ? 4 : 3);
}

// The vendor creates the job but the answer never comes: the create is not
// sent again (a second job), the caller learns it is unanswered, and where
// the vendor lists labels the job is found by its label.
TEST_P(VendorBatchMock, UnansweredCreateIsSentOnceAndFoundByLabel) {
  const VendorBatchApi a = api();
  BlockingHttp http = transport();
  BatchJobBuilder b(GetParam(), "mock:batch_drop", vendor_batch_limits(GetParam()));
  ASSERT_TRUE(b.add("r1", prompt_for("s-drop")));
  const BatchJob j = b.take("trajc-drop-" + std::string(provider_name(GetParam())));
  const int before = http.attempts();
  bool unanswered = false;
  EXPECT_EQ(error_of([&] { submit_batch_job(a, j, http, &unanswered); }).code(), sqlstate::kExternal);
  EXPECT_TRUE(unanswered);
  EXPECT_EQ(http.attempts() - before, GetParam() == Provider::OpenAI ? 2 : 1);  // upload, then one create
  int created = 0;  // curl itself must not have sent it again either
  const json jobs = mock_->batches();
  for (const auto& [id, b] : jobs.items()) created += b["label"] == j.label ? 1 : 0;
  if (GetParam() != Provider::Anthropic) EXPECT_EQ(created, 1);
  if (!vendor_lists_labels(GetParam())) {
    EXPECT_EQ(error_of([&] { find_batch_job(a, j.label, http); }).code(), sqlstate::kInvalidParameter);
    return;
  }
  const std::string found = find_batch_job(a, j.label, http);
  EXPECT_FALSE(found.empty());
  EXPECT_EQ(poll_batch_job(a, found, http).remote_id, found);
  EXPECT_EQ(find_batch_job(a, "trajc-never-sent", http), "");
}

TEST_P(VendorBatchMock, MissingKeyIsTheVendorsError) {
  const VendorBatchApi a(VendorAccount{GetParam(), mock_->url(), ""});
  BlockingHttp http = transport();
  const Error e = error_of([&] { submit_batch_job(a, job({""}), http); });
  EXPECT_EQ(e.code(), sqlstate::kExternal);
  EXPECT_NE(std::string(e.what()).find(GetParam() == Provider::Gemini ? "HTTP 403" : "HTTP 401"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Vendors, VendorBatchMock,
                         ::testing::Values(Provider::Gemini, Provider::OpenAI, Provider::Anthropic),
                         [](const ::testing::TestParamInfo<Provider>& info) { return provider_name(info.param); });

// Gemini with a job over the inline limit: upload through the Files API,
// results from the responses file.
TEST(VendorBatchGeminiFile, UploadsAndDownloads) {
  trajc_test::MockServer mock;
  const VendorBatchApi a(VendorAccount{Provider::Gemini, mock.url(), kKey});
  BlockingHttp http(HttpLimits{2000, 10000, 16u << 20}, RetryPolicy{0, 1, 5}, nullptr);
  BatchJobBuilder b(Provider::Gemini, "mock-model", {1000, 1u << 30, 0});
  ASSERT_TRUE(b.add("k1", prompt_for("s-1")));
  ASSERT_TRUE(b.add("k2", prompt_for("s-2", "mock:status=429")));
  const BatchJob j = b.take();
  ASSERT_TRUE(j.as_file);
  BatchStatus s = submit_batch_job(a, j, http);
  std::string reply;
  while (!is_final(s.state)) s = poll_batch_job(a, s.remote_id, http, &reply);
  EXPECT_FALSE(s.results_inline);
  ASSERT_EQ(s.result_sources.size(), 1u);
  const auto items = fetch_batch_results(a, s, j.custom_ids, reply, http);
  EXPECT_EQ(items[0].outcome, ItemOutcome::Succeeded);
  EXPECT_EQ(items[1].outcome, ItemOutcome::Errored);
  const json log = mock.requests();
  bool uploaded = false;
  for (const json& entry : log) {
    if (entry["path"] == "/upload/v1beta/files") {
      uploaded = true;
      EXPECT_EQ(entry["headers"]["X-Goog-Upload-Protocol"], "multipart");
    }
  }
  EXPECT_TRUE(uploaded);
  EXPECT_TRUE(mock.batches()[s.remote_id]["as_file"].get<bool>());
}

// Collected requests become outcomes as online replies do, at the batch price.
TEST(VendorBatch, CollectedOutcomes) {
  CompileOutcome session;
  session.session_id = "s-1";
  session.trajectory_hash = "0123456789abcdef";
  session.turn_count = 5;
  const Prices prices{0.30, 2.50};

  ItemResult ok;
  ok.custom_id = "r1";
  ok.outcome = ItemOutcome::Succeeded;
  ok.reply.text = R"({"pairs":[{"question":"What ran in turns 1 and 3?","answer":"A search, then tests.",
                    "supporting_turns":[1,3],"qa_type":"factoid"},{"question":"Bad","answer":"x",
                    "supporting_turns":[1,2],"qa_type":"factoid"}]})";
  ok.reply.tokens_in = 1000;
  ok.reply.tokens_out = 200;
  const CompileOutcome o = collected_outcome(session, ok, prices, 0.5, 5, kKey);
  EXPECT_EQ(o.status, Status::Ok);
  EXPECT_EQ(o.session_id, "s-1");
  EXPECT_EQ(o.trajectory_hash, "0123456789abcdef");
  EXPECT_EQ(o.pairs.size(), 1u);
  EXPECT_EQ(o.rejected.at("adjacent_turns"), 1);
  EXPECT_EQ(o.tokens_in, 1000);
  EXPECT_DOUBLE_EQ(o.cost_usd, (1000 * 0.30 + 200 * 2.50) / 1e6 * 0.5);
  EXPECT_EQ(o.attempts, 1);

  ItemResult expired;
  expired.outcome = ItemOutcome::Expired;
  expired.error = "window passed";
  const CompileOutcome e = collected_outcome(session, expired, prices, 0.5, 5, kKey);
  EXPECT_EQ(e.status, Status::Failed);
  EXPECT_EQ(e.cost_usd, 0);
  EXPECT_NE(e.error.find("expired"), std::string::npos);

  ItemResult bad;
  bad.outcome = ItemOutcome::Errored;
  bad.error = "denied for " + kKey;
  EXPECT_EQ(collected_outcome(session, bad, prices, 0.5, 5, kKey).error.find(kKey), std::string::npos);

  ItemResult prose = ok;
  prose.reply.text = "no JSON here";
  const CompileOutcome p = collected_outcome(session, prose, prices, 0.5, 5, kKey);
  EXPECT_EQ(p.status, Status::Failed);
  EXPECT_GT(p.cost_usd, 0);  // a reply that came is paid for, as online
}

// A collected reply is verified against the session as it was sent: the
// reloaded trajectory when it still has the hash sent (redacted again when
// the job was), unverified when it changed or could not be read.
TEST(VendorBatch, CollectedOutcomesAreVerifiedAgainstWhatWasSent) {
  Trajectory t;
  t.session_id = "s-v";
  for (int i = 1; i <= 4; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.fields = {{"path", "src/f" + std::to_string(i) + ".cpp"}, {"mail", "bob@example.com"}};
    t.turns.push_back(turn);
  }
  CompileOutcome session;
  session.session_id = "s-v";
  session.trajectory_hash = trajectory_hash(t);
  session.turn_count = 4;
  ItemResult r;
  r.outcome = ItemOutcome::Succeeded;
  r.reply.text = R"({"pairs":[{"question":"Which files changed at turns 1 and 3?","answer":"src/f1.cpp and src/f3.cpp.",
                    "supporting_turns":[1,3],"qa_type":"factoid"},{"question":"Which files changed at turns 2 and 4?",
                    "answer":"src/f2.cpp and src/f9.cpp.","supporting_turns":[2,4],"qa_type":"factoid"},
                    {"question":"Who got mail at turns 1 and 3?","answer":"[EMAIL_1] (turns 1 and 3).",
                    "supporting_turns":[1,3],"qa_type":"factoid"}]})";
  const Prices prices{0.30, 2.50};

  CollectedView view;
  view.current = &t;
  const CompileOutcome plain = collected_outcome(session, r, prices, 0.5, 5, kKey, view);
  ASSERT_EQ(plain.pairs.size(), 1u);  // f9 made up; [EMAIL_1] is not what the plain log shows
  EXPECT_EQ(plain.rejected.at("ungrounded"), 2);
  EXPECT_EQ(plain.quality.at(0).verified_by, "literal");
  EXPECT_FALSE(plain.redacted);

  view.redacted = true;
  const CompileOutcome redacted = collected_outcome(session, r, prices, 0.5, 5, kKey, view);
  ASSERT_EQ(redacted.pairs.size(), 2u);  // the placeholder pair holds against the redacted view
  EXPECT_EQ(redacted.rejected.at("ungrounded"), 1);
  EXPECT_TRUE(redacted.redacted);
  EXPECT_EQ(redacted.redactions.at("email"), 4);

  Trajectory changed = t;
  changed.turns.back().fields.push_back({"late", "x"});
  view.current = &changed;
  view.redacted = false;
  const CompileOutcome unverified = collected_outcome(session, r, prices, 0.5, 5, kKey, view);
  EXPECT_EQ(unverified.pairs.size(), 3u);
  EXPECT_TRUE(unverified.rejected.empty());
  for (const PairQuality& q : unverified.quality) EXPECT_EQ(q.verified_by, "");
  EXPECT_EQ(unverified.trajectory_hash, session.trajectory_hash);

  view.current = nullptr;
  EXPECT_EQ(collected_outcome(session, r, prices, 0.5, 5, kKey, view).pairs.size(), 3u);
}
