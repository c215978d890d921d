// Issue 9, item 1: a reply, a vendor envelope or a log value nested 10^5 to
// 10^6 levels deep ends as a clean Error (or a rejected item), never as a
// stack overflow in a parse, copy, comparison or dump.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "trajc/error.hpp"
#include "trajc/json_guard.hpp"
#include "trajc/offline.hpp"
#include "trajc/provider.hpp"
#include "trajc/qa.hpp"
#include "error_of.hpp"

namespace trajc {
namespace {

using nlohmann::json;

// n nested arrays around a number, or (objects) {"a":{"a":...1...}}.
std::string deep(std::size_t n, bool objects = false) {
  std::string s;
  s.reserve(n * 6 + 1);
  for (std::size_t i = 0; i < n; ++i) s += objects ? "{\"a\":" : "[";
  s += "1";
  for (std::size_t i = 0; i < n; ++i) s += objects ? "}" : "]";
  return s;
}

// A pair that validation would keep, carrying `extra` as the field "x".
std::string pair_with(const std::string& extra) {
  return R"({"question": "Which turns?", "answer": "1 and 3", "supporting_turns": [1, 3], )"
         R"("qa_type": "factoid", "x": )" + extra + "}";
}

// A JSON string literal holding `text` (what a vendor envelope carries).
std::string quoted(const std::string& text) { return json(text).dump(); }

class DeepNesting : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DeepNesting, ReplyFinderFailsCleanly) {
  const std::size_t n = GetParam();
  for (const std::string& reply :
       {R"({"pairs": [)" + pair_with(deep(n)) + "]}",     // the issue's shape
        R"({"pairs": [)" + pair_with(deep(n, true)) + "]}",
        "Here you go:\n" + deep(n) + "\nthanks",
        std::string(n, '[') + " and then some prose",      // never closed
        "```json\n" + deep(n, true) + "\n```"}) {
    const Error e = error_of([&] { extract_json(reply); });
    EXPECT_EQ(e.code(), sqlstate::kInvalidJson);
    EXPECT_NE(std::string(e.what()).find("nested deeper than 256"), std::string::npos) << e.what();
  }
}

TEST_P(DeepNesting, EveryVendorEnvelopeFailsCleanly) {
  const std::string d = deep(GetParam());
  const std::string pairs_text = quoted(R"({"pairs": [)" + pair_with("1") + "]}");
  const std::string gemini_ok = R"("candidates": [{"content": {"parts": [{"text": )" + pairs_text + "}]}}]";
  const std::string openai_ok = R"("choices": [{"message": {"content": )" + pairs_text + "}}]";
  const std::string anthropic_ok = R"("content": [{"type": "text", "text": )" + pairs_text + "}]";
  const struct {
    Provider p;
    std::string body;
  } cases[] = {
      // An extra field at the top, deep inside the reply's own arrays, and as the whole body.
      {Provider::Gemini, "{" + gemini_ok + R"(, "x": )" + d + "}"},
      {Provider::Gemini, R"({"candidates": [{"content": {"parts": [)" + d + "]}}]}"},
      {Provider::OpenAI, "{" + openai_ok + R"(, "x": )" + d + "}"},
      {Provider::OpenAI, R"({"choices": [{"message": {"content": "x", "tool_calls": )" + d + "}}]}"},
      {Provider::Anthropic, "{" + anthropic_ok + R"(, "x": )" + d + "}"},
      {Provider::Anthropic, R"({"content": [)" + d + "]}"},
      {Provider::Gemini, d},
      {Provider::OpenAI, deep(GetParam(), true)},
  };
  for (const auto& c : cases) {
    const Error e = error_of([&] { parse_reply(c.p, c.body); });
    EXPECT_EQ(e.code(), sqlstate::kExternal) << provider_name(c.p);
    EXPECT_NE(std::string(e.what()).find("nested deeper than 256"), std::string::npos) << e.what();
  }
}

TEST_P(DeepNesting, VendorErrorBodiesGiveABoundedMessage) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    const std::string body = R"({"error": {"message": "slow down", "details": )" + deep(GetParam()) + "}}";
    const std::string msg = vendor_error_message(p, 429, body, "KEY");
    EXPECT_EQ(msg.rfind(std::string(provider_name(p)) + " HTTP 429", 0), 0u) << msg.substr(0, 200);
    EXPECT_LT(msg.size(), 4000u);
  }
}

TEST_P(DeepNesting, ValidationRejectsADeepItemWithoutDumpingIt) {
  // A document built by a caller (here: the unguarded parser, which is
  // iterative); validation must neither copy nor dump the deep item.
  const json doc = json::parse(R"({"pairs": [)" + pair_with(deep(GetParam())) + ", " +
                               pair_with("[1]") + "]}");
  const Validation v = validate_pairs(doc, 5);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.rejected.at(reject::kMalformed), 1);
  // A lone deep pair object (the shape validation wraps in an array).
  const Validation lone = validate_pairs(json::parse(pair_with(deep(GetParam(), true))), 5);
  EXPECT_TRUE(lone.kept.empty());
  EXPECT_EQ(lone.rejected.at(reject::kMalformed), 1);
}

TEST_P(DeepNesting, OfflineCompilerTakesDeepToolArguments) {
  Trajectory t;
  t.session_id = "deep";
  for (int i = 1; i <= 6; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.agent = "coder";
    turn.fields = {{"tool", i % 2 ? "run_tests" : "edit_file"},
                   {"success", i < 5 ? "false" : "true"},
                   {"arguments", R"({"target": "t)" + std::to_string(i) + R"(", "x": )" + deep(GetParam()) + "}", true}};
    t.turns.push_back(std::move(turn));
  }
  const Validation v = validate_pairs(extract_json(offline_compile(t)), 6);
  EXPECT_FALSE(v.kept.empty());
}

INSTANTIATE_TEST_SUITE_P(TenToTheFiveAndSix, DeepNesting, ::testing::Values(100000, 1000000));

TEST(NestingLimit, AllowsModestNestingUpToTheLimit) {
  EXPECT_EQ(extract_json(R"({"pairs": [)" + pair_with(deep(250)) + "]}")["pairs"].size(), 1u);
  EXPECT_EQ(error_of([] { extract_json(R"({"pairs": [)" + pair_with(deep(260)) + "]}"); }).code(),
            sqlstate::kInvalidJson);
  CancelPoll poll(nullptr);
  EXPECT_FALSE(json_text_too_deep(deep(256), 256, poll));
  EXPECT_TRUE(json_text_too_deep(deep(257), 256, poll));
  EXPECT_FALSE(json_text_too_deep("\"[[[[\" " + deep(3), 3, poll));  // brackets in strings do not count
  EXPECT_FALSE(json_too_deep(json::parse(deep(256)), 256));
  EXPECT_TRUE(json_too_deep(json::parse(deep(257)), 256));
  EXPECT_FALSE(json_too_deep(json(5), 0));
}

}  // namespace
}  // namespace trajc
