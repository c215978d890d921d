// Text folding shared by literal verification and near-duplicate keys:
// typographic quotes, dashes and spaces to ASCII, whitespace runs to one
// space, optionally ASCII lowercase. Byte-wise and linear; never throws
// beyond std::bad_alloc; leaves other UTF-8 as it is.
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <string_view>

namespace trajc {

void append_folded(std::string& out, std::string_view in, bool lowercase);

}  // namespace trajc
