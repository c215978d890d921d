#include "trajc/trajectory.hpp"

#include <gtest/gtest.h>

namespace trajc {
namespace {

Turn turn(int number, std::string at, std::vector<Field> fields) {
  Turn t;
  t.number = number;
  t.at = std::move(at);
  t.fields = std::move(fields);
  return t;
}

TEST(RenderTurn, NameValueLinesInOrderWithoutTrailingNewline) {
  const std::vector<Field> fields = {
      {"tool", "search"}, {"success", "true"}, {"response", "line 1\nline 2"}};
  EXPECT_EQ(render_turn(fields), "tool: search\nsuccess: true\nresponse: line 1\nline 2");
}

TEST(RenderTurn, EmptyFieldListRendersEmpty) { EXPECT_EQ(render_turn({}), ""); }

TEST(RenderTurn, CompactsJsonFieldsOnly) {
  const std::vector<Field> fields = {{"arguments", R"({"b": 1, "a": [1, 2]})", true},
                                     {"note", R"({"b": 1})", false}};
  EXPECT_EQ(render_turn(fields), "arguments: {\"b\":1,\"a\":[1,2]}\nnote: {\"b\": 1}");
}

TEST(CompactJson, KeepsKeyOrderAndStringContent) {
  EXPECT_EQ(compact_json(R"({ "z": "a  b", "a": {"y": null, "x": [ true, false ]} })"),
            R"({"z":"a  b","a":{"y":null,"x":[true,false]}})");
}

TEST(CompactJson, KeepsNumbersAndEscapesAsWritten) {
  // A reparse would print 1.5 and é: answers quote the stored text.
  EXPECT_EQ(
      compact_json(R"({"price": 1.50, "big": 12345678901234567890123, "s": "\u00e9 \"q\" \\"})"),
      R"({"price":1.50,"big":12345678901234567890123,"s":"\u00e9 \"q\" \\"})");
}

TEST(CompactJson, ScalarsAndSurroundingWhitespace) {
  EXPECT_EQ(compact_json("  42 \n"), "42");
  EXPECT_EQ(compact_json(R"( "x y" )"), R"("x y")");
}

TEST(CompactJson, InvalidJsonPassesThroughUnchanged) {
  for (const std::string bad : {"{not json", "", "{\"a\": 1} trailing", "[1, 2,]", "'single'"}) {
    EXPECT_EQ(compact_json(bad), bad);
  }
}

TEST(CompactJson, Utf8IsKept) {
  EXPECT_EQ(compact_json("{\"city\": \"Z\xc3\xbcrich\"}"), "{\"city\":\"Z\xc3\xbcrich\"}");
}

TEST(DisplayValue, CompactsJsonIntoScratch) {
  std::string scratch;
  const Field text{"response", "a  b"};
  EXPECT_EQ(display_value(text, scratch), "a  b");
  const Field json{"arguments", "[1, 2]", true};
  EXPECT_EQ(display_value(json, scratch), "[1,2]");
}

Trajectory sample() {
  Trajectory t;
  t.session_id = "s-1";
  t.turns.push_back(turn(1, "2026-01-02T03:04:05.000000Z", {{"tool", "search"}}));
  t.turns.push_back(turn(2, "2026-01-02T03:04:06.000000Z", {{"arguments", R"({"q": "x"})", true}}));
  return t;
}

TEST(TrajectoryHash, SixteenLowercaseHexDigitsAndDeterministic) {
  const std::string h = trajectory_hash(sample());
  ASSERT_EQ(h.size(), 16u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(trajectory_hash(sample()), h);
}

TEST(TrajectoryHash, EmptyTrajectoryIsFnvOffsetBasis) {
  EXPECT_EQ(trajectory_hash(Trajectory{}), "cbf29ce484222325");
}

TEST(TrajectoryHash, ChangesWithTimesContentAndNewTurns) {
  const std::string base = trajectory_hash(sample());
  Trajectory changed_time = sample();
  changed_time.turns[1].at = "2026-01-02T03:04:07.000000Z";
  Trajectory changed_value = sample();
  changed_value.turns[0].fields[0].value = "read_file";
  Trajectory longer = sample();
  longer.turns.push_back(turn(3, "2026-01-02T03:04:08.000000Z", {{"tool", "search"}}));
  EXPECT_NE(trajectory_hash(changed_time), base);
  EXPECT_NE(trajectory_hash(changed_value), base);
  EXPECT_NE(trajectory_hash(longer), base);
}

TEST(TrajectoryHash, IgnoresJsonWhitespaceAndSessionMetadata) {
  Trajectory spaced = sample();
  spaced.turns[1].fields[0].value = R"({ "q" :  "x" })";
  spaced.session_id = "other";
  spaced.agent = "someone";
  EXPECT_EQ(trajectory_hash(spaced), trajectory_hash(sample()));
}

TEST(TrajectoryHash, SeparatorsKeepTurnBoundaries) {
  Trajectory a;
  a.turns = {turn(1, "t", {{"x", "ab"}}), turn(2, "t", {{"x", "c"}})};
  Trajectory b;
  b.turns = {turn(1, "t", {{"x", "a"}}), turn(2, "t", {{"x", "bc"}})};
  EXPECT_NE(trajectory_hash(a), trajectory_hash(b));
}

}  // namespace
}  // namespace trajc
