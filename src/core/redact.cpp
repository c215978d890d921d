// PII scanners and the per-session placeholder map. Each scanner is a
// hand-written single pass whose inner loops are bounded or never revisit a
// byte more than a constant number of times, so the whole is linear in the
// text. Scanners err on the side of missing an odd format rather than
// mangling ids: timestamps, dates, versions, uuids and epoch numbers of a log
// are not PII and must survive (see the near-miss tests).
//
// Must never: use std::regex, revisit text without bound, or break the JSON
// of a json column (a bare number replaced becomes a string).

#include "trajc/redact.hpp"

#include <algorithm>

namespace trajc {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_upper_alnum(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_token_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }

// A letter that belongs to a JSON escape (the n of "\n"): text after it
// starts a new word even though the byte before is a letter.
bool escaped_letter(std::string_view s, std::size_t k) {
  return k >= 1 && s[k - 1] == '\\' && std::string_view("nrtbf").find(s[k]) != std::string_view::npos;
}

// Whether a match may start at s[i]: the byte before is not part of a word
// (`part_of_word` decides what counts).
template <class Pred>
bool starts_word(std::string_view s, std::size_t i, Pred part_of_word) {
  return i == 0 || !part_of_word(s[i - 1]) || escaped_letter(s, i - 1);
}

bool ends_word(std::string_view s, std::size_t e) { return e >= s.size() || !is_alnum(s[e]); }

std::size_t run_while(std::string_view s, std::size_t i, bool (*pred)(char), std::size_t limit) {
  const std::size_t stop = std::min(s.size(), limit);
  while (i < stop && pred(s[i])) ++i;
  return i;
}

bool has_digit(std::string_view v) { return std::any_of(v.begin(), v.end(), is_digit); }
bool has_alpha(std::string_view v) { return std::any_of(v.begin(), v.end(), is_alpha); }

using Matches = std::vector<PiiMatch>;

// ---- e-mail ------------------------------------------------------------------

bool is_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool is_domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }

// Around each '@': the local part to the left (it never contains '@', so each
// byte is looked at from at most two '@'s), the domain to the right.
void find_emails(std::string_view s, Matches& out) {
  for (std::size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    std::size_t b = at;
    while (b > 0 && is_local_char(s[b - 1]) && !escaped_letter(s, b - 1)) --b;
    while (b < at && s[b] == '.') ++b;
    if (b == at) continue;
    std::size_t e = at + 1;
    while (e < s.size() && is_domain_char(s[e])) ++e;
    while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
    const std::string_view domain = s.substr(at + 1, e - at - 1);
    const std::size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || domain.find("..") != std::string_view::npos ||
        domain.front() == '.' || domain.front() == '-') {
      continue;
    }
    const std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), is_alpha)) continue;
    out.push_back({b, e, PiiKind::Email});
  }
}

// ---- credentials with a known shape ------------------------------------------

bool is_base62(char c) { return is_alnum(c); }
bool is_jwt_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_bearer_char(char c) {
  return is_alnum(c) || std::string_view("._~+/=-").find(c) != std::string_view::npos;
}

bool starts_with_at(std::string_view s, std::size_t i, std::string_view prefix) {
  return s.compare(i, prefix.size(), prefix) == 0;
}

bool istarts_with_at(std::string_view s, std::size_t i, std::string_view prefix) {
  if (s.size() - i < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k) {
    if (lower(s[i + k]) != prefix[k]) return false;
  }
  return true;
}

