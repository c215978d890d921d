// Issue 9, items 3 and 5: a key echoed in any encoding is redacted from
// every text the core returns; a model name stays inside its own path
// segment; wrong-typed envelope fields are ignored, never thrown.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "trajc/error.hpp"
#include "trajc/provider.hpp"
#include "trajc/safe_text.hpp"
#include "error_of.hpp"

namespace trajc {
namespace {

using nlohmann::json;

const std::string kKey = "sk-proj_A1/b+C2=";

std::string hex4(unsigned char c) {
  static const char* kHex = "0123456789abcdef";
  return std::string("\\u00") + kHex[c >> 4] + kHex[c & 15];
}

// Every form a server might echo the key in.
std::vector<std::string> echoes(const std::string& key) {
  std::string all_escaped, every_other, upper_hex, percent, percent_mixed, slash_escaped, double_escaped;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const unsigned char c = key[i];
    all_escaped += hex4(c);
    every_other += i % 2 ? std::string(1, c) : hex4(c);
    std::string h = hex4(c);
    for (char& x : h) x = static_cast<char>(std::toupper(static_cast<unsigned char>(x)));
    upper_hex += "\\u" + h.substr(2);
    char pct[4];
    std::snprintf(pct, sizeof pct, "%%%02X", c);
    percent += pct;
    percent_mixed += i % 3 ? std::string(1, c) : std::string(pct);
    slash_escaped += c == '/' ? std::string("\\/") : std::string(1, c);
    double_escaped += "\\" + hex4(c);  // JSON inside a JSON string
  }
  return {key, all_escaped, every_other, upper_hex, percent, percent_mixed, slash_escaped, double_escaped};
}

TEST(Redact, EveryEncodingOfTheKey) {
  for (const std::string& echo : echoes(kKey)) {
    const std::string out = redact("before " + echo + " after", kKey);
    EXPECT_EQ(out, "before [redacted] after") << echo;
  }
  EXPECT_EQ(redact("a KEY b KEY", "KEY"), "a [redacted] b [redacted]");
  EXPECT_EQ(redact("sk-proj_A1/b+C2", kKey), "sk-proj_A1/b+C2");  // a prefix is not the key
  EXPECT_EQ(redact("%zz\\u00zz\\", kKey), "%zz\\u00zz\\");         // broken escapes stay as they are
  // A plain key right after what reads as an escape is still the key.
  EXPECT_EQ(redact("t%deadbeef-1 u\\u00beefcafe-2", "deadbeef-1"), "t%[redacted] u\\u00beefcafe-2");
  EXPECT_EQ(redact("x\\u0062eefcafe-2", "beefcafe-2"), "x[redacted]");
}

TEST(Redact, VendorErrorsInAnyEncoding) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    for (const std::string& echo : echoes(kKey)) {
      // As a JSON message (decoded once by parsing), as a non-JSON body, and URL-encoded in a link.
      for (const std::string& body :
           {R"({"error": {"message": "bad key )" + echo + R"("}})", "<html>bad key " + echo + "</html>",
            R"({"error": {"message": "see https://x.test/keys?k=)" + echo + R"("}})"}) {
        const std::string msg = vendor_error_message(p, 401, body, kKey);
        EXPECT_EQ(msg.find("proj"), std::string::npos) << msg;
        EXPECT_NE(msg.find("[redacted]"), std::string::npos) << msg;
      }
    }
  }
}

TEST(SafeErrors, VendorMessagesAreBoundedValidAndNulFree) {
  const std::string huge = R"({"error": {"message": ")" + std::string(5 << 20, 'x') + R"("}})";
  const std::string with_nul = R"({"error": {"message": "a\u0000b"}})";
  const std::string bad_utf8("oops \xff\xfe\x00 caf\xc3", 13);
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    for (const std::string& body : {huge, with_nul, bad_utf8}) {
      const std::string msg = vendor_error_message(p, 500, body, kKey);
      EXPECT_LE(msg.size(), kMaxErrorBytes);
      EXPECT_EQ(msg.find('\0'), std::string::npos);
      EXPECT_EQ(safe_text(msg), msg) << "not valid UTF-8";
    }
  }
  // Text the vendor sends inside other errors is bounded too.
  try {
    parse_reply(Provider::OpenAI, R"({"choices": [{"message": {"refusal": ")" + std::string(1 << 20, 'r') + R"("}}]})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_LE(std::string(e.what()).size(), kMaxErrorBytes);
  }
}

