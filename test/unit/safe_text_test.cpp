// Issue 9, item 6: text from outside becomes valid UTF-8, NUL-free and
// bounded before the core returns it.
#include "trajc/safe_text.hpp"

#include <gtest/gtest.h>

namespace trajc {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

TEST(SafeText, KeepsValidText) {
  const std::string text = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80, tab\tnewline\n";
  EXPECT_EQ(safe_text(text), text);
  EXPECT_EQ(safe_text(""), "");
}

TEST(SafeText, ReplacesNulAndInvalidSequences) {
  EXPECT_EQ(safe_text(std::string("a\0b", 3)), "a" + kReplacement + "b");
  EXPECT_EQ(safe_text("a\xFF" "b"), "a" + kReplacement + "b");
  EXPECT_EQ(safe_text("\x80"), kReplacement);                      // a lone continuation byte
  EXPECT_EQ(safe_text("\xC0\xAF"), kReplacement + kReplacement);   // overlong '/'
  EXPECT_EQ(safe_text("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // a surrogate
  EXPECT_EQ(safe_text("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(safe_text("caf\xC3"), "caf" + kReplacement);           // cut at the end
  EXPECT_EQ(safe_text("\xE2\x82x"), kReplacement + "x");           // cut in the middle
}

TEST(SafeText, BoundsLongTextWithANote) {
  const std::string five_mb(5 << 20, 'x');
  const std::string out = safe_text(five_mb, kMaxErrorBytes);
  EXPECT_LE(out.size(), kMaxErrorBytes);
  EXPECT_GT(out.size(), kMaxErrorBytes - 100);
  EXPECT_NE(out.find("5242880 bytes"), std::string::npos) << out.substr(out.size() - 60);
  EXPECT_EQ(safe_text("short", 100), "short");
  // The cut never splits a character.
  std::string euros;
  for (int i = 0; i < 1000; ++i) euros += "\xE2\x82\xAC";
  for (std::size_t limit : {std::size_t{100}, std::size_t{101}, std::size_t{102}}) {
    const std::string cut = safe_text(euros, limit);
    EXPECT_LE(cut.size(), limit);
    EXPECT_EQ(safe_text(cut), cut);
  }
}

}  // namespace
}  // namespace trajc