// The end of a known-prefix credential starting at s[i], or 0.
std::size_t credential_end(std::string_view s, std::size_t i) {
  auto tail = [&](std::size_t from, bool (*pred)(char), std::size_t min_len, bool mixed) {
    const std::size_t e = run_while(s, from, pred, std::string_view::npos);
    const std::string_view body = s.substr(from, e - from);
    if (body.size() < min_len || (mixed && !(has_digit(body) && has_alpha(body)))) return std::size_t{0};
    return e;
  };
  if (starts_with_at(s, i, "sk-")) return tail(i + 3, is_token_char, 20, true);  // OpenAI, Anthropic
  if (starts_with_at(s, i, "AKIA") || starts_with_at(s, i, "ASIA")) {        // AWS access key ids
    const std::size_t e = run_while(s, i + 4, is_upper_alnum, i + 4 + 16);
    return e == i + 20 && ends_word(s, e) ? e : 0;
  }
  if (starts_with_at(s, i, "github_pat_")) return tail(i + 11, is_jwt_char, 22, false);
  if (s.size() - i > 4 && starts_with_at(s, i, "gh") &&
      std::string_view("pousr").find(s[i + 2]) != std::string_view::npos && s[i + 3] == '_') {
    return tail(i + 4, is_base62, 30, false);  // GitHub tokens
  }
  if (s.size() - i > 5 && starts_with_at(s, i, "xox") &&
      std::string_view("abposre").find(s[i + 3]) != std::string_view::npos && s[i + 4] == '-') {
    return tail(i + 5, is_token_char, 10, false);  // Slack tokens
  }
  if (starts_with_at(s, i, "eyJ")) {  // a JWT: three base64url segments
    std::size_t e = i;
    for (int segment = 0; segment < 3; ++segment) {
      const std::size_t from = e;
      e = run_while(s, e, is_jwt_char, std::string_view::npos);
      if (segment < 2 && (e - from < 10 || e >= s.size() || s[e] != '.')) return 0;
      if (segment < 2) ++e;
    }
    return e;
  }
  return 0;
}

void find_credentials(std::string_view s, Matches& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    // Every known shape starts with one of these letters: a cheap first test.
    if (std::string_view("sAgxeBb").find(s[i]) == std::string_view::npos ||
        !starts_word(s, i, is_token_char)) {
      continue;
    }
    if (const std::size_t e = credential_end(s, i)) {
      out.push_back({i, e, PiiKind::Secret});
      i = e - 1;
      continue;
    }
    // "Bearer <token>": the token only, so the scheme stays readable.
    if ((s[i] == 'b' || s[i] == 'B') && istarts_with_at(s, i, "bearer ")) {
      std::size_t from = i + 6;
      while (from < s.size() && s[from] == ' ') ++from;
      const std::size_t e = run_while(s, from, is_bearer_char, from + 4096);
      const std::string_view token = s.substr(from, e - from);
      if (token.size() >= 16 && (has_digit(token) || token.size() >= 24)) {
        out.push_back({from, e, PiiKind::Secret});
        i = e - 1;
      }
    }
  }
}

// ---- values of sensitive keys --------------------------------------------------

enum class KeyKind { None, Password, Token, Phone };

bool is_key_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

// What a key names, from its parts: api_key, apiKey, X-Api-Key, client_secret,
// access_token, password, phone_number... ("keyword" or "author" name nothing).
KeyKind key_kind(std::string_view key) {
  if (key.size() > 64) return KeyKind::None;
  KeyKind kind = KeyKind::None;
  std::string part;
  auto close = [&] {
    static constexpr std::string_view kPassword[] = {"password", "passwd", "pwd", "passphrase"};
    static constexpr std::string_view kToken[] = {"key",  "apikey",     "token",       "secret",
                                                  "auth", "authorization", "credential", "credentials",
                                                  "jwt"};
    static constexpr std::string_view kPhone[] = {"phone", "tel",  "telephone", "mobile",
                                                  "cell",  "fax",  "msisdn",    "phonenumber"};
    auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), part) != std::end(list); };
    if (in(kPassword)) kind = KeyKind::Password;
    else if (kind == KeyKind::None && in(kToken)) kind = KeyKind::Token;
    else if (kind == KeyKind::None && in(kPhone)) kind = KeyKind::Phone;
    part.clear();
  };
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (!is_alnum(c)) {
      close();
      continue;
    }
    if (i > 0 && c >= 'A' && c <= 'Z' && key[i - 1] >= 'a' && key[i - 1] <= 'z') close();
    part += lower(c);
  }
  close();
  return kind;
}

