// See text_fold.hpp. Models write “quotes”, en dashes and non-breaking
// spaces where logs have ASCII; both sides are folded the same way.
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
  bool space = false;
  const std::size_t start = out.size();
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::string_view piece(&in[i], 1);
    // Every folded character starts with 0xC2 or 0xE2: one test for the rest.
    if (in[i] == '\xC2' || in[i] == '\xE2') {
      for (const Fold& f : kFolds) {
        if (in.compare(i, f.utf8.size(), f.utf8) == 0) {
          piece = f.ascii;
          i += f.utf8.size() - 1;
          break;
        }
      }
    }
    if (piece.size() == 1 && is_space(piece[0])) {
      space = true;
      continue;
    }
    if (space && out.size() > start) out += ' ';
    space = false;
    for (char c : piece) out += lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

}  // namespace trajc
