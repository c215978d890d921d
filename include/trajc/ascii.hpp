// ASCII text helpers for the whole project: classify, trim, case-fold, compare.
//
// Why not <cctype>: inside a backend the process locale is the database's
// LC_CTYPE, which may be a single-byte locale whose isspace()/tolower() treat
// bytes of UTF-8 text as letters or spaces. Everything trajc compares without
// regard to case (header names, HTTP dates, column names, enum words) is ASCII.
//
// Must never: depend on the locale, or touch a byte >= 0x80 (UTF-8 passes
// through unchanged).
#pragma once
#include "trajc/core_guard.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace trajc::ascii {

// The C locale's isspace() set.
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

inline std::string_view trim_start(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view trim_end(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view trim(std::string_view s) { return trim_end(trim_start(s)); }

inline std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}
inline std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_upper);
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}
inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace trajc::ascii