bool is_secret_char(char c) {
  return is_alnum(c) || std::string_view("+/=_.-").find(c) != std::string_view::npos;
}
bool is_phone_char(char c) { return is_digit(c) || std::string_view(" -.()+").find(c) != std::string_view::npos; }

constexpr std::size_t kMaxValueChars = 256;

// Values that hide nothing: empty, masked, null, a placeholder, a structure.
bool trivial_password(std::string_view v) {
  std::string low;
  for (char c : v) low += lower(c);
  return v.size() < 4 || v.front() == '[' || v.front() == '{' ||
         std::all_of(v.begin(), v.end(), [](char c) { return c == '*'; }) || low == "null" ||
         low == "none" || low == "true" || low == "false";
}

// A generated secret rather than a name: long, and hex, or mixed case with
// digits, or many digits among letters. "public_profile_v3_desktop" and
// "max_retries_per_call" are names.
bool looks_random(std::string_view v) {
  if (v.size() < 16) return false;
  std::size_t digits = 0, upper = 0, lower_case = 0, hex = 0;
  for (char c : v) {
    digits += is_digit(c);
    upper += c >= 'A' && c <= 'Z';
    lower_case += c >= 'a' && c <= 'z';
    hex += is_hex(c);
  }
  const std::size_t letters = upper + lower_case;
  if (hex == v.size()) return digits > 0 && letters > 0;
  return (upper > 0 && lower_case > 0 && digits >= 2) || (digits >= 4 && letters >= 4);
}

// The sensitive part of a value of a key of `kind` starting at s[i] (after
// the separator and any opening quote `quote`), as [b, e); e == b if none.
std::pair<std::size_t, std::size_t> sensitive_value(std::string_view s, std::size_t i, KeyKind kind,
                                                    char quote) {
  const std::size_t limit = i + kMaxValueChars;
  std::size_t e = i;
  switch (kind) {
    case KeyKind::Password: {
      if (quote) {
        while (e < s.size() && e < limit && s[e] != quote) e += s[e] == '\\' ? 2 : 1;
        e = std::min(e, s.size());
      } else {
        while (e < s.size() && e < limit &&
               std::string_view(" \t\r\n,;&}])\"'").find(s[e]) == std::string_view::npos) {
          ++e;
        }
      }
      return {i, trivial_password(s.substr(i, e - i)) ? i : e};
    }
    case KeyKind::Token: {
      e = run_while(s, i, is_secret_char, limit);
      const bool delimited = e >= s.size() || !is_alnum(s[e]);
      return {i, delimited && looks_random(s.substr(i, e - i)) ? e : i};
    }
    case KeyKind::Phone: {
      e = run_while(s, i, is_phone_char, limit);
      while (e > i && !is_digit(s[e - 1])) --e;
      const std::string_view v = s.substr(i, e - i);
      const auto digits = std::count_if(v.begin(), v.end(), is_digit);
      return {i, digits >= 7 && digits <= 15 && ends_word(s, e) ? e : i};
    }
    case KeyKind::None:
      break;
  }
  return {i, i};
}

PiiKind kind_of(KeyKind k) { return k == KeyKind::Phone ? PiiKind::Phone : PiiKind::Secret; }

