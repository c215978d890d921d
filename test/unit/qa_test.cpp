#include "trajc/qa.hpp"

#include <gtest/gtest.h>

#include "trajc/error.hpp"

namespace trajc {
namespace {

using nlohmann::json;

// The message of the Error(kInvalidJson) that extract_json throws, or "" if none.
std::string extract_error(const std::string& text) {
  try {
    extract_json(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kInvalidJson);
    return e.what();
  }
  return "";
}

json pair(const std::string& question, std::vector<int> turns, const std::string& type = "factoid",
          const std::string& answer = "an answer") {
  return {
      {"question", question}, {"answer", answer}, {"supporting_turns", turns}, {"qa_type", type}};
}

TEST(QaTypes, KnowsTheFourLowerCaseTypes) {
  for (const char* type : kQaTypes) EXPECT_TRUE(is_qa_type(type));
  EXPECT_FALSE(is_qa_type("Factoid"));
  EXPECT_FALSE(is_qa_type("opinion"));
  EXPECT_FALSE(is_qa_type(""));
}

TEST(QaSchema, DescribesThePairsObject) {
  const json& s = qa_schema();
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["required"], json::array({"pairs"}));
  const json& item = s["properties"]["pairs"]["items"];
  EXPECT_EQ(s["properties"]["pairs"]["type"], "array");
  EXPECT_EQ(item["type"], "object");
  EXPECT_EQ(item["required"], json::array({"question", "answer", "supporting_turns", "qa_type"}));
  EXPECT_EQ(item["properties"]["supporting_turns"]["items"]["type"], "integer");
  EXPECT_EQ(item["properties"]["qa_type"]["enum"],
            json::array({"factoid", "reasoning", "composition", "temporal"}));
  EXPECT_EQ(s.dump().find("additionalProperties"), std::string::npos);  // Gemini rejects it
  EXPECT_EQ(&qa_schema(), &s);
}

TEST(ExtractJson, PureJson) {
  EXPECT_EQ(extract_json(R"({"pairs": []})"), json::parse(R"({"pairs": []})"));
  EXPECT_EQ(extract_json(" [1, 2] \n"), json::parse("[1, 2]"));
}

TEST(ExtractJson, MarkdownFence) {
  EXPECT_EQ(extract_json("```json\n{\"pairs\": [{\"a\": 1}]}\n```"),
            json::parse(R"({"pairs": [{"a": 1}]})"));
}

TEST(ExtractJson, ProseAroundWithBracesInStrings) {
  const std::string reply =
      "Sure! Here are the pairs:\n{\"pairs\": [{\"question\": \"Why } or ] or {?\", \"n\": "
      "\"\\\"}\"}]}\n"
      "Let me know if you need more {details}.";
  const json doc = extract_json(reply);
  EXPECT_EQ(doc["pairs"][0]["question"], "Why } or ] or {?");
  EXPECT_EQ(doc["pairs"][0]["n"], "\"}");
}

TEST(ExtractJson, SkipsProseBracketsThatAreNotTheReply) {
  EXPECT_EQ(extract_json("See {this} and turn [3]: {\"pairs\": []}"),
            json::parse(R"({"pairs": []})"));
  EXPECT_EQ(extract_json("Only [3] here."),
            json::parse("[3]"));  // nothing better: the first document
}

TEST(ExtractJson, ErrorsNameTheProblem) {
  EXPECT_EQ(extract_error(""), "empty reply");
  EXPECT_EQ(extract_error(" \n\t"), "empty reply");
  EXPECT_NE(extract_error("I could not find any questions.").find("no JSON in reply"),
            std::string::npos);
  EXPECT_NE(extract_error("{not json} {\"pairs\": [").find("truncated JSON"), std::string::npos);
  EXPECT_NE(extract_error("```json\n{\"pairs\": [{\"question\": \"Wh").find("truncated JSON"),
            std::string::npos);
  EXPECT_NE(extract_error("{\"pairs\": [1, 2").find("truncated JSON"), std::string::npos);
}

TEST(ValidatePairs, KeepsAGroundedPair) {
  const json item = pair("  Which tool ran first?  ", {9, 3, 3}, "Temporal", " search ");
  const Validation v = validate_pairs({{"pairs", {item}}}, 10);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.rejected_total(), 0);
  const QaPair& p = v.kept[0];
  EXPECT_EQ(p.question, "Which tool ran first?");
  EXPECT_EQ(p.answer, "search");
  EXPECT_EQ(p.supporting_turns, (std::vector<int>{3, 9}));
  EXPECT_EQ(p.qa_type, "temporal");
  EXPECT_EQ(p.raw_json, item.dump());  // the model's item, compact
}

