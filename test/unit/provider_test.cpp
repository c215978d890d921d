// Wire formats of the three vendors: requests, replies, errors, redaction.
#include "trajc/provider.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>

#include "trajc/error.hpp"
#include "trajc/qa.hpp"
#include "error_of.hpp"

using nlohmann::json;
using namespace trajc;

namespace {

const std::string kKey = "sk-test-SECRET-0123456789";
const std::string kPrompt = "Session: s-1\n### Turn 1 (2026-01-02T03:04:05.000000Z, bot)\ncontent: hi";

bool has_header(const HttpRequest& r, const std::string& header) {
  return std::find(r.headers.begin(), r.headers.end(), header) != r.headers.end();
}

// Every "type" anywhere in a schema.
void collect_types(const json& schema, std::vector<std::string>& out) {
  if (schema.is_object()) {
    for (const auto& [key, value] : schema.items()) {
      if (key == "type" && value.is_string()) out.push_back(value.get<std::string>());
      collect_types(value, out);
    }
  } else if (schema.is_array()) {
    for (const auto& v : schema) collect_types(v, out);
  }
}

}  // namespace

TEST(Provider, NamesRoundTrip) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic, Provider::Offline}) {
    EXPECT_EQ(parse_provider(provider_name(p)), p);
  }
  EXPECT_EQ(parse_provider("OpenAI"), Provider::OpenAI);
  EXPECT_EQ(error_of([] { parse_provider("mistral"); }).code(), sqlstate::kInvalidParameter);
  EXPECT_EQ(default_base_url(Provider::Gemini), "https://generativelanguage.googleapis.com");
  EXPECT_EQ(default_base_url(Provider::OpenAI), "https://api.openai.com");
  EXPECT_EQ(default_base_url(Provider::Anthropic), "https://api.anthropic.com");
  EXPECT_STREQ(api_key_env_var(Provider::Anthropic), "ANTHROPIC_API_KEY");
  EXPECT_STREQ(api_key_env_var(Provider::Offline), "");
}

TEST(Provider, GeminiRequest) {
  const HttpRequest r = build_request(Provider::Gemini, "http://mock:1/", "gemini-2.5-flash", kKey, kPrompt);
  EXPECT_EQ(r.url, "http://mock:1/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(r.url.find(kKey), std::string::npos);
  EXPECT_TRUE(has_header(r, "x-goog-api-key: " + kKey));
  EXPECT_TRUE(has_header(r, "Content-Type: application/json"));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["contents"][0]["role"], "user");
  EXPECT_EQ(body["contents"][0]["parts"][0]["text"], kPrompt);
  const json& config = body["generationConfig"];
  EXPECT_EQ(config["responseMimeType"], "application/json");
  ASSERT_TRUE(config.contains("responseSchema"));
  // Gemini's schema dialect: upper-case types, no JSON-Schema-only keywords.
  std::vector<std::string> types;
  collect_types(config["responseSchema"], types);
  ASSERT_FALSE(types.empty());
  for (const std::string& t : types) {
    EXPECT_TRUE(std::none_of(t.begin(), t.end(), [](unsigned char c) { return std::islower(c); })) << t;
  }
  EXPECT_EQ(config["responseSchema"]["type"], "OBJECT");
  EXPECT_EQ(config["responseSchema"].dump().find("additionalProperties"), std::string::npos);
  EXPECT_EQ(config["responseSchema"].dump().find("$schema"), std::string::npos);
  EXPECT_TRUE(config["responseSchema"]["properties"].contains("pairs"));
}

TEST(Provider, GeminiDefaultsAndModelNames) {
  EXPECT_EQ(build_request(Provider::Gemini, "", "gemini-x", kKey, kPrompt).url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-x:generateContent");
  EXPECT_EQ(build_request(Provider::Gemini, "http://h", "models/gemini-x", kKey, kPrompt).url,
            "http://h/v1beta/models/gemini-x:generateContent");
  // A model name cannot add a query string (where a key would leak into logs),
  // nor leave its segment (see secrets_test.cpp); other odd bytes are encoded.
  EXPECT_EQ(error_of([] { build_request(Provider::Gemini, "http://h", "m?key=x#y z", kKey, kPrompt); }).code(),
            sqlstate::kInvalidParameter);
  EXPECT_EQ(build_request(Provider::Gemini, "http://h", "m\xC3\xA9<x>", kKey, kPrompt).url,
            "http://h/v1beta/models/m%C3%A9%3Cx%3E:generateContent");
  // JSON mode without a schema.
  const json body = json::parse(build_request(Provider::Gemini, "", "g", kKey, kPrompt, false).body);
  EXPECT_EQ(body["generationConfig"], json({{"responseMimeType", "application/json"}}));
}

TEST(Provider, OpenAIRequest) {
  const HttpRequest r = build_request(Provider::OpenAI, "http://mock:1", "gpt-4o-mini", kKey, kPrompt);
  EXPECT_EQ(r.url, "http://mock:1/v1/chat/completions");
  EXPECT_EQ(r.url.find(kKey), std::string::npos);
  EXPECT_TRUE(has_header(r, "Authorization: Bearer " + kKey));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["model"], "gpt-4o-mini");
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"], kPrompt);
  const json& format = body["response_format"];
  EXPECT_EQ(format["type"], "json_schema");
  EXPECT_FALSE(format["json_schema"]["name"].get<std::string>().empty());
  EXPECT_EQ(format["json_schema"]["schema"], qa_schema());

  const json plain = json::parse(build_request(Provider::OpenAI, "", "m", kKey, kPrompt, false).body);
  EXPECT_EQ(plain["response_format"], json({{"type", "json_object"}}));
  EXPECT_EQ(build_request(Provider::OpenAI, "", "m", kKey, kPrompt).url, "https://api.openai.com/v1/chat/completions");
}

