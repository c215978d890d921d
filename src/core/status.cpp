// The spelling of each Status, in both directions.
//
// Must never: accept a word status_name() does not produce (the compile_log
// CHECK constraint allows exactly these four).
#include "trajc/status.hpp"

namespace trajc {

namespace {
constexpr Status kAll[] = {Status::Ok, Status::Empty, Status::Failed, Status::Skipped};
}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Empty: return "empty";
    case Status::Failed: return "failed";
    case Status::Skipped: return "skipped";
  }
  return "failed";  // unreachable: every enumerator is handled above
}

std::optional<Status> parse_status(std::string_view name) {
  for (Status s : kAll)
    if (name == status_name(s)) return s;
  return std::nullopt;
}

}  // namespace trajc
