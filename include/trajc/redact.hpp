// PII redaction (trajc.redact = 'pii'): e-mail addresses, phone numbers, IP
// addresses, card numbers and credential-like tokens become typed
// placeholders ([EMAIL_1], [SECRET_2]) before trajectory text leaves the
// server. Hand-written linear scanners (no std::regex: it backtracks and can
// overflow the stack on long input); never throws beyond std::bad_alloc.
// Not to be confused with trajc::redact(text, secret) in provider.hpp, which
// hides one known API key in error messages.
//
// Must never: let a recognized value through in any field or agent name,
// change a value it does not recognize, or backtrack (linear in the text).
#pragma once
#include "trajc/core_guard.hpp"

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trajc/trajectory.hpp"

namespace trajc {

enum class PiiKind { Email, Phone, Ip, Card, Secret };
inline constexpr std::size_t kPiiKindCount = 5;
// "email", "phone", "ip", "card", "secret": the keys of compile_log.redactions.
const char* pii_kind_name(PiiKind kind);

struct PiiMatch {
  std::size_t begin = 0;
  std::size_t end = 0;  // one past the last byte
  PiiKind kind = PiiKind::Email;
};

// The PII-like spans of text, in order and not overlapping. `key_hint` is the
// name the whole text is the value of (a column name), so that a bare value
// of a column `api_key` or `phone` is recognized too.
std::vector<PiiMatch> find_pii(std::string_view text, std::string_view key_hint = {});

// Replaces PII with placeholders numbered per kind, the same value by the same
// placeholder for the life of the object: use one per session, so questions
// and answers about a value stay consistent.
class PiiRedactor {
 public:
  // `is_json`: the text is a JSON document; a bare number replaced (a card
  // number) becomes a JSON string, so the document stays valid.
  std::string redact(std::string_view text, bool is_json = false, std::string_view key_hint = {});
  void redact(Field& field);
  // Every field value and agent name. Not the session id (the key pairs are
  // stored under; an operator's opaque id), turn times or column names.
  void redact(Trajectory& trajectory);

  // Replacements made so far by kind name (kinds with none left out).
  std::map<std::string, int> counts() const;
  int total() const;

 private:
  const std::string& placeholder(PiiKind kind, std::string_view value);

  std::unordered_map<std::string, std::string> placeholders_;  // kind + normalized value
  std::array<int, kPiiKindCount> distinct_{};
  std::array<int, kPiiKindCount> replaced_{};
};

}  // namespace trajc