// `"api_key": "…"`, `password=…`, `phone: …`: at every ':' or '=', the key
// before it (at most 64 bytes back) and the value after it (at most 256).
void find_key_values(std::string_view s, Matches& out) {
  for (std::size_t c = 0; c < s.size(); ++c) {
    if (s[c] != ':' && s[c] != '=') continue;
    std::size_t p = c;
    while (p > 0 && s[p - 1] == ' ') --p;
    if (p > 0 && (s[p - 1] == '"' || s[p - 1] == '\'')) --p;
    const std::size_t key_end = p;
    while (p > 0 && key_end - p < 64 && is_key_char(s[p - 1])) --p;
    const KeyKind kind = key_kind(s.substr(p, key_end - p));
    if (kind == KeyKind::None) continue;
    std::size_t v = c + 1;
    while (v < s.size() && s[v] == ' ') ++v;
    char quote = 0;
    if (v < s.size() && (s[v] == '"' || s[v] == '\'')) quote = s[v++];
    const auto [b, e] = sensitive_value(s, v, kind, quote);
    if (e > b) {
      out.push_back({b, e, kind_of(kind)});
      c = e - 1;
    }
  }
}

// ---- phone numbers -------------------------------------------------------------

// +<country> and 8 to 15 digits with single spaces, dots, dashes or
// parentheses between them: +1 415 555 0100, +44 (20) 7946-0958.
std::size_t international_phone_end(std::string_view s, std::size_t i) {
  std::size_t e = i + 1;
  std::size_t digits = 0;
  std::size_t last_digit = 0;
  while (e < s.size() && e - i < 40) {
    const char c = s[e];
    if (is_digit(c)) {
      ++digits;
      last_digit = e + 1;
    } else if (c == '(' || c == ')' ||
               ((c == ' ' || c == '-' || c == '.') && e + 1 < s.size() &&
                (is_digit(s[e + 1]) || s[e + 1] == '('))) {
      // a separator inside the number
    } else {
      break;
    }
    ++e;
  }
  return digits >= 8 && digits <= 15 && ends_word(s, last_digit) ? last_digit : 0;
}

bool digits_at(std::string_view s, std::size_t i, std::size_t n) {
  if (i + n > s.size()) return false;
  for (std::size_t k = 0; k < n; ++k) {
    if (!is_digit(s[i + k])) return false;
  }
  return true;
}

// North American shapes: (415) 555-0100, 415-555-0100, 415.555.0100. Dates
// (2026-01-02), times and space-separated number lists do not have them.
std::size_t nanp_phone_end(std::string_view s, std::size_t i) {
  std::size_t p = i;
  char sep = 0;
  if (s[p] == '(') {
    if (!digits_at(s, p + 1, 3) || p + 4 >= s.size() || s[p + 4] != ')') return 0;
    p += 5;
    if (p < s.size() && s[p] == ' ') ++p;
    if (!digits_at(s, p, 3) || p + 3 >= s.size()) return 0;
    sep = s[p + 3];
    if (sep != '-' && sep != '.' && sep != ' ') return 0;
    p += 4;
  } else {
    if (!digits_at(s, p, 3) || p + 3 >= s.size()) return 0;
    sep = s[p + 3];
    if (sep != '-' && sep != '.') return 0;
    if (!digits_at(s, p + 4, 3) || p + 7 >= s.size() || s[p + 7] != sep) return 0;
    p += 8;
  }
  if (!digits_at(s, p, 4)) return 0;
  const std::size_t e = p + 4;
  const bool continues = e < s.size() && (is_alnum(s[e]) || ((s[e] == '-' || s[e] == '.') &&
                                                             e + 1 < s.size() && is_digit(s[e + 1])));
  return continues ? 0 : e;
}

bool not_in_number(char c) { return !is_alnum(c) && c != '-' && c != '.' && c != '+' && c != '/' && c != ':'; }

void find_phones(std::string_view s, Matches& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t e = 0;
    if (s[i] == '+' && i + 1 < s.size() && is_digit(s[i + 1]) &&
        starts_word(s, i, [](char c) { return is_alnum(c) || c == '+'; })) {
      e = international_phone_end(s, i);
    } else if ((is_digit(s[i]) || s[i] == '(') && starts_word(s, i, [](char c) { return !not_in_number(c); })) {
      e = nanp_phone_end(s, i);
    }
    if (e > i) {
      out.push_back({i, e, PiiKind::Phone});
      i = e - 1;
    }
  }
}

