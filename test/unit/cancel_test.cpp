// Issue 9, item 2: the reply finder, the vendor parsers, validation and the
// offline compiler poll the caller's cancel check while they work (no timing
// here: a check that says "cancel" from its n-th call on must stop the work),
// and the finder takes each candidate document in one pass.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "trajc/error.hpp"
#include "trajc/offline.hpp"
#include "trajc/provider.hpp"
#include "trajc/qa.hpp"

namespace trajc {
namespace {

using nlohmann::json;

int g_calls = 0;
int g_cancel_from = 1;  // the call (1-based) from which the check says "cancel"
bool cancel_from_nth_call() { return ++g_calls >= g_cancel_from; }

void expect_canceled_at(int nth, const std::function<void(CancelCheck)>& work) {
  g_calls = 0;
  g_cancel_from = nth;
  try {
    work(cancel_from_nth_call);
    ADD_FAILURE() << "not canceled (cancel checked " << g_calls << " times, cancel from call " << nth << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kQueryCanceled) << e.what();
  }
  EXPECT_GE(g_calls, nth);
}

// One session of n turns, each calling a tool of its own name: the shape that
// made a linear search per turn quadratic.
Trajectory distinct_tools(int n) {
  Trajectory t;
  t.session_id = "many-tools";
  t.agent = "agent";
  t.turns.reserve(n);
  for (int i = 1; i <= n; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:05.000000Z";
    turn.agent = "agent";
    turn.fields = {{"tool", "tool_" + std::to_string(i)},
                   {"success", i % 3 ? "true" : "false"},
                   {"arguments", R"({"n": )" + std::to_string(i) + "}", true},
                   {"content", "step " + std::to_string(i) + " read file_" + std::to_string(i) + ".txt"}};
    t.turns.push_back(std::move(turn));
  }
  return t;
}

std::string pairs_reply(int pairs) {
  std::string s = R"({"pairs": [)";
  for (int i = 0; i < pairs; ++i) {
    if (i) s += ", ";
    s += R"({"question": "q)" + std::to_string(i) +
         R"(", "answer": "a", "supporting_turns": [1, 3], "qa_type": "factoid"})";
  }
  return s + "]}";
}

TEST(Cancel, ASetFlagStopsEveryParserAtOnce) {
  const std::string reply = pairs_reply(3);
  const std::string envelope = R"({"choices": [{"message": {"content": )" + json(reply).dump() + "}}]}";
  expect_canceled_at(1, [&](CancelCheck c) { extract_json(reply, c); });
  expect_canceled_at(1, [&](CancelCheck c) { validate_pairs(json::parse(reply), 5, 5, c); });
  expect_canceled_at(1, [&](CancelCheck c) { parse_reply(Provider::OpenAI, envelope, c); });
  expect_canceled_at(1, [&](CancelCheck c) { offline_compile(distinct_tools(10), 5, c); });
}

TEST(Cancel, OfflineCompilerChecksWhileItWorks) {
  const Trajectory t = distinct_tools(20000);
  expect_canceled_at(3, [&](CancelCheck c) { offline_compile(t, 5, c); });
}

TEST(Cancel, ReplyFinderChecksWhileItWorks) {
  // Prose with many bracketed fragments, then the reply at the very end.
  std::string text;
  while (text.size() < (4u << 20)) text += "see [note 1] and {the figure} ";
  text += pairs_reply(2);
  expect_canceled_at(3, [&](CancelCheck c) { extract_json(text, c); });
  EXPECT_EQ(extract_json(text)["pairs"].size(), 2u);  // and without cancel, it is found
}

TEST(Cancel, ParsersCheckWhileTheyWork) {
  const std::string reply = pairs_reply(40000);  // a few MB
  const std::string envelope = R"({"content": [{"type": "text", "text": )" + json(reply).dump() + "}]}";
  expect_canceled_at(3, [&](CancelCheck c) { parse_reply(Provider::Anthropic, envelope, c); });
  expect_canceled_at(3, [&](CancelCheck c) { extract_json(reply, c); });
  const json doc = json::parse(reply);
  expect_canceled_at(3, [&](CancelCheck c) { validate_pairs(doc, 5, 5, c); });
}

// The finder's one pass keeps what the re-parsing one found.
TEST(ReplyFinder, RecoversTheArrayOfABrokenObject) {
  const json doc = extract_json(R"(Result: {"pairs": [{"question": "q"}], oops})");
  ASSERT_TRUE(doc.is_array());
  EXPECT_EQ(doc[0]["question"], "q");
}

TEST(ReplyFinder, UnclosedProseBracketsDoNotHideTheReply) {
  EXPECT_EQ(extract_json(R"(Turn [3 said "hi". Here: {"pairs": []})"), json::parse(R"({"pairs": []})"));
  EXPECT_EQ(extract_json(R"([1 [2 x {"pairs": []}])"), json::parse(R"({"pairs": []})"));
  EXPECT_EQ(extract_json(R"([tru[1]] and {"a": 1})"), json::parse(R"({"a": 1})"));
  // Within the nesting limit, many unclosed brackets are prose too.
  std::string prose;
  for (int i = 0; i < 2000; ++i) prose += std::string(200, '[') + " text ";
  EXPECT_EQ(extract_json(prose + R"({"pairs": []})"), json::parse(R"({"pairs": []})"));
  std::string opened;
  for (int i = 0; i < 200; ++i) opened += "[1, ";
  EXPECT_EQ(extract_json(opened + "x " + R"({"pairs": []})"), json::parse(R"({"pairs": []})"));
}

TEST(ReplyFinder, ATruncatedDocumentAfterGarbageIsStillTruncation) {
  try {
    extract_json(R"(see [x] then {"pairs": [{"question": "q")");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trajc
