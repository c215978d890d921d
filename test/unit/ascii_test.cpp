// The shared ASCII helpers: whitespace, case and comparisons that ignore
// the locale and leave UTF-8 bytes alone.
#include "trajc/ascii.hpp"

#include <gtest/gtest.h>

#include <clocale>

using namespace trajc;

TEST(Ascii, TrimsTheCLocaleSpaces) {
  EXPECT_EQ(ascii::trim(" \t\n\r\f\vx y\v\f\r\n\t "), "x y");
  EXPECT_EQ(ascii::trim("   "), "");
  EXPECT_EQ(ascii::trim_start("  a "), "a ");
  EXPECT_EQ(ascii::trim_end("  a \n"), "  a");
}

TEST(Ascii, CaseFoldsOnlyAsciiLetters) {
  EXPECT_EQ(ascii::lower("Retry-After: GMT"), "retry-after: gmt");
  EXPECT_EQ(ascii::upper("string"), "STRING");
  // UTF-8 (and any byte >= 0x80) passes through untouched.
  EXPECT_EQ(ascii::lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");
  EXPECT_EQ(ascii::upper("\xC3\xA9t\xC3\xA9"), "\xC3\xA9T\xC3\xA9");
}

TEST(Ascii, ComparesWithoutCase) {
  EXPECT_TRUE(ascii::iequals("Content-Length", "content-length"));
  EXPECT_FALSE(ascii::iequals("abc", "abcd"));
  EXPECT_FALSE(ascii::iequals("\xC3\x89", "\xC3\xA9"));  // É is not é in ASCII terms
  EXPECT_TRUE(ascii::istarts_with("RETRY-AFTER: 3", "retry-after:"));
  EXPECT_FALSE(ascii::istarts_with("retry", "retry-after:"));
}

// A single-byte locale would make <cctype> call 0xA0 a space and 0xC9 a
// letter; the helpers must not change with the locale.
TEST(Ascii, IgnoresTheProcessLocale) {
  const char* before = std::setlocale(LC_CTYPE, nullptr);
  const std::string saved = before ? before : "C";
  std::setlocale(LC_CTYPE, "C.UTF-8");
  EXPECT_FALSE(ascii::is_space(static_cast<char>(0xA0)));
  EXPECT_FALSE(ascii::is_alpha(static_cast<char>(0xC9)));
  EXPECT_EQ(ascii::trim("\xA0x\xA0"), "\xA0x\xA0");
  std::setlocale(LC_CTYPE, saved.c_str());
}