// ---- IP addresses ----------------------------------------------------------------

// One octet 0..255 without leading zeros at s[i]; its end or 0.
std::size_t octet_end(std::string_view s, std::size_t i, int& value) {
  const std::size_t e = run_while(s, i, is_digit, i + 4);
  if (e == i || e - i > 3 || (e - i > 1 && s[i] == '0')) return 0;
  value = 0;
  for (std::size_t k = i; k < e; ++k) value = value * 10 + (s[k] - '0');
  return value <= 255 ? e : 0;
}

std::size_t ipv4_end(std::string_view s, std::size_t i, int& first) {
  std::size_t p = i;
  for (int k = 0; k < 4; ++k) {
    int value = 0;
    const std::size_t e = octet_end(s, p, value);
    if (!e) return 0;
    if (k == 0) first = value;
    p = e;
    if (k < 3) {
      if (p >= s.size() || s[p] != '.') return 0;
      ++p;
    }
  }
  // Not a longer dotted number (1.2.3.4.5, 1.2.3.4.5e) nor part of a word.
  if (p < s.size() && (is_alnum(s[p]) || (s[p] == '.' && p + 1 < s.size() && is_digit(s[p + 1])))) return 0;
  return p;
}

// Whether the word before s[i] (past spaces, ':' and '=') is "version",
// "ver", "release" or "build": "version 4.10.0.84" is no address.
bool after_version_word(std::string_view s, std::size_t i) {
  std::size_t p = i;
  while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == ':' || s[p - 1] == '=' || s[p - 1] == '"')) --p;
  const std::size_t end = p;
  while (p > 0 && end - p < 8 && is_alpha(s[p - 1])) --p;
  std::string word;
  for (char c : s.substr(p, end - p)) word += lower(c);
  return word == "version" || word == "ver" || word == "release" || word == "build";
}

bool is_ipv6_char(char c) { return is_hex(c) || c == ':'; }

// Full (8 groups) or compressed (one "::") IPv6 of hex groups of up to 4
// digits. Times (10:30:00), MAC addresses and C++ names (std::map, ab::cd)
// do not qualify.
std::size_t ipv6_end(std::string_view s, std::size_t i) {
  std::size_t e = run_while(s, i, is_ipv6_char, i + 45);
  if (e < s.size() && (is_alnum(s[e]) || s[e] == '.')) return 0;  // an embedded IPv4 or a word
  while (e > i && s[e - 1] == ':' && !(e - i >= 2 && s[e - 2] == ':')) --e;  // "addr:" ends a sentence
  const std::string_view v = s.substr(i, e - i);
  const std::size_t compressed = v.find("::");
  if (compressed != std::string_view::npos && v.find("::", compressed + 1) != std::string_view::npos) return 0;
  std::size_t groups = 0;
  std::size_t longest = 0;
  std::size_t len = 0;
  for (char c : v) {
    if (c == ':') {
      if (len) ++groups;
      len = 0;
      continue;
    }
    if (++len > 4) return 0;
    longest = std::max(longest, len);
  }
  if (len) ++groups;
  const bool full = compressed == std::string_view::npos && groups == 8;
  const bool short_form = compressed != std::string_view::npos && groups >= 1 && groups <= 7 && longest >= 3;
  if (!full && !short_form) return 0;
  if (v == "::1" || v == "::") return 0;  // loopback and unspecified identify nobody
  return e;
}

