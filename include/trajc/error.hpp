// The core's one exception type and the SQLSTATEs it carries.
//
// Must never: hold a secret in a message (callers redact first), or be
// thrown across a Postgres frame (src/pg/cpp_call.hpp catches it).
#pragma once
#include "trajc/core_guard.hpp"

#include <stdexcept>
#include <string>

namespace trajc {

// SQLSTATEs the core raises; the boundary turns them into ereport(ERROR) codes.
namespace sqlstate {
inline constexpr const char* kInvalidParameter = "22023";  // bad argument or setting
inline constexpr const char* kInvalidJson = "22P02";       // model reply is not usable JSON
inline constexpr const char* kQueryCanceled = "57014";     // cancel / statement_timeout
inline constexpr const char* kExternal = "58000";          // HTTP or provider failure
inline constexpr const char* kOutOfMemory = "53200";
inline constexpr const char* kInternal = "XX000";
}  // namespace sqlstate

// The one exception type of the core: a message and the SQLSTATE it maps to.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

}  // namespace trajc
