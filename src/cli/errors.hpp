// Exit codes and the one error type of the command-line tool. Must never
// grow a second way to fail: every error is a CliError that main() prints.
#pragma once

#include <stdexcept>
#include <string>

namespace trajc_cli {

// Scripts branch on these; keep them stable (documented in `trajc help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,        // some sessions failed, or the server refused a request
  kExitUsage = 2,         // bad arguments, unreachable database, missing extension or table
  kExitInterrupted = 130  // Ctrl-C / SIGTERM: finished work kept, the rest rolled back
};

// Carries the message shown to the user and the exit code it maps to; main()
// prints it once, so no other code writes error text and exits on its own.
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message, std::string hint = {},
           std::string sqlstate = {})
      : std::runtime_error(message),
        code_(code),
        hint_(std::move(hint)),
        sqlstate_(std::move(sqlstate)) {}
  ExitCode code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }
  // The server's SQLSTATE when the error came from Postgres, else empty.
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  ExitCode code_;
  std::string hint_;
  std::string sqlstate_;
};

inline CliError usage_error(const std::string& message, std::string hint = {}) {
  return CliError(kExitUsage, message, std::move(hint));
}

}  // namespace trajc_cli
