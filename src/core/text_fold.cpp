// See text_fold.hpp. Models write “quotes”, en dashes and non-breaking
// spaces where logs have ASCII; both sides are folded the same way.
// Must never: grow the text (every fold is at most as long as what it folds).
#include "trajc/text_fold.hpp"

namespace trajc {
namespace {

struct Fold {
  std::string_view utf8;
  std::string_view ascii;
};
constexpr Fold kFolds[] = {
    {"\xE2\x80\x9C", "\""}, {"\xE2\x80\x9D", "\""}, {"\xE2\x80\x9E", "\""},
    {"\xE2\x80\x9F", "\""}, {"\xC2\xAB", "\""},     {"\xC2\xBB", "\""},
    {"\xE2\x80\x98", "'"},  {"\xE2\x80\x99", "'"},  {"\xE2\x80\x9A", "'"},
    {"\xE2\x80\x9B", "'"},  {"\xE2\x80\x93", "-"},  {"\xE2\x80\x94", "-"},
    {"\xE2\x88\x92", "-"},  {"\xC2\xA0", " "},      {"\xE2\x80\xAF", " "},
    {"\xE2\x80\x89", " "},  {"\xE2\x80\xA6", "..."},
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

void append_folded(std::string& out, std::string_view in, bool lowercase) {
  // Folds only ever shorten text: write into room for all of `in`, then trim.
  const std::size_t start = out.size();
  out.resize(start + in.size());
  char* const begin = &out[0] + start;
  char* w = begin;
  bool space = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (is_space(c)) {
      space = true;
      continue;
    }
    std::string_view piece;
    // Every folded character starts with 0xC2 or 0xE2: one test for the rest.
    if (c == '\xC2' || c == '\xE2') {
      for (const Fold& f : kFolds) {
        if (in.compare(i, f.utf8.size(), f.utf8) == 0) {
          piece = f.ascii;
          i += f.utf8.size() - 1;
          break;
        }
      }
      if (piece == " ") {
        space = true;
        continue;
      }
    }
    if (space && w > begin) *w++ = ' ';
    space = false;
    if (!piece.empty()) {
      for (char p : piece) *w++ = p;
      continue;
    }
    if (lowercase && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    *w++ = c;
  }
  out.resize(start + static_cast<std::size_t>(w - begin));
}

}  // namespace trajc
