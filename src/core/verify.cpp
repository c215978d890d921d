// Literal verification: does the text of the cited turns give every concrete
// thing an answer states? It must never call out, never throw on odd input
// (UTF-8, huge text, unbalanced quotes) and stay linear in the cited text.
//
// What the answer must be grounded in (after normalizing both sides: ASCII
// case, typographic quotes and dashes, whitespace runs, JSON escapes of the
// log's json columns, trailing punctuation):
//  - every quoted string ("…", '…', `…`, “…”; "a ... b" checks each piece),
//  - every identifier-like token: snake_case, camelCase, dotted, paths, URLs,
//    e-mail-like, flags, letters mixed with digits (ids, codes, hex), dates
//    and times; it must occur in a cited turn as a whole token (an id
//    "ord-12" is not found inside "ord-123"),
//  - every number (1,000 = 1000 = 1000.0; signs, $, #, %, units and ordinal
//    suffixes are dropped; number words up to twenty count). It must occur in
//    a cited turn, or be something the cited turns give directly: a count of
//    cited turns (0..n: a count of the cited turns of one tool or agent is
//    one of these), a cited turn number or the distance between two, the sum
//    or difference of two values of the same key (two `cost` fields) or the
//    sum of one key over the cited turns, a duration between two timestamps
//    of the cited turns (in ms, s, min, h or days, rounded as written, or
//    its minutes/seconds components), or a share k/n of them as a percent.
//
// What it cannot see: paraphrase and meaning. A wrong statement made of
// grounded words passes ("search failed" when it succeeded); an answer naming
// a plain-word tool ("search") without quotes is not checked for that word;
// a count up to the number of cited turns always passes, as does any value
// a small sum/difference of same-key values happens to give; sums of three
// or more values of different keys, arithmetic on numbers in free text
// ("300 lines, then 320") and unit conversions other than time are not
// derived, so such answers are rejected. Signs are ignored. The model
// verifier (trajc.verify = 'model') judges meaning.

#include "trajc/verify.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "trajc/text_fold.hpp"