TEST(ValidatePairs, AcceptsBareArrayAndRenamedArray) {
  const json items = json::array({pair("q1", {1, 3}), pair("q2", {2, 5})});
  EXPECT_EQ(validate_pairs(items, 5).kept.size(), 2u);
  EXPECT_EQ(validate_pairs({{"questions", items}, {"note", "x"}}, 5).kept.size(), 2u);
  EXPECT_EQ(validate_pairs({{"pairs", json::array()}}, 5).rejected_total(), 0);
}

TEST(ValidatePairs, AcceptsALonePairObject) {
  // Its supporting_turns is its only array: not to be read as a list of pairs.
  const Validation v = validate_pairs(pair("q", {1, 3}), 5);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.kept[0].supporting_turns, (std::vector<int>{1, 3}));
}

TEST(ValidatePairs, DocumentWithoutPairsIsOneMalformedRejection) {
  for (const json& doc :
       {json("text"), json{{"a", 1}}, json{{"a", json::array()}, {"b", json::array()}}}) {
    const Validation v = validate_pairs(doc, 5);
    EXPECT_TRUE(v.kept.empty());
    EXPECT_EQ(v.rejected.at(reject::kMalformed), 1) << doc.dump();
  }
}

TEST(ValidatePairs, CountsEveryRejectionByReason) {
  json bad_turn_type = pair("strings", {1, 3});
  bad_turn_type["supporting_turns"] = json::array({"1", "3"});
  json float_turn = pair("floats", {1, 3});
  float_turn["supporting_turns"] = json::array({1.0, 3});
  json no_answer = pair("missing", {1, 3});
  no_answer.erase("answer");
  json huge_turn = pair("huge", {1, 3});
  huge_turn["supporting_turns"] = json::array({1, 4294967297ull});
  const json items = json::array({
      "not an object",
      bad_turn_type,
      float_turn,
      no_answer,
      pair("   ", {1, 3}),
      pair("blank answer", {1, 3}, "factoid", " \n"),
      pair("odd type", {1, 3}, "opinion"),
      pair("one turn", {2, 2}),
      pair("zero", {0, 3}),
      pair("past the end", {1, 11}),
      huge_turn,
      pair("adjacent", {4, 5}),
      pair("Kept one", {1, 3}),
      pair("  kept   ONE ", {2, 6}),
      pair("kept two", {1, 2, 3}),
  });
  const Validation v = validate_pairs(items, 10, 1);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.kept[0].question, "Kept one");
  const std::map<std::string, int> expected = {
      {reject::kMalformed, 4},   {reject::kEmptyText, 2},      {reject::kUnknownType, 1},
      {reject::kTooFewTurns, 1}, {reject::kTurnOutOfRange, 3}, {reject::kAdjacentOnly, 1},
      {reject::kDuplicate, 1},   {reject::kOverLimit, 1}};
  EXPECT_EQ(v.rejected, expected);
  EXPECT_EQ(v.rejected_total(), 14);
}

TEST(ValidatePairs, NonAdjacentMeansSomeTwoTurnsDifferByTwo) {
  EXPECT_EQ(validate_pairs(json::array({pair("q", {3, 4, 5})}), 5).kept.size(), 1u);
  EXPECT_EQ(validate_pairs(json::array({pair("q", {4, 5})}), 5).rejected.at(reject::kAdjacentOnly),
            1);
}

TEST(ValidatePairs, LimitCountsKeptPairsOnly) {
  const json items =
      json::array({pair("bad", {1}), pair("a", {1, 3}), pair("b", {1, 3}), pair("c", {1, 3})});
  const Validation v = validate_pairs(items, 3, 2);
  EXPECT_EQ(v.kept.size(), 2u);
  EXPECT_EQ(v.rejected.at(reject::kOverLimit), 1);
  EXPECT_EQ(v.rejected.at(reject::kTooFewTurns), 1);
}

}  // namespace
}  // namespace trajc
