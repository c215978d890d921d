// The files an export writes: checking --out before any work, and writing a
// line file atomically. Must never leave a half-written file where the user
// asked for one, nor a temporary file behind (even after kill -9: the next
// run removes it), nor replace anything but a regular file.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "errors.hpp"

namespace trajc_cli {

// Creates the parent directory and checks that `path` names a file that can
// be written (and its directory, for SQLite's journal or the temporary
// file). "", ":memory:" and anything that exists but is not a regular file
// are usage errors: an export must end up in a file the user can open.
void prepare_output_path(const std::string& path);

// Lines to a temporary file beside `path`, renamed over it on commit (or
// straight to stdout for "-"); without commit the previous file stays.
//
// The temporary file is `.<name>.tmp-trajc-XXXXXX` in the same directory, and
// its writer holds an flock on it for its whole life. A signal deletes it
// (signals.hpp); after a crash or kill -9 the lock is gone with the process,
// and the next LineFile for the same path deletes every such file it can
// lock: the ones whose writers are dead.
class LineFile {
 public:
  explicit LineFile(const std::string& path);
  ~LineFile();
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;

  void line(std::string_view text);  // text plus '\n'
  void commit();

 private:
  CliError failure(int err) const;
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
};

}  // namespace trajc_cli