namespace trajc {
namespace {

// ---- characters and normalization -------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// Token boundaries: a match must not continue a run of digits, or a run of
// word characters (letters, '_', non-ASCII bytes), on either side.
enum class Run { None, Digit, Word };
Run run_of(char c) {
  if (is_digit(c)) return Run::Digit;
  if (is_alpha(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80) return Run::Word;
  return Run::None;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The text with JSON string escapes undone (\" \\ \/ \n \uXXXX ...), so an
// answer quoting C:\tmp or "a" matches a json column that shows C:\\tmp or
// \"a\". Anything that is not a valid escape is kept as is.
std::string json_unescaped(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char e = s[i + 1];
    const char* simple = nullptr;
    switch (e) {
      case '"': simple = "\""; break;
      case '\\': simple = "\\"; break;
      case '/': simple = "/"; break;
      case 'b': case 'f': case 'n': case 'r': case 't': simple = " "; break;
      default: break;
    }
    if (simple) {
      out += simple;
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    bool ok = e == 'u' && i + 5 < s.size();
    for (std::size_t k = 2; ok && k < 6; ++k) {
      const int h = hex_value(s[i + k]);
      ok = h >= 0;
      cp = cp * 16 + static_cast<std::uint32_t>(h < 0 ? 0 : h);
    }
    if (!ok || (cp >= 0xD800 && cp <= 0xDFFF)) {  // lone surrogates stay escaped
      out += s[i];
      continue;
    }
    append_utf8(out, cp);
    i += 5;
  }
  return out;
}

// ---- numbers -----------------------------------------------------------------

// A number as written, without sign. Values with at most 12 integer and 6
// fraction digits are also held in fixed point (micro-units), so sums and
// differences are exact (0.1 + 0.25 == 0.35).
struct Number {
  std::string canon;  // when not fixed_ok: no leading zeros, no trailing fraction zeros, no commas
  bool fixed_ok = false;
  std::int64_t fixed = 0;
  int decimals = 0;  // fraction digits as written (for rounding derived values)
};

constexpr std::int64_t kScale = 1000000;
constexpr std::size_t kMaxNumberDigits = 30;  // longer digit runs are ids, not numbers

std::optional<Number> make_number(std::string_view int_digits, std::string_view frac_digits) {
  if (int_digits.size() + frac_digits.size() > kMaxNumberDigits) return std::nullopt;
  Number n;
  n.decimals = static_cast<int>(frac_digits.size());
  std::size_t lead = 0;
  while (lead + 1 < int_digits.size() && int_digits[lead] == '0') ++lead;
  int_digits.remove_prefix(lead);
  while (!frac_digits.empty() && frac_digits.back() == '0') frac_digits.remove_suffix(1);
  if (int_digits.size() <= 12 && frac_digits.size() <= 6) {
    std::int64_t v = 0;
    for (char c : int_digits) v = v * 10 + (c - '0');
    std::int64_t f = 0;
    for (std::size_t k = 0; k < 6; ++k) f = f * 10 + (k < frac_digits.size() ? frac_digits[k] - '0' : 0);
    n.fixed = v * kScale + f;
    n.fixed_ok = true;
    return n;
  }
  n.canon.assign(int_digits);
  if (!frac_digits.empty()) {
    n.canon += '.';
    n.canon += frac_digits;
  }
  return n;
}

// Equal values are written with the same digits, so they are both held in
// fixed point or both not.
bool same_number(const Number& a, const Number& b) {
  return a.fixed_ok ? b.fixed_ok && a.fixed == b.fixed : !b.fixed_ok && a.canon == b.canon;
}

// A number of the answer, and whether the cited text has it literally.
struct AnswerNumber {
  Number number;
  bool percent = false;
  std::string text;  // as written, for `missing`
  bool literal = false;
};

// Reads digits with optional ",ddd" thousands groups and ".ddd" fraction at
// s[i] (a digit); `end` is where it stopped.
std::optional<Number> read_number(std::string_view s, std::size_t i, std::size_t& end) {
  std::size_t j = i;
  while (j < s.size() && is_digit(s[j])) ++j;
  std::string_view int_digits = s.substr(i, j - i);
  std::string grouped;  // only for "1,000,000": each group three digits, not followed by a digit
  while (j - i <= 3 && grouped.size() + int_digits.size() <= kMaxNumberDigits && j + 3 < s.size() &&
         s[j] == ',' && is_digit(s[j + 1]) && is_digit(s[j + 2]) && is_digit(s[j + 3]) &&
         (j + 4 == s.size() || !is_digit(s[j + 4]))) {
    if (grouped.empty()) grouped.assign(int_digits);
    grouped.append(s.substr(j + 1, 3));
    j += 4;
  }
  if (!grouped.empty()) int_digits = grouped;
  std::string_view frac;
  if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {
    const std::size_t f = j + 1;
    j = f;
    while (j < s.size() && is_digit(s[j])) ++j;
    frac = s.substr(f, j - f);
  }
  end = j;
  return make_number(int_digits, frac);
}

// ---- what the cited turns give -----------------------------------------------

constexpr std::size_t kMaxTimestamps = 256;  // pairs of them are tried: keep it bounded
constexpr std::size_t kMaxKeyChars = 64;

bool is_key_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

// The key a number at s[i] is the value of: `"cost":0.1`, `cost: 0.1`,
// `cost=0.1`, `"cost":"0.1"`; empty when the number is not a key's value.
std::string_view key_before(std::string_view s, std::size_t i) {
  std::size_t p = i;
  if (p > 0 && s[p - 1] == '"') --p;
  while (p > 0 && s[p - 1] == ' ') --p;
  if (p == 0 || (s[p - 1] != ':' && s[p - 1] != '=')) return {};
  --p;
  while (p > 0 && s[p - 1] == ' ') --p;
  if (p > 0 && s[p - 1] == '"') --p;
  const std::size_t key_end = p;
  while (p > 0 && key_end - p < kMaxKeyChars && is_key_char(s[p - 1])) --p;
  const std::string_view key = s.substr(p, key_end - p);
  return std::any_of(key.begin(), key.end(), is_alpha) ? key : std::string_view();
}

int two_digits(std::string_view s, std::size_t i) {
  if (i + 1 >= s.size() || !is_digit(s[i]) || !is_digit(s[i + 1])) return -1;
  return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// A timestamp `yyyy-mm-dd[t ]hh:mm[:ss[.ffffff]][z|+hh[:mm]]` at s[i] (the
// text is lowercased), as microseconds since the epoch.
std::optional<std::int64_t> read_timestamp(std::string_view s, std::size_t i) {
  if (i + 16 > s.size()) return std::nullopt;
  for (std::size_t k = 0; k < 4; ++k) {
    if (!is_digit(s[i + k])) return std::nullopt;
  }
  const int year = (s[i] - '0') * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
  if (s[i + 4] != '-' || s[i + 7] != '-' || (s[i + 10] != 't' && s[i + 10] != ' ') ||
      s[i + 13] != ':') {
    return std::nullopt;
  }
  const int month = two_digits(s, i + 5);
  const int day = two_digits(s, i + 8);
  const int hour = two_digits(s, i + 11);
  const int minute = two_digits(s, i + 14);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59) {
    return std::nullopt;
  }
  std::size_t p = i + 16;
  int second = 0;
  std::int64_t micros = 0;
  if (p < s.size() && s[p] == ':' && two_digits(s, p + 1) >= 0) {
    second = two_digits(s, p + 1);
    p += 3;
    if (p + 1 < s.size() && s[p] == '.' && is_digit(s[p + 1])) {
      ++p;
      std::int64_t scale = 100000;
      while (p < s.size() && is_digit(s[p])) {
        micros += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
    }
  }
  std::int64_t offset_s = 0;
  if (p < s.size() && (s[p] == '+' || s[p] == '-') && two_digits(s, p + 1) >= 0) {
    int off_min = 0;
    if (p + 3 < s.size() && s[p + 3] == ':' && two_digits(s, p + 4) >= 0) {
      off_min = two_digits(s, p + 4);
    } else if (two_digits(s, p + 3) >= 0) {
      off_min = two_digits(s, p + 3);
    }
    offset_s = (two_digits(s, p + 1) * 3600 + off_min * 60) * (s[p] == '+' ? 1 : -1);
  }
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 +
                            minute * 60 + second - offset_s;
  return secs * 1000000 + micros;
}

struct KeyedValue {
  std::string_view key;  // into Facts::hay
  std::int64_t value;    // fixed point
  bool operator<(const KeyedValue& o) const { return key != o.key ? key < o.key : value < o.value; }
};

struct Facts {
  std::string hay;                    // normalized texts of the cited turns, '\n' between them
  std::vector<KeyedValue> keyed;      // sorted by key, then value
  std::vector<std::int64_t> times;    // timestamps, microseconds, sorted and distinct
  std::vector<std::int64_t> turns;    // cited turn numbers, sorted and distinct
};

// Reads every number of one turn's normalized text (each digit run on its
// own too: "v1.2.3" gives 1, 2, 3 and 1.2): marks the answer's numbers it
// has, and notes the values of keys and the timestamps. Nothing is stored
// per number, so this stays a cheap pass over the text.
void scan_numbers(std::string_view s, Facts& f, std::vector<AnswerNumber>& wanted) {
  auto note = [&](const Number& n) {
    for (AnswerNumber& w : wanted) w.literal = w.literal || same_number(w.number, n);
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(s[i]) || (i > 0 && is_digit(s[i - 1]))) continue;
    if (f.times.size() < kMaxTimestamps) {
      if (const auto t = read_timestamp(s, i)) f.times.push_back(*t);
    }
    std::size_t run_end = i;
    while (run_end < s.size() && is_digit(s[run_end])) ++run_end;
    std::size_t end = i;
    const auto n = read_number(s, i, end);
    if (n) note(*n);
    if (!n || end != run_end) {
      if (const auto whole = make_number(s.substr(i, run_end - i), {})) note(*whole);
    }
    const std::string_view key = n && n->fixed_ok ? key_before(s, i) : std::string_view();
    if (!key.empty()) f.keyed.push_back({key, n->fixed});
    i = run_end - 1;
  }
}

Facts gather(const std::vector<CitedTurn>& cited, std::vector<AnswerNumber>& wanted) {
  Facts f;
  // Numbers are read once per turn (from the unescaped text when there is
  // one), so key sums count each value once; needles search both forms.
  std::vector<std::pair<std::size_t, std::size_t>> segments;
  std::size_t bytes = 0;
  for (const CitedTurn& turn : cited) bytes += turn.text.size() + 1;
  f.hay.reserve(bytes);
  for (const CitedTurn& turn : cited) {
    std::size_t start = f.hay.size();
    append_folded(f.hay, turn.text, true);
    if (turn.text.find('\\') != std::string::npos) {
      f.hay += '\n';
      start = f.hay.size();
      append_folded(f.hay, json_unescaped(turn.text), true);
    }
    segments.push_back({start, f.hay.size() - start});
    f.hay += '\n';
  }
  // The hay is complete: keys may point into it now.
  for (const auto& [start, size] : segments) scan_numbers(std::string_view(f.hay).substr(start, size), f, wanted);
  std::sort(f.keyed.begin(), f.keyed.end());
  for (const CitedTurn& turn : cited) f.turns.push_back(turn.number);
  for (auto* v : {&f.turns, &f.times}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return f;
}

// ---- checking one answer item ------------------------------------------------

// Whether `needle` (normalized, lowercase) occurs in the haystack as a whole
// token: "ord-12" is not found in "ord-123", "2026-01-02" is in "2026-01-02t03".
bool occurs(const std::string& hay, std::string_view needle) {
  if (needle.empty()) return true;
  const Run first = run_of(needle.front());
  const Run last = run_of(needle.back());
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) {
    const bool starts = p == 0 || first == Run::None || run_of(hay[p - 1]) != first;
    const std::size_t e = p + needle.size();
    const bool ends = e == hay.size() || last == Run::None || run_of(hay[e]) != last;
    if (starts && ends) return true;
  }
  return false;
}

// The answer's number as an integer count of its last written decimal
// place (1.25 -> 125 at 2 decimals), to compare derived values rounded alike.
struct Rounded {
  double unit = 1;         // 10^decimals
  std::int64_t value = 0;  // the number in those units
};

Rounded rounded_form(const Number& x) {
  Rounded r;
  std::int64_t divisor = kScale;
  for (int d = 0; d < x.decimals; ++d) {
    r.unit *= 10;
    divisor /= 10;
  }
  r.value = x.fixed / divisor;
  return r;
}

bool rounds_to(double derived, const Rounded& r) { return std::llround(derived * r.unit) == r.value; }

bool is_duration(std::int64_t micros, const Number& x, const Rounded& r) {
  const std::int64_t s = micros / 1000000;
  if (x.decimals == 0) {
    const std::int64_t v = r.value;
    // Components of "1 hour 2 minutes 5 seconds" / "1 minute 30 seconds".
    if (v == s / 60 || v == s % 60 || v == s / 3600 || v == (s / 60) % 60 || v == s / 86400) {
      return true;
    }
  }
  const double secs = static_cast<double>(micros) / 1e6;
  return rounds_to(secs * 1000.0, r) || rounds_to(secs, r) || rounds_to(secs / 60.0, r) ||
         rounds_to(secs / 3600.0, r) || rounds_to(secs / 86400.0, r);
}

bool contains_sorted(const std::vector<KeyedValue>& v, std::size_t begin, std::size_t end, std::int64_t value) {
  return std::binary_search(v.begin() + static_cast<std::ptrdiff_t>(begin),
                            v.begin() + static_cast<std::ptrdiff_t>(end), KeyedValue{v[begin].key, value});
}

// A sum or difference of two values of one key, or the sum of a key's values.
bool from_keyed_values(std::int64_t x, const std::vector<KeyedValue>& keyed) {
  for (std::size_t b = 0; b < keyed.size();) {
    std::size_t e = b;
    std::int64_t sum = 0;
    while (e < keyed.size() && keyed[e].key == keyed[b].key) sum += keyed[e++].value;
    if (sum == x) return true;
    for (std::size_t k = b; k < e; ++k) {
      if (contains_sorted(keyed, b, e, x - keyed[k].value) || contains_sorted(keyed, b, e, keyed[k].value + x)) {
        return true;
      }
    }
    b = e;
  }
  return false;
}

bool grounded_number(const AnswerNumber& n, const Facts& f) {
  if (n.literal) return true;
  const Number& x = n.number;
  if (!x.fixed_ok || x.decimals > 6) return false;
  const std::int64_t cited = static_cast<std::int64_t>(f.turns.size());
  if (x.fixed % kScale == 0) {
    const std::int64_t v = x.fixed / kScale;
    if (v <= cited || std::binary_search(f.turns.begin(), f.turns.end(), v)) return true;
    for (std::size_t a = 0; a < f.turns.size(); ++a) {
      if (std::binary_search(f.turns.begin() + static_cast<std::ptrdiff_t>(a), f.turns.end(), f.turns[a] + v)) {
        return true;  // the distance between two cited turns
      }
    }
  }
  if (from_keyed_values(x.fixed, f.keyed)) return true;
  const Rounded r = rounded_form(x);
  for (std::size_t a = 0; a < f.times.size(); ++a) {
    for (std::size_t b = a + 1; b < f.times.size(); ++b) {
      if (is_duration(f.times[b] - f.times[a], x, r)) return true;
    }
  }
  if (n.percent && cited > 0) {
    for (std::int64_t k = 0; k <= cited; ++k) {
      if (rounds_to(100.0 * static_cast<double>(k) / static_cast<double>(cited), r)) return true;
    }
  }
  return false;
}

// ---- reading the answer ------------------------------------------------------

constexpr std::size_t kMaxAnswerBytes = 16384;  // answers are asked to be short
constexpr std::size_t kMaxItems = 128;

struct Items {
  std::vector<std::string> needles;  // lowercase, distinct
  std::vector<AnswerNumber> numbers;
};

void add_needle(Items& items, std::string_view text) {
  while (!text.empty() && (is_space(text.back()) || std::string_view(".,;:!?").find(text.back()) !=
                                                        std::string_view::npos)) {
    text.remove_suffix(1);
  }
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  if (std::none_of(text.begin(), text.end(), is_alnum) &&
      std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return;
  }
  std::string needle;
  append_folded(needle, text, true);
  if (std::find(items.needles.begin(), items.needles.end(), needle) == items.needles.end()) {
    items.needles.push_back(std::move(needle));
  }
}

// A quoted string; "a ... b" (an elision) is checked piece by piece.
void add_quoted(Items& items, std::string_view content) {
  for (std::size_t p = content.find("..."); p != std::string_view::npos; p = content.find("...")) {
    add_needle(items, content.substr(0, p));
    content.remove_prefix(p + 3);
  }
  add_needle(items, content);
}

bool is_quote_closer(std::string_view a, std::size_t j) {
  return a[j] == '\'' && j > 0 && !is_space(a[j - 1]) && (j + 1 == a.size() || run_of(a[j + 1]) == Run::None);
}

// Takes the quoted strings out of `a` (blanking them) into items. A single
// quote opens only after a non-word character, so "agent's" is no quote.
void take_quotes(std::string& a, Items& items) {
  std::vector<std::size_t> next_closer(a.size() + 1, std::string::npos);
  for (std::size_t j = a.size(); j-- > 0;) next_closer[j] = is_quote_closer(a, j) ? j : next_closer[j + 1];
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i];
    std::size_t close = std::string::npos;
    if (c == '"' || c == '`') {
      close = a.find(c, i + 1);
    } else if (c == '\'' && (i == 0 || run_of(a[i - 1]) == Run::None) && i + 1 < a.size() &&
               !is_space(a[i + 1])) {
      close = next_closer[i + 1];
    }
    if (close == std::string::npos) continue;
    add_quoted(items, std::string_view(a).substr(i + 1, close - i - 1));
    std::fill(a.begin() + static_cast<std::ptrdiff_t>(i), a.begin() + static_cast<std::ptrdiff_t>(close) + 1, ' ');
    i = close;
  }
}

bool is_separator(std::string_view a, std::size_t i) {
  const char c = a[i];
  if (is_space(c)) return true;
  if (std::string_view("()[]{}<>\"'`|*;").find(c) != std::string_view::npos) return true;
  const bool next_is_end = i + 1 == a.size() || is_space(a[i + 1]);
  if (c == '?' || c == '!') return next_is_end;  // inside a URL they belong to it
  if (c == ',') {
    // "1,000" is one number; "2,5,8" and "a, b" are lists.
    const bool thousands = i > 0 && is_digit(a[i - 1]) && i + 3 < a.size() && is_digit(a[i + 1]) &&
                           is_digit(a[i + 2]) && is_digit(a[i + 3]) &&
                           (i + 4 == a.size() || !is_digit(a[i + 4]));
    return !thousands;
  }
  return false;
}

constexpr std::string_view kUnits[] = {"%",   "ms", "s",  "sec", "secs", "m",  "min", "mins",
                                       "h",   "hr", "hrs", "d",  "x",    "st", "nd",  "rd",
                                       "th"};

struct NumberWord {
  std::string_view word;
  int value;
};
constexpr NumberWord kNumberWords[] = {
    {"zero", 0},      {"one", 1},        {"two", 2},       {"three", 3},    {"four", 4},
    {"five", 5},      {"six", 6},        {"seven", 7},     {"eight", 8},    {"nine", 9},
    {"ten", 10},      {"eleven", 11},    {"twelve", 12},   {"thirteen", 13}, {"fourteen", 14},
    {"fifteen", 15},  {"sixteen", 16},   {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
    {"twenty", 20},   {"once", 1},       {"twice", 2},     {"thrice", 3}};

// Numbers of a token like 1,000 / $0.35 / #5 / 30s / 3rd / 45% / 3-7 / 2/5;
// empty when the token is something else (1.2.3, 2026-01-02, v2, 5xx).
std::vector<AnswerNumber> token_numbers(std::string_view t) {
  std::vector<AnswerNumber> out;
  std::size_t p = 0;
  for (std::string_view prefix : {"$", "#", "~", "+", "-", "\xE2\x82\xAC", "\xC2\xA3", "\xE2\x89\x88"}) {
    if (t.compare(0, prefix.size(), prefix) == 0) {
      p = prefix.size();
      break;
    }
  }
  if (p >= t.size() || !is_digit(t[p])) return {};
  std::size_t end = p;
  const auto first = read_number(t, p, end);
  if (!first) return {};
  out.push_back({*first, false, std::string(t), false});
  if (end == t.size()) return out;
  if ((t[end] == '-' || t[end] == '/') && end + 1 < t.size() && is_digit(t[end + 1]) &&
      std::all_of(t.begin() + static_cast<std::ptrdiff_t>(p), t.begin() + static_cast<std::ptrdiff_t>(end), is_digit) &&
      (t[p] != '0' || end - p == 1)) {
    std::size_t end2 = end + 1;
    const auto second = read_number(t, end + 1, end2);
    if (second && end2 == t.size() && second->decimals == 0 && t[end + 1] != '0') {
      out.push_back({*second, false, std::string(t), false});
      return out;
    }
    return {};
  }
  std::string suffix;
  for (char c : t.substr(end)) suffix += lower(c);
  if (std::find(std::begin(kUnits), std::end(kUnits), suffix) == std::end(kUnits)) return {};
  out.front().percent = suffix == "%";
  return out;
}

// Identifier-like: a value a model can only have taken from (or made up
// for) the log, as opposed to a word of prose.
bool is_identifier(std::string_view t) {
  if (t.size() < 2 || std::none_of(t.begin(), t.end(), is_alnum)) return false;
  // Plain numbers were taken before: digits with anything else are ids,
  // codes, hex, dates, times, versions (ord-12, E404, 2026-01-02, 1.2.3).
  if (std::any_of(t.begin(), t.end(), is_digit) || t.find('_') != std::string_view::npos) {
    return true;
  }
  for (std::size_t i = 1; i < t.size(); ++i) {
    if (is_lower(t[i - 1]) && is_upper(t[i])) return true;  // camelCase, PascalCase
  }
  if (t.front() == '/' || t.substr(0, 2) == "~/" || t.substr(0, 2) == "./" ||
      (t.front() == '-' && is_alpha(t[1])) || (t.substr(0, 2) == "--" && t.size() > 2)) {
    return true;  // paths and command-line flags
  }
  auto internal = [&](char c) {
    for (std::size_t i = 1; i + 1 < t.size(); ++i) {
      if (t[i] == c) return true;
    }
    return false;
  };
  if (internal('@') || internal(':') || internal('\\') || internal('=') || internal('#')) return true;
  if (internal('.')) {
    // "e.g", "i.e", "U.S" are abbreviations, "node.js" and "a.b.c" are names.
    std::size_t longest = 0;
    std::size_t run = 0;
    for (char c : t) {
      run = c == '.' ? 0 : run + 1;
      longest = std::max(longest, run);
    }
    if (longest > 1) return true;
  }
  if (internal('/')) {
    // "and/or", "input/output" are prose; "src/io" with 3+ parts or digits is a path.
    return std::count(t.begin(), t.end(), '/') >= 2;
  }
  return false;
}

void add_token(Items& items, std::string_view t) {
  while (!t.empty() && std::string_view(".,:;!?").find(t.back()) != std::string_view::npos) t.remove_suffix(1);
  if (t.empty()) return;
  std::vector<AnswerNumber> numbers = token_numbers(t);
  if (!numbers.empty()) {
    for (AnswerNumber& n : numbers) items.numbers.push_back(std::move(n));
    return;
  }
  std::string word;
  for (char c : t) word += lower(c);
  for (const NumberWord& w : kNumberWords) {
    if (word == w.word) {
      items.numbers.push_back({*make_number(std::to_string(w.value), {}), false, word, false});
      return;
    }
  }
  if (is_identifier(t)) add_needle(items, t);
}

Items read_answer(std::string_view answer) {
  std::string a;
  append_folded(a, answer, false);  // case kept: camelCase tells identifiers
  Items items;
  take_quotes(a, items);
  std::size_t i = 0;
  while (i < a.size()) {
    while (i < a.size() && is_separator(a, i)) ++i;
    const std::size_t start = i;
    while (i < a.size() && !is_separator(a, i)) ++i;
    if (i > start) add_token(items, std::string_view(a).substr(start, i - start));
  }
  return items;
}

void note_missing(Grounding& g, std::string item) {
  g.grounded = false;
  if (g.missing.size() < Grounding::kMaxMissing) g.missing.push_back(std::move(item));
}

}  // namespace

std::string cited_turn_text(const Turn& turn) {
  // The header as prompt.cpp writes it: the time and agent are part of what
  // the model saw for this turn.
  std::string text = "### Turn " + std::to_string(turn.number) + " (" + turn.at;
  if (!turn.agent.empty()) text += ", " + turn.agent;
  text += ")";
  std::string fields = render_turn(turn.fields);
  if (!fields.empty()) text += "\n" + fields;
  return text;
}

std::vector<CitedTurn> cited_turns(const Trajectory& t, const std::vector<int>& numbers) {
  std::vector<CitedTurn> cited;
  for (int number : numbers) {
    // Turns are numbered 1..n in order; look the number up if that ever differs.
    const Turn* turn = nullptr;
    if (number >= 1 && static_cast<std::size_t>(number) <= t.turns.size() &&
        t.turns[static_cast<std::size_t>(number) - 1].number == number) {
      turn = &t.turns[static_cast<std::size_t>(number) - 1];
    } else {
      for (const Turn& candidate : t.turns) {
        if (candidate.number == number) turn = &candidate;
      }
    }
    if (turn) cited.push_back({number, cited_turn_text(*turn)});
  }
  return cited;
}

Grounding verify_literal(const QaPair& pair, const std::vector<CitedTurn>& cited) {
  Grounding g;
  if (pair.answer.size() > kMaxAnswerBytes) {
    note_missing(g, "(answer longer than " + std::to_string(kMaxAnswerBytes) + " bytes)");
    return g;
  }
  Items items = read_answer(pair.answer);
  if (items.needles.size() + items.numbers.size() > kMaxItems) {
    note_missing(g, "(more than " + std::to_string(kMaxItems) + " items to check)");
    return g;
  }
  if (items.needles.empty() && items.numbers.empty()) return g;
  const Facts facts = gather(cited, items.numbers);
  for (const std::string& needle : items.needles) {
    if (!occurs(facts.hay, needle)) note_missing(g, "\"" + needle + "\"");
  }
  for (const AnswerNumber& n : items.numbers) {
    if (!grounded_number(n, facts)) note_missing(g, n.text);
  }
  return g;
}

Grounding verify_literal(const QaPair& pair, const Trajectory& t) {
  return verify_literal(pair, cited_turns(t, pair.supporting_turns));
}

}  // namespace trajc