TEST(Provider, AnthropicRequest) {
  const HttpRequest r = build_request(Provider::Anthropic, "http://mock:1", "claude-haiku", kKey, kPrompt);
  EXPECT_EQ(r.url, "http://mock:1/v1/messages");
  EXPECT_EQ(r.url.find(kKey), std::string::npos);
  EXPECT_TRUE(has_header(r, "x-api-key: " + kKey));
  EXPECT_TRUE(has_header(r, "anthropic-version: 2023-06-01"));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["model"], "claude-haiku");
  EXPECT_GT(body["max_tokens"].get<long>(), 1000);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"], kPrompt);
}

// The prompt is escaped by hand into the body (issue 16: nlohmann's dump was
// the largest cost per session): every character must survive the trip, as
// nlohmann would have written it, for every vendor.
TEST(Provider, PromptTextSurvivesTheBodyExactly) {
  const std::string tricky = std::string("quote \" backslash \\ slash / tab \t cr \r nl \n ") +
                             "nul " + std::string(1, '\0') + " bell \x07 esc \x1b del \x7f " +
                             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\u0041 end";
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    const HttpRequest r = build_request(p, "http://h", "m", kKey, tricky);
    const json body = json::parse(r.body);
    const json& text = p == Provider::Gemini ? body["contents"][0]["parts"][0]["text"]
                                             : body["messages"][0]["content"];
    EXPECT_EQ(text.get<std::string>(), tricky) << provider_name(p);
  }
}

TEST(Provider, PromptWithInvalidUtf8OrAModelNamedLikeTheMarkerStillBuilds) {
  // Invalid UTF-8 (a cut character, a lone continuation byte, an overlong
  // form) is replaced, as before, and the body stays valid JSON.
  const std::string invalid = "cut \xe2\x82 lone \x80 overlong \xc0\xaf end";
  const json body = json::parse(build_request(Provider::OpenAI, "", "m", kKey, invalid).body);
  const json replaced =
      json::parse(json(invalid).dump(-1, ' ', false, json::error_handler_t::replace));
  EXPECT_EQ(body["messages"][0]["content"], replaced);
  EXPECT_NE(replaced.get<std::string>(), invalid);
  // A model name that holds the prompt's marker leaves both in place.
  const std::string model = "\x01trajc prompt\x01";
  const json odd = json::parse(build_request(Provider::OpenAI, "", model, kKey, kPrompt).body);
  EXPECT_EQ(odd["model"].get<std::string>(), model);
  EXPECT_EQ(odd["messages"][0]["content"].get<std::string>(), kPrompt);
}

TEST(Provider, OfflineHasNoWireFormat) {
  EXPECT_THROW(build_request(Provider::Offline, "", "", "", kPrompt), Error);
  EXPECT_THROW(parse_reply(Provider::Offline, "{}"), Error);
}

