// Near-duplicate questions: keys, shapes, similarity thresholds, and LSH
// recall and false-candidate rate on synthetic questions.
#include "trajc/dedup.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <set>

namespace trajc {
namespace {

TEST(QuestionKey, FoldsCasePunctuationAndNumberFormats) {
  EXPECT_EQ(question_key("  Which tool ran \xE2\x80\x9Cread_file\xE2\x80\x9D at turn 1,000?? "),
            "which tool ran read_file at turn 1000");
  EXPECT_EQ(question_key("Which TOOL ran 'read_file' at turn 1000"), "which tool ran read_file at turn 1000");
  EXPECT_EQ(question_key("Path src/io.cpp, order ord-12, at 10:30; mail a@b.io!"),
            "path src/io.cpp order ord-12 at 10:30 mail a@b.io");
  EXPECT_EQ(question_key("turns 2,5,8"), "turns 2 5 8");  // a list, not a thousands separator
  EXPECT_EQ(question_key("?!."), "");
  EXPECT_EQ(question_key("caf\xC3\xA9 \xFF"), "caf\xC3\xA9 \xFF");  // other bytes kept as they are
}

TEST(QuestionShape, MasksNumbersAndQuotedValues) {
  const std::string a = question_shape("How many times was tool \"search\" used, and at turns 3 and 5?");
  EXPECT_EQ(a, "how many times was tool <v> used and at turns # and #");
  EXPECT_EQ(question_shape("How many times was tool 'fetch_url' used, and at turns 12 and 40?"), a);
  EXPECT_EQ(question_shape("Which agent's call to ord-77 failed?"), "which agent s call to # failed");
  EXPECT_EQ(question_shape(""), "");
  EXPECT_EQ(question_shape("an 'unclosed quote"), "an unclosed quote");
}

TEST(QuestionSimilarity, IsOneForTheSameKeyAndLowForUnrelatedQuestions) {
  EXPECT_DOUBLE_EQ(question_similarity("Which tool failed first?", "which TOOL failed first"), 1.0);
  EXPECT_LT(question_similarity("Which tool failed first?", "How long did the refund take?"), 0.01);
  EXPECT_DOUBLE_EQ(question_similarity("", ""), 1.0);
  // Fewer words than a shingle: the whole key is one shingle.
  EXPECT_DOUBLE_EQ(question_similarity("Why?", "why"), 1.0);
  EXPECT_DOUBLE_EQ(question_similarity("Why?", "How?"), 0.0);
}

TEST(QuestionSimilarity, ThresholdSeparatesRepeatsFromOtherQuestions) {
  const std::string base =
      "How many times was tool \"search\" used between turn 3 and turn 40, and at which turns?";
  // Repeats: a word added at the end, punctuation and case.
  EXPECT_GE(question_similarity(base, base + " Answer briefly"), 0.8);
  EXPECT_GE(question_similarity(base, "how many times was tool search used between turn 3 and turn 40 "
                                      "and at which turns exactly"),
            0.8);
  // Another tool or another turn: another question.
  EXPECT_LT(question_similarity(base, "How many times was tool \"fetch\" used between turn 3 and turn 40, "
                                      "and at which turns?"),
            0.8);
  EXPECT_LT(question_similarity(base, "How many times was tool \"search\" used between turn 3 and turn 41, "
                                      "and at which turns?"),
            0.8);
}

TEST(NearDuplicate, ExactKeyOrThreshold) {
  const QuestionFingerprint a = fingerprint("Which tool failed most often, and how many times did it fail?");
  const QuestionFingerprint same = fingerprint("which tool failed most often and how many times did it fail");
  const QuestionFingerprint longer =
      fingerprint("Which tool failed most often, and how many times did it fail in total?");
  const double s = jaccard(a.shingles, longer.shingles);
  ASSERT_GT(s, 0.7);
  ASSERT_LT(s, 1.0);
  EXPECT_TRUE(is_near_duplicate(a, same, 1.0));
  EXPECT_FALSE(is_near_duplicate(a, longer, 1.0));  // 1 = exact key only
  EXPECT_TRUE(is_near_duplicate(a, longer, s));
  EXPECT_FALSE(is_near_duplicate(a, longer, s + 0.01));
  EXPECT_EQ(a.bands, same.bands);
}

TEST(NearDuplicate, MostSimilarStoredKeyWins) {
  const QuestionFingerprint f =
      fingerprint("How many times was tool search used between turn 3 and turn 40, and at which turns?");
  const std::string exact = f.key;
  const std::string near = f.key + " exactly";
  const std::string other = "which agent acted last";
  EXPECT_EQ(most_similar(f, {other, near, exact}, 0.8), 2);
  EXPECT_EQ(most_similar(f, {other, near}, 0.8), 1);
  EXPECT_EQ(most_similar(f, {other, near}, 1.0), -1);  // exact only
  EXPECT_EQ(most_similar(f, {near, near}, 0.8), 0);    // ties: the earlier
  EXPECT_EQ(most_similar(f, {other}, 0.0), 0);          // threshold 0: anything
  EXPECT_EQ(most_similar(f, {}, 0.8), -1);
}

// The band keys are stored in tables: they must not change between builds,
// compilers or platforms (kDedupVersion guards a deliberate change).
TEST(BandKeys, AreStableAcrossBuilds) {
  ASSERT_EQ(dedup::kDedupVersion, 1);
  const QuestionFingerprint f = fingerprint("Which tool failed first?");
  EXPECT_EQ(f.shingles.size(), 2u);
  // Pinned when kDedupVersion 1 was released: a change of hash, seed or
  // layout makes every stored band key useless and must bump the version.
  EXPECT_EQ(f.bands[0], -6328968569909830355);
  EXPECT_EQ(f.bands[7], -6862575572129148837);
  EXPECT_EQ(f.bands[15], -7786295308679023165);
  std::set<std::int64_t> distinct(f.bands.begin(), f.bands.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(dedup::kBands));  // bands do not collide
}

// ---- LSH on synthetic questions -------------------------------------------------

std::vector<std::string> vocabulary() {
  std::vector<std::string> words;
  for (const char* w : {"which", "tool", "agent", "turn", "failed", "first", "last", "how", "many",
                        "times", "called", "search", "read_file", "write", "between", "after",
                        "before", "retry", "error", "value", "path", "changed", "order", "refund"}) {
    words.push_back(w);
  }
  for (int i = 0; i < 400; ++i) words.push_back("w" + std::to_string(i));
  return words;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

bool candidates(const QuestionFingerprint& a, const QuestionFingerprint& b) {
  for (int i = 0; i < dedup::kBands; ++i) {
    if (a.bands[static_cast<std::size_t>(i)] == b.bands[static_cast<std::size_t>(i)]) return true;
  }
  return false;
}

struct LshRun {
  int near = 0, near_found = 0;      // pairs at similarity >= 0.8
  int mid = 0, mid_found = 0;        // 0.3 <= similarity < 0.6
  int far = 0, far_found = 0;        // similarity < 0.3
};

LshRun run_lsh(unsigned seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> vocab = vocabulary();
  auto word = [&] { return vocab[rng() % vocab.size()]; };
  LshRun run;
  for (int q = 0; q < 3000; ++q) {
    std::vector<std::string> base(10 + rng() % 30);
    for (auto& w : base) w = word();
    std::vector<std::string> variant = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % variant.size();
      switch (rng() % 3) {
        case 0: variant[at] = word(); break;
        case 1: variant.insert(variant.begin() + static_cast<std::ptrdiff_t>(at), word()); break;
        default: if (variant.size() > 4) variant.erase(variant.begin() + static_cast<std::ptrdiff_t>(at));
      }
    }
    const QuestionFingerprint a = fingerprint(join(base));
    const QuestionFingerprint b = fingerprint(join(variant));
    std::vector<std::string> other(8 + rng() % 25);
    for (auto& w : other) w = word();
    const QuestionFingerprint c = fingerprint(join(other));
    for (const auto* pair : {&b, &c}) {
      const double s = jaccard(a.shingles, pair->shingles);
      const bool found = candidates(a, *pair);
      if (s >= 0.8) {
        ++run.near;
        run.near_found += found;
      } else if (s >= 0.3 && s < 0.6) {
        ++run.mid;
        run.mid_found += found;
      } else if (s < 0.3) {
        ++run.far;
        run.far_found += found;
      }
    }
  }
  return run;
}

TEST(Lsh, FindsNearDuplicatesAndFewOthers) {
  const LshRun run = run_lsh(11);
  ASSERT_GE(run.near, 300);
  ASSERT_GE(run.far, 3000);
  const double recall = static_cast<double>(run.near_found) / run.near;
  const double false_rate = static_cast<double>(run.far_found) / run.far;
  std::printf("LSH: %d pairs at >= 0.8, %.4f found; %d below 0.3, %.4f found; %d in [0.3, 0.6), %.4f found\n",
              run.near, recall, run.far, false_rate, run.mid,
              run.mid ? static_cast<double>(run.mid_found) / run.mid : 0.0);
  EXPECT_GE(recall, 0.95);
  EXPECT_LE(false_rate, 0.01);
  if (run.mid > 50) {
    // Theory for 16x5 bands: between 4 % (0.3) and 73 % (0.6); well below 1.
    const double mid_rate = static_cast<double>(run.mid_found) / run.mid;
    EXPECT_LT(mid_rate, 0.8);
  }
}

}  // namespace
}  // namespace trajc