void find_ips(std::string_view s, Matches& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    // Cheap first tests: an octet and a dot; a colon within a group's reach.
    const bool dotted = is_digit(s[i]) && (s.substr(i, 4).find('.') != std::string_view::npos);
    if (dotted && starts_word(s, i, [](char c) { return is_alnum(c) || c == '.'; })) {
      int first = 0;
      if (const std::size_t e = ipv4_end(s, i, first)) {
        // Loopback, "this network" and netmasks identify nobody; a dotted
        // quad after "version" is a version.
        if (first != 127 && first != 0 && first != 255 && !after_version_word(s, i)) {
          out.push_back({i, e, PiiKind::Ip});
        }
        i = e - 1;
        continue;
      }
    }
    if ((is_hex(s[i]) || s[i] == ':') && s.substr(i, 6).find(':') != std::string_view::npos &&
        starts_word(s, i, [](char c) { return is_alnum(c) || c == ':' || c == '.'; })) {
      if (const std::size_t e = ipv6_end(s, i)) {
        out.push_back({i, e, PiiKind::Ip});
        i = e - 1;
        continue;
      }
      // Skip the rest of this hex/colon run: it cannot start an address either.
      while (i + 1 < s.size() && is_ipv6_char(s[i + 1])) ++i;
      continue;
    }
    // Skip the rest of a word: addresses start at word boundaries only.
    while (is_alnum(s[i]) && i + 1 < s.size() && is_alnum(s[i + 1])) ++i;
  }
}

// ---- card numbers ----------------------------------------------------------------

bool luhn_ok(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (std::size_t k = digits.size(); k-- > 0;) {
    int d = digits[k] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// 13 to 19 digits, Luhn-valid, starting like a card issuer's number (2-6:
// Mastercard, Amex, Visa, Discover, JCB, UnionPay). Epoch timestamps in ms,
// us or ns start with 1 and are left alone. Groups may be separated by one
// space or dash, the same throughout.
void find_cards(std::string_view s, Matches& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    // After ':' or '=' a card may follow (`"card":4111...`), unlike a phone.
    if (!is_digit(s[i]) || !starts_word(s, i, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; })) {
      continue;
    }
    std::string digits;  // small: stops past 19 digits
    std::vector<std::pair<std::size_t, std::size_t>> group_ends;  // (end offset, digits so far)
    char sep = 0;
    std::size_t p = i;
    while (true) {
      const std::size_t e = run_while(s, p, is_digit, p + 20);
      digits.append(s.substr(p, e - p));
      group_ends.push_back({e, digits.size()});
      if (digits.size() > 19 || e >= s.size()) break;
      const char c = s[e];
      if ((c != ' ' && c != '-') || (sep && c != sep) || e + 1 >= s.size() || !is_digit(s[e + 1])) break;
      sep = c;
      p = e + 1;
    }
    const std::size_t run_end = group_ends.back().first;
    bool found = false;
    for (std::size_t g = group_ends.size(); g-- > 0 && !found;) {
      const auto [end, count] = group_ends[g];
      if (count < 13 || count > 19) continue;
      if (group_ends.size() == 1 && !(end >= s.size() || (!is_alnum(s[end]) && s[end] != '.'))) break;
      const std::string_view number(digits.data(), count);
      if (number[0] < '2' || number[0] > '6' || !luhn_ok(number)) continue;
      if (end < s.size() && is_alnum(s[end])) continue;
      out.push_back({i, end, PiiKind::Card});
      i = end - 1;
      found = true;
    }
    if (!found) i = std::max(i, run_end - 1);
  }
}