TEST(ModelNames, GeminiRefusesNamesThatLeaveTheirSegment) {
  for (const std::string& model : std::vector<std::string>{"../../v1beta/other", "..", ".", "a/../b", "models/../../x", "gemini/x", "m?key=x", "m#frag",
        "m%2e%2e", "m%2Fx", "m x", "m\tx", "m\nx", std::string("m\0x", 3), "m\x7f", "a\\b", "",
        "models/", "tunedModels/..", "m..x"}) {
    const Error e = error_of([&] { build_request(Provider::Gemini, "http://h", model, "k", "p"); });
    EXPECT_EQ(e.code(), sqlstate::kInvalidParameter) << model;
  }
  for (const char* model : {"gemini-2.5-flash", "gemini-exp-1206", "models/gemini-1.5-pro-002",
                            "tunedModels/my-model_v1.2"}) {
    const HttpRequest r = build_request(Provider::Gemini, "http://h", model, "k", "p");
    EXPECT_EQ(r.url.rfind("http://h/v1beta/", 0), 0u) << r.url;
    EXPECT_EQ(r.url.substr(r.url.size() - 16), ":generateContent") << r.url;
  }
}

TEST(ModelNames, OpenAIAndAnthropicKeepTheModelOutOfTheUrl) {
  for (Provider p : {Provider::OpenAI, Provider::Anthropic}) {
    const std::string path = p == Provider::OpenAI ? "/v1/chat/completions" : "/v1/messages";
    for (const std::string model : {"../../x", "m?key=x#y", "meta-llama/Llama-3-8B", "m%2e%2e/x"}) {
      const HttpRequest r = build_request(p, "http://h", model, "k", "p");
      EXPECT_EQ(r.url, "http://h" + path) << model;
      EXPECT_EQ(json::parse(r.body)["model"], model);
    }
  }
}

TEST(WrongTypes, EnvelopeFieldsOfTheWrongTypeAreIgnored) {
  const std::string text = R"({\"pairs\": []})";
  const ModelReply gemini = parse_reply(Provider::Gemini, R"({"candidates": [{"content": {"parts": [
      {"text": "hmm", "thought": "yes"}, {"text": ")" + text + R"(", "thought": "no"}, {"text": 5}, 7]},
      "finishReason": 3}], "usageMetadata": {"promptTokenCount": "1", "thoughtsTokenCount": [2]}})");
  // Only a boolean true marks a thought; "yes" is no boolean.
  EXPECT_EQ(gemini.text, R"(hmm{"pairs": []})");
  EXPECT_EQ(gemini.tokens_in, 0);
  const ModelReply openai = parse_reply(Provider::OpenAI, R"({"choices": [{"message": {"content": ")" + text +
                                                              R"(", "refusal": 5}, "finish_reason": 1}],
      "usage": {"prompt_tokens": -50, "completion_tokens": 1.5}})");
  EXPECT_EQ(openai.text, R"({"pairs": []})");
  EXPECT_EQ(openai.tokens_in, 0);  // a negative count is no count
  const ModelReply anthropic = parse_reply(Provider::Anthropic, R"({"content": [{"type": 1}, "x",
      {"type": "text", "text": ")" + text + R"("}], "stop_reason": [], "usage": {"output_tokens": 1e300}})");
  EXPECT_EQ(anthropic.text, R"({"pairs": []})");
  EXPECT_EQ(anthropic.tokens_out, 0);
}

}  // namespace
}  // namespace trajc
