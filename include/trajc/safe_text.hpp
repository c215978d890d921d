// Text that came from outside (a model server's reply or error, a log) made
// fit to store and show: what the core hands to the database or a terminal.
//
// Must never: hide that text was cut or replaced.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace trajc {

// An error message longer than this is cut: enough to read what went wrong.
inline constexpr std::size_t kMaxErrorBytes = 2000;

// Valid UTF-8 (each invalid byte, surrogate, overlong form or cut multibyte
// character becomes U+FFFD), without NUL bytes (also U+FFFD), and at most
// max_bytes bytes: longer text is cut at a character boundary and ends with a
// note saying how long it was.
std::string safe_text(std::string_view text,
                      std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

}  // namespace trajc