// Keeps the earliest, then longest, of overlapping matches.
Matches resolve(Matches all) {
  std::sort(all.begin(), all.end(), [](const PiiMatch& a, const PiiMatch& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  Matches kept;
  for (const PiiMatch& m : all) {
    if (kept.empty() || m.begin >= kept.back().end) kept.push_back(m);
  }
  return kept;
}

std::string normalized_value(PiiKind kind, std::string_view v) {
  std::string out;
  switch (kind) {
    case PiiKind::Phone:
    case PiiKind::Card:
      for (char c : v) {
        if (is_digit(c)) out += c;
      }
      return out;
    case PiiKind::Email:
    case PiiKind::Ip:
      for (char c : v) out += lower(c);
      return out;
    case PiiKind::Secret:
      break;
  }
  return std::string(v);
}

constexpr const char* kKindNames[kPiiKindCount] = {"email", "phone", "ip", "card", "secret"};
constexpr const char* kPlaceholderNames[kPiiKindCount] = {"EMAIL", "PHONE", "IP", "CARD", "SECRET"};

}  // namespace

const char* pii_kind_name(PiiKind kind) { return kKindNames[static_cast<std::size_t>(kind)]; }

std::vector<PiiMatch> find_pii(std::string_view text, std::string_view key_hint) {
  Matches all;
  // A whole value of a sensitive column (`api_key`, `phone`).
  const KeyKind hinted = key_kind(key_hint);
  if (hinted != KeyKind::None) {
    std::size_t b = 0;
    std::size_t e = text.size();
    while (b < e && (text[b] == ' ' || text[b] == '"')) ++b;
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '"')) --e;
    if (hinted == KeyKind::Password) {
      // Any password, spaces and all.
      if (!trivial_password(text.substr(b, e - b))) all.push_back({b, e, PiiKind::Secret});
    } else {
      const auto [vb, ve] = sensitive_value(text.substr(0, e), b, hinted, 0);
      if (ve == e && ve > vb) all.push_back({vb, ve, kind_of(hinted)});
    }
  }
  find_credentials(text, all);
  find_key_values(text, all);
  find_emails(text, all);
  find_cards(text, all);
  find_phones(text, all);
  find_ips(text, all);
  return resolve(std::move(all));
}

const std::string& PiiRedactor::placeholder(PiiKind kind, std::string_view value) {
  const std::size_t k = static_cast<std::size_t>(kind);
  std::string key = kKindNames[k];
  key += '\x1f';
  key += normalized_value(kind, value);
  auto it = placeholders_.find(key);
  if (it == placeholders_.end()) {
    const std::string name =
        std::string("[") + kPlaceholderNames[k] + "_" + std::to_string(++distinct_[k]) + "]";
    it = placeholders_.emplace(std::move(key), name).first;
  }
  ++replaced_[k];
  return it->second;
}

std::string PiiRedactor::redact(std::string_view text, bool is_json, std::string_view key_hint) {
  const std::vector<PiiMatch> matches = find_pii(text, key_hint);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  bool in_string = false;  // JSON string state at `pos`
  for (const PiiMatch& m : matches) {
    if (is_json) {
      for (std::size_t k = pos; k < m.begin; ++k) {
        if (text[k] == '\\' && in_string) {
          ++k;
        } else if (text[k] == '"') {
          in_string = !in_string;
        }
      }
    }
    out.append(text.substr(pos, m.begin - pos));
    const std::string& name = placeholder(m.kind, text.substr(m.begin, m.end - m.begin));
    const bool quote = is_json && !in_string;  // a bare JSON number becomes a string
    if (quote) out += '"';
    out += name;
    if (quote) out += '"';
    pos = m.end;
  }
  out.append(text.substr(pos));
  return out;
}

void PiiRedactor::redact(Field& field) {
  field.value = redact(field.value, field.is_json, field.is_json ? std::string_view() : field.name);
}

void PiiRedactor::redact(Trajectory& trajectory) {
  trajectory.agent = redact(trajectory.agent);
  for (Turn& turn : trajectory.turns) {
    turn.agent = redact(turn.agent);
    for (Field& f : turn.fields) redact(f);
  }
}

std::map<std::string, int> PiiRedactor::counts() const {
  std::map<std::string, int> out;
  for (std::size_t k = 0; k < kPiiKindCount; ++k) {
    if (replaced_[k] > 0) out[kKindNames[k]] = replaced_[k];
  }
  return out;
}

int PiiRedactor::total() const {
  int sum = 0;
  for (int n : replaced_) sum += n;
  return sum;
}

}  // namespace trajc
