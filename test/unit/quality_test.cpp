// The quality pass: ungrounded and near-duplicate pairs leave v.kept and are
// counted under their reasons; kept pairs get verified_by and a fingerprint.
#include "trajc/quality.hpp"

#include <gtest/gtest.h>

namespace trajc {
namespace {

Trajectory log3() {
  Trajectory t;
  t.session_id = "s";
  for (int i = 1; i <= 5; ++i) {
    Turn turn;
    turn.number = i;
    turn.at = "2026-01-02T03:04:0" + std::to_string(i) + ".000000Z";
    turn.agent = "worker";
    turn.fields = {{"tool", i % 2 ? "read_file" : "write_file"}, {"path", "src/f" + std::to_string(i) + ".cpp"}};
    t.turns.push_back(turn);
  }
  return t;
}

QaPair pair(std::string q, std::string a, std::vector<int> turns) {
  return {std::move(q), std::move(a), std::move(turns), "factoid", "{}"};
}

TEST(CheckQuality, RejectsUngroundedAndNearDuplicatePairs) {
  Validation v;
  v.rejected["malformed"] = 1;
  v.kept = {pair("Which files were read at turns 1 and 3?", "src/f1.cpp and src/f3.cpp.", {1, 3}),
            pair("Which files were read at turns 1 and 5?", "src/f1.cpp and src/f9.cpp.", {1, 5}),  // f9: made up
            pair("which files were READ at turns 1 and 3", "src/f1.cpp, src/f3.cpp", {1, 3}),     // same key
            pair("Which tool ran at turn 2 and at turn 4?", "write_file, twice.", {2, 4})};
  const auto quality = check_quality(v, log3(), QualitySettings{});
  ASSERT_EQ(v.kept.size(), 2u);
  ASSERT_EQ(quality.size(), 2u);
  EXPECT_EQ(v.kept[0].supporting_turns, (std::vector<int>{1, 3}));
  EXPECT_EQ(v.kept[1].answer, "write_file, twice.");
  EXPECT_EQ(v.rejected, (std::map<std::string, int>{{"malformed", 1}, {"near_duplicate", 1}, {"ungrounded", 1}}));
  EXPECT_EQ(quality[0].verified_by, "literal");
  EXPECT_EQ(quality[0].fingerprint.key, "which files were read at turns 1 and 3");
  EXPECT_EQ(quality[1].fingerprint.bands, fingerprint("Which tool ran at turn 2 and at turn 4?").bands);
}

TEST(CheckQuality, VerifyOffKeepsUngroundedPairsUnverified) {
  Validation v;
  v.kept = {pair("Which file?", "src/f9.cpp.", {1, 5})};
  QualitySettings s;
  s.verify = VerifyMode::Off;
  const auto quality = check_quality(v, log3(), s);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(quality[0].verified_by, "");
  EXPECT_TRUE(v.rejected.empty());
}

TEST(CheckQuality, ThresholdDecidesNearDuplicates) {
  const std::string a = "How many times was tool read_file used between turn 1 and turn 5, and at which turns?";
  const std::string b = a + " Answer briefly";
  const double sim = question_similarity(a, b);
  ASSERT_GT(sim, 0.8);
  ASSERT_LT(sim, 1.0);
  for (const double threshold : {0.8, 1.0}) {
    Validation v;
    v.kept = {pair(a, "3, at turns 1, 3 and 5.", {1, 3, 5}), pair(b, "3, at turns 1, 3 and 5.", {1, 3, 5})};
    QualitySettings s;
    s.dedup_threshold = threshold;
    check_quality(v, log3(), s);
    EXPECT_EQ(v.kept.size(), threshold < 1 ? 1u : 2u) << threshold;
  }
}

}  // namespace
}  // namespace trajc