TEST(Provider, ParsesGeminiReplyWithThinking) {
  const std::string body = R"({
    "candidates": [{"content": {"role": "model", "parts": [
        {"text": "let me think", "thought": true}, {"text": "{\"pairs\""}, {"text": ": []}"}]},
      "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 30}})";
  const ModelReply r = parse_reply(Provider::Gemini, body);
  EXPECT_EQ(r.text, R"({"pairs": []})");
  EXPECT_EQ(r.tokens_in, 100);
  EXPECT_EQ(r.tokens_out, 50);
  EXPECT_FALSE(r.truncated);

  const ModelReply cut = parse_reply(Provider::Gemini, R"({"candidates": [{"finishReason": "MAX_TOKENS"}]})");
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.text, "");
  EXPECT_EQ(cut.tokens_in, 0);
}

TEST(Provider, GeminiBlockedPromptIsAnError) {
  const Error e = error_of([] {
    parse_reply(Provider::Gemini, R"({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}})");
  });
  EXPECT_EQ(e.code(), sqlstate::kExternal);
  EXPECT_NE(std::string(e.what()).find("SAFETY"), std::string::npos);
}

TEST(Provider, ParsesOpenAIReply) {
  const ModelReply r = parse_reply(Provider::OpenAI, R"({
    "choices": [{"message": {"role": "assistant", "content": "{\"pairs\": []}"}, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}})");
  EXPECT_EQ(r.text, R"({"pairs": []})");
  EXPECT_EQ(r.tokens_in, 11);
  EXPECT_EQ(r.tokens_out, 22);
  EXPECT_TRUE(r.truncated);

  const ModelReply null_content = parse_reply(
      Provider::OpenAI, R"({"choices": [{"message": {"content": null}, "finish_reason": "stop"}]})");
  EXPECT_EQ(null_content.text, "");
  EXPECT_FALSE(null_content.truncated);
}

TEST(Provider, ParsesAnthropicReply) {
  const ModelReply r = parse_reply(Provider::Anthropic, R"({
    "type": "message", "content": [{"type": "thinking", "thinking": "hmm"},
      {"type": "text", "text": "{\"pairs\""}, {"type": "text", "text": ": []}"}],
    "stop_reason": "max_tokens", "usage": {"input_tokens": 5, "output_tokens": 6}})");
  EXPECT_EQ(r.text, R"({"pairs": []})");
  EXPECT_EQ(r.tokens_in, 5);
  EXPECT_EQ(r.tokens_out, 6);
  EXPECT_TRUE(r.truncated);
  EXPECT_FALSE(parse_reply(Provider::Anthropic, R"({"content": [], "stop_reason": "end_turn"})").truncated);
}

TEST(Provider, RejectsBodiesOfTheWrongShape) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    EXPECT_EQ(error_of([&] { parse_reply(p, "<html>oops</html>"); }).code(), sqlstate::kExternal);
    EXPECT_EQ(error_of([&] { parse_reply(p, "[1, 2]"); }).code(), sqlstate::kExternal);
    EXPECT_EQ(error_of([&] { parse_reply(p, R"({"something": "else"})"); }).code(), sqlstate::kExternal);
  }
}

TEST(Provider, VendorErrorMessagesAreRedacted) {
  const std::string gemini = R"({"error": {"code": 400, "message": "API key not valid: )" + kKey +
                             R"(", "status": "INVALID_ARGUMENT"}})";
  const std::string openai = R"({"error": {"message": "Incorrect API key provided: )" + kKey +
                             R"(.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})";
  const std::string anthropic = R"({"type": "error", "error": {"type": "authentication_error", "message": "bad key )" +
                                kKey + R"("}})";
  EXPECT_EQ(vendor_error_message(Provider::Gemini, 400, gemini, kKey),
            "gemini HTTP 400: API key not valid: [redacted]");
  EXPECT_EQ(vendor_error_message(Provider::OpenAI, 401, openai, kKey),
            "openai HTTP 401: Incorrect API key provided: [redacted].");
  EXPECT_EQ(vendor_error_message(Provider::Anthropic, 401, anthropic, kKey),
            "anthropic HTTP 401: bad key [redacted]");
}

TEST(Provider, VendorErrorWithoutJsonQuotesTheBodyRedacted) {
  // The key sits across the cut point: redaction happens before cutting.
  const std::string body = std::string(295, 'x') + kKey + std::string(500, 'y');
  const std::string msg = vendor_error_message(Provider::OpenAI, 502, body, kKey);
  EXPECT_EQ(msg.find(kKey.substr(0, 5)), std::string::npos);
  EXPECT_EQ(msg.rfind("openai HTTP 502: xxx", 0), 0u);
  EXPECT_LT(msg.size(), 400u);
  EXPECT_EQ(vendor_error_message(Provider::Gemini, 503, "", kKey), "gemini HTTP 503");
  EXPECT_EQ(vendor_error_message(Provider::Gemini, 500, "line1\nline2", ""), "gemini HTTP 500: line1 line2");
}

TEST(Provider, RecognisesSchemaRejection) {
  const std::string body = R"({"error": {"message": "response_format json_schema is not supported"}})";
  EXPECT_TRUE(rejects_json_schema(Provider::OpenAI, 400, body));
  EXPECT_TRUE(rejects_json_schema(Provider::OpenAI, 400, R"({"error": {"message": "Invalid schema for response_format 'qa'"}})"));
  EXPECT_FALSE(rejects_json_schema(Provider::OpenAI, 400, R"({"error": {"message": "prompt too long"}})"));
  EXPECT_FALSE(rejects_json_schema(Provider::OpenAI, 500, body));
  EXPECT_FALSE(rejects_json_schema(Provider::Gemini, 400, body));
}

TEST(Provider, Redact) {
  EXPECT_EQ(redact("a KEY b KEY", "KEY"), "a [redacted] b [redacted]");
  EXPECT_EQ(redact("aaaa", "aa"), "[redacted][redacted]");
  EXPECT_EQ(redact("nothing here", ""), "nothing here");
  EXPECT_EQ(redact("x", "redacted"), "x");
}
