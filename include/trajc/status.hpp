// A session compile's status: the values of trajc.compile_log.status and of
// the status column trajc_compile_batch / trajc_compile_session return.
//
// Must never: be compared or switched on as text anywhere else; name() and
// parse() are the only places that spell the words.
#pragma once
#include "trajc/core_guard.hpp"

#include <optional>
#include <string_view>

namespace trajc {

enum class Status {
  Ok,       // pairs kept
  Empty,    // a usable reply with no pair that passed validation
  Failed,   // no usable reply, or storing it failed; nothing kept
  Skipped,  // not compiled: unchanged, claimed by another run, gone, or over budget
};

// "ok" | "empty" | "failed" | "skipped"
const char* status_name(Status s);
// The inverse of status_name; nullopt for any other text.
std::optional<Status> parse_status(std::string_view name);

}  // namespace trajc
