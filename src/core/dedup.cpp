// Question keys, shingles, MinHash and LSH band keys (see dedup.hpp for the
// choice of k, bands and rows). Everything here is stored or compared across
// processes and versions: hashes are fixed 64-bit functions of the bytes,
// never std::hash, and the seeds are constants.
//
// Must never: change a hash, seed or the shingle rule without bumping
// kDedupVersion (stored band keys would stop matching).

#include "trajc/dedup.hpp"

#include <algorithm>
#include <cstring>

#include "trajc/text_fold.hpp"

namespace trajc {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_word_char(char c) { return is_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }

// "1,000": a comma between a digit and exactly three digits.
bool is_thousands_comma(std::string_view s, std::size_t i) {
  return i > 0 && is_digit(s[i - 1]) && i + 3 < s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
         is_digit(s[i + 3]) && (i + 4 == s.size() || !is_digit(s[i + 4]));
}

// Characters that belong to an identifier when letters or digits surround them.
bool joins_identifier(char c) { return c == '.' || c == '-' || c == '/' || c == ':' || c == '@'; }

std::string key_of_folded(std::string_view f) {
  std::string key;
  key.reserve(f.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    const bool keep = is_word_char(c) || (joins_identifier(c) && i > 0 && i + 1 < f.size() &&
                                          is_alnum(f[i - 1]) && is_alnum(f[i + 1]));
    if (!keep) {
      if (c != ',' || !is_thousands_comma(f, i)) pending_space = true;
      continue;
    }
    if (pending_space && !key.empty()) key += ' ';
    pending_space = false;
    key += c;
  }
  return key;
}

// splitmix64's finalizer: a bijective mix of 64 bits.
std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a, then mixed
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return mix64(h);
}

// The seeds of the 80 MinHash functions h_i(x) = mix64(x ^ seed_i).
const std::array<std::uint64_t, dedup::kSignatureSize>& seeds() {
  static const auto table = [] {
    std::array<std::uint64_t, dedup::kSignatureSize> s{};
    std::uint64_t state = 0x7472616a63ull;  // "trajc"
    for (auto& seed : s) {
      state += 0x9e3779b97f4a7c15ull;
      seed = mix64(state);
    }
    return s;
  }();
  return table;
}

bool quote_closes(std::string_view s, std::size_t j) {
  return j + 1 == s.size() || !is_word_char(s[j + 1]);
}

}  // namespace

std::string question_key(std::string_view question) {
  std::string folded;
  append_folded(folded, question, true);
  return key_of_folded(folded);
}

std::string question_shape(std::string_view question) {
  std::string folded;
  append_folded(folded, question, true);
  // Quoted values become <v>; a single quote after a letter is an apostrophe,
  // and one closes only before a non-word character (next_closer keeps the
  // search linear).
  std::vector<std::size_t> next_closer(folded.size() + 1, std::string_view::npos);
  for (std::size_t j = folded.size(); j-- > 0;) {
    next_closer[j] = folded[j] == '\'' && quote_closes(folded, j) ? j : next_closer[j + 1];
  }
  std::string masked;
  for (std::size_t i = 0; i < folded.size(); ++i) {
    const char c = folded[i];
    std::size_t close = std::string_view::npos;
    if (c == '"' || c == '`') {
      close = folded.find(c, i + 1);
    } else if (c == '\'' && (i == 0 || !is_word_char(folded[i - 1]))) {
      close = next_closer[i + 1];
    }
    if (close == std::string_view::npos) {
      masked += c;
      continue;
    }
    masked += " \xFF ";  // a word no question has: not valid UTF-8
    i = close;
  }
  std::string key = key_of_folded(masked);
  // Words with digits (numbers, ids) become #.
  std::string shape;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find(' ', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view word(key.data() + start, end - start);
    if (!shape.empty()) shape += ' ';
    if (word == "\xFF") {
      shape += "<v>";
    } else if (std::any_of(word.begin(), word.end(), is_digit)) {
      shape += '#';
    } else {
      shape += word;
    }
    start = end + 1;
  }
  return key.empty() ? std::string() : shape;
}

std::vector<std::uint64_t> key_shingles(std::string_view key) {
  std::vector<std::size_t> word_starts;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] != ' ' && (i == 0 || key[i - 1] == ' ')) word_starts.push_back(i);
  }
  std::vector<std::uint64_t> shingles;
  if (word_starts.empty()) return shingles;
  const std::size_t k = dedup::kShingleWords;
  if (word_starts.size() < k) {
    shingles.push_back(hash_bytes(key));
    return shingles;
  }
  for (std::size_t w = 0; w + k <= word_starts.size(); ++w) {
    const std::size_t end = w + k < word_starts.size() ? word_starts[w + k] - 1 : key.size();
    shingles.push_back(hash_bytes(key.substr(word_starts[w], end - word_starts[w])));
  }
  std::sort(shingles.begin(), shingles.end());
  shingles.erase(std::unique(shingles.begin(), shingles.end()), shingles.end());
  return shingles;
}

double jaccard(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  std::size_t common = 0;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

double question_similarity(std::string_view a, std::string_view b) {
  return jaccard(key_shingles(question_key(a)), key_shingles(question_key(b)));
}

MinHash minhash(const std::vector<std::uint64_t>& shingles) {
  MinHash sig;
  sig.fill(~std::uint64_t{0});
  const auto& s = seeds();
  for (std::uint64_t x : shingles) {
    for (std::size_t i = 0; i < sig.size(); ++i) sig[i] = std::min(sig[i], mix64(x ^ s[i]));
  }
  return sig;
}

std::array<std::int64_t, dedup::kBands> band_keys(const MinHash& signature) {
  std::array<std::int64_t, dedup::kBands> keys{};
  for (int b = 0; b < dedup::kBands; ++b) {
    std::uint64_t h = mix64(0x62616e64ull + static_cast<std::uint64_t>(b));  // "band" + index
    for (int r = 0; r < dedup::kRows; ++r) h = mix64(h ^ signature[static_cast<std::size_t>(b * dedup::kRows + r)]);
    std::memcpy(&keys[static_cast<std::size_t>(b)], &h, sizeof h);  // the same bits as a bigint
  }
  return keys;
}

QuestionFingerprint fingerprint(std::string_view question) {
  QuestionFingerprint f;
  f.key = question_key(question);
  f.shingles = key_shingles(f.key);
  f.bands = band_keys(minhash(f.shingles));
  return f;
}

bool is_near_duplicate(const QuestionFingerprint& a, const QuestionFingerprint& b, double threshold) {
  if (a.key == b.key) return true;
  return threshold < 1.0 && jaccard(a.shingles, b.shingles) >= threshold;
}

int most_similar(const QuestionFingerprint& f, const std::vector<std::string_view>& keys, double threshold) {
  int best = -1;
  double best_similarity = -1;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const double s = keys[i] == f.key ? 1.0 : jaccard(f.shingles, key_shingles(keys[i]));
    const bool near = keys[i] == f.key || (threshold < 1.0 && s >= threshold);
    if (near && s > best_similarity) {
      best = static_cast<int>(i);
      best_similarity = s;
    }
  }
  return best;
}

}  // namespace trajc
