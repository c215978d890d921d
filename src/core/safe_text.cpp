// Makes text from outside fit to store: valid UTF-8, no NUL, bounded. The
// database refuses NUL and invalid UTF-8, and a dump of such text does not
// restore; a 5 MB error message helps nobody.
//
// Must never: drop text silently (a cut ends in a note, a bad byte becomes
// U+FFFD) or split a character.
#include "trajc/safe_text.hpp"

#include <algorithm>

namespace trajc {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool in(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// Length of the well-formed UTF-8 sequence at text[i] (Unicode's table 3-7),
// or 0 when there is none; `bad` is then how many bytes make its longest
// invalid prefix (at least 1), which one U+FFFD replaces.
std::size_t sequence_at(std::string_view text, std::size_t i, std::size_t& bad) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  bad = 1;
  if (lead < 0x80) return lead == 0 ? 0 : 1;  // NUL counts as invalid here
  std::size_t length = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (in(lead, 0xC2, 0xDF)) {
    length = 2;
  } else if (in(lead, 0xE0, 0xEF)) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;          // no overlong forms
    if (lead == 0xED) hi = 0x9F;          // no surrogates
  } else if (in(lead, 0xF0, 0xF4)) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;          // no overlong forms
    if (lead == 0xF4) hi = 0x8F;          // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size()) return 0;
    const unsigned char c = static_cast<unsigned char>(text[i + k]);
    if (!(k == 1 ? in(c, lo, hi) : in(c, 0x80, 0xBF))) return 0;
    bad = k + 1;
  }
  return length;
}

}  // namespace

std::string safe_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + kReplacement.size());
  std::size_t i = 0;
  // Stops once past the limit: what follows is cut anyway.
  while (i < text.size() && out.size() <= max_bytes) {
    std::size_t bad = 1;
    const std::size_t length = sequence_at(text, i, bad);
    if (length > 0) {
      out.append(text, i, length);
      i += length;
    } else {
      out += kReplacement;
      i += bad;
    }
  }
  if (out.size() <= max_bytes) return out;
  std::string note = "... [cut: " + std::to_string(text.size()) + " bytes in all]";
  if (note.size() > max_bytes) note.clear();
  std::size_t keep = max_bytes - note.size();
  // out[keep] is the first byte dropped: back off to the start of its character.
  while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;
  out.resize(keep);
  return out + note;
}

}  // namespace trajc
