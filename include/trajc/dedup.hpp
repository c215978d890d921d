// Near-duplicate questions: a normalized key, word-shingle similarity, and
// MinHash/LSH band keys so that a store can find candidates with an index
// (a table of (band key -> pair id), btree on the bigint) instead of scanning
// every pair. Pure functions; the hashes are stored, so they must never
// change without migrating the stored band keys (kDedupVersion).
//
// Must never: depend on std::hash, the platform or the build (keys are stored).
#pragma once
#include "trajc/core_guard.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trajc {

namespace dedup {
inline constexpr int kDedupVersion = 1;
// Word trigrams: a near-duplicate must repeat a question nearly word for word.
// One changed word changes 3 shingles, so in a question of typical length
// (10 to 28 words) a different value (tool, turn number) falls below 0.8
// and questions about different things stay apart, while repeats that differ
// in case, punctuation, number format or a trailing word stay above it.
inline constexpr int kShingleWords = 3;
// 16 bands of 5 rows (80 MinHash values): a pair at similarity s becomes a
// candidate with probability 1 - (1 - s^5)^16: 0.998 at 0.8, 0.95 at 0.7,
// 0.40 at 0.5, 0.04 at 0.3. Tuned for the default threshold 0.8; lower
// thresholds lose recall across sessions (within a session every pair is
// compared exactly).
inline constexpr int kBands = 16;
inline constexpr int kRows = 5;
inline constexpr int kSignatureSize = kBands * kRows;
}  // namespace dedup

// The normalized question: ASCII lowercase, typographic quotes folded, quotes
// and punctuation dropped except inside identifiers (file.txt, ord-12, a/b,
// 10:30), "1,000" as 1000, whitespace runs as one space. Numbers and quoted
// values are kept: a question about another tool is another question.
std::string question_key(std::string_view question);
// The key with numbers and quoted values masked ("#", "<v>"): the question's
// shape, for counting how many kinds of questions a run asks.
std::string question_shape(std::string_view question);

// Sorted distinct 64-bit hashes of the key's word k-grams (the whole key as
// one shingle when it has fewer than k words; none when it is empty).
std::vector<std::uint64_t> key_shingles(std::string_view key);
// Jaccard similarity of two shingle sets (1 when both are empty).
double jaccard(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b);
// Similarity of two questions: Jaccard over the shingles of their keys.
double question_similarity(std::string_view a, std::string_view b);

using MinHash = std::array<std::uint64_t, dedup::kSignatureSize>;
MinHash minhash(const std::vector<std::uint64_t>& shingles);
// One key per band (the band's index mixed in, so one bigint column holds
// them all). Two questions sharing any key are candidates.
std::array<std::int64_t, dedup::kBands> band_keys(const MinHash& signature);

struct QuestionFingerprint {
  std::string key;
  std::vector<std::uint64_t> shingles;
  std::array<std::int64_t, dedup::kBands> bands{};
};
QuestionFingerprint fingerprint(std::string_view question);

// Exact key, or similarity >= threshold (threshold >= 1: exact key only).
bool is_near_duplicate(const QuestionFingerprint& a, const QuestionFingerprint& b, double threshold);
// Of stored questions' keys (candidates found by band keys, best first), the
// index of the most similar one that `f` nearly duplicates; -1 if none. Ties
// go to the earlier candidate.
int most_similar(const QuestionFingerprint& f, const std::vector<std::string_view>& keys, double threshold);

}  // namespace trajc
