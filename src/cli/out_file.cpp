// Output files of an export (see out_file.hpp). Must never delete a file it
// did not create, or one whose writer is still alive (its lock says so).
#include "out_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "signals.hpp"

namespace trajc_cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTempMark = ".tmp-trajc-";
constexpr std::size_t kSuffixLength = 6;

fs::path directory_of(const fs::path& p) {
  return p.parent_path().empty() ? fs::path(".") : p.parent_path();
}

// ".<name>.tmp-trajc-": what every temporary file of `path` starts with.
std::string temp_prefix(const fs::path& p) { return "." + p.filename().string() + kTempMark; }

bool is_temp_name(const std::string& name, const std::string& prefix) {
  return name.size() == prefix.size() + kSuffixLength &&
         name.compare(0, prefix.size(), prefix) == 0;
}

// Deletes `file` if nobody holds its lock, i.e. its writer is gone. The
// inode check makes sure the name still means the file that was locked.
void remove_if_abandoned(const fs::path& file) {
  const int fd = open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  struct stat held {};
  struct stat named {};
  if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
      stat(file.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
      named.st_ino == held.st_ino)
    unlink(file.c_str());
  close(fd);  // releases the lock
}

void remove_abandoned_temp_files(const fs::path& path) {
  const std::string prefix = temp_prefix(path);
  std::error_code ec;
  for (fs::directory_iterator it(directory_of(path), ec), end; !ec && it != end; it.increment(ec))
    if (is_temp_name(it->path().filename().string(), prefix)) remove_if_abandoned(it->path());
}

// Creates a new temporary file for `path`, locked, and names it in `name`.
// Between open and flock another run could take it for abandoned and delete
// it; this run's rename then fails and says so: nothing is lost.
int create_locked_temp(const fs::path& path, std::string& name) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device random;
  for (int attempt = 0; attempt < 100; attempt++) {
    std::string suffix;
    for (std::size_t i = 0; i < kSuffixLength; i++)
      suffix += kChars[random() % (sizeof kChars - 1)];
    name = (directory_of(path) / (temp_prefix(path) + suffix)).string();
    // 0666 so the umask decides, as for any file the user creates.
    const int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) break;
    if (flock(fd, LOCK_EX) == 0) return fd;
    close(fd);
    unlink(name.c_str());
    break;
  }
  throw CliError(kExitUsage, "cannot write " + name + ": " + std::strerror(errno));
}

}  // namespace

void prepare_output_path(const std::string& path) {
  if (path.empty()) throw usage_error("--out needs a file name", "use --out - for stdout (JSONL)");
  if (path == ":memory:")
    throw usage_error("--out :memory: is no file: the export would be lost",
                      "give the path of a file");
  const fs::path p(path);
  const fs::path dir = directory_of(p);
  auto fail = [&](const std::string& why) {
    return CliError(kExitUsage, "cannot write " + path + ": " + why);
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw fail("cannot create directory " + dir.string() + ": " + ec.message());
  if (fs::is_directory(p)) throw fail("it is a directory");
  const fs::file_status status = fs::status(p, ec);
  if (fs::exists(status) && !fs::is_regular_file(status))
    throw fail("it is not a regular file (for stdout, use --out -)");
  if (access(dir.c_str(), W_OK) != 0) throw fail(dir.string() + ": " + std::strerror(errno));
  if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0)
    throw fail(std::strerror(errno));
}

LineFile::LineFile(const std::string& path) : path_(path) {
  if (path_ == "-") {
    file_ = stdout;
    return;
  }
  remove_abandoned_temp_files(path_);
  const int fd = create_locked_temp(path_, tmp_);
  remove_on_signal(tmp_);
  file_ = fdopen(fd, "wb");
  if (!file_) {
    const int err = errno;
    remove_on_signal("");
    unlink(tmp_.c_str());
    close(fd);
    throw failure(err);
  }
}

LineFile::~LineFile() {
  if (!file_ || file_ == stdout) return;
  // Not committed: the previous file stays. Unlink before closing, so the
  // lock covers the file until its name is gone.
  remove_on_signal("");
  unlink(tmp_.c_str());
  std::fclose(file_);
}

void LineFile::line(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
      std::fputc('\n', file_) == EOF)
    throw failure(errno);
}

void LineFile::commit() {
  if (std::fflush(file_) != 0) throw failure(errno);
  if (file_ == stdout) return;
  if (fsync(fileno(file_)) != 0) throw failure(errno);
  // Renamed while still open and locked: no run can take it for abandoned.
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    // A signal between the last check and here has deleted the file.
    if (interrupted()) throw CliError(kExitInterrupted, "interrupted");
    throw failure(errno);
  }
  remove_on_signal("");
  std::FILE* done = file_;
  file_ = nullptr;
  if (std::fclose(done) != 0) throw failure(errno);
}

CliError LineFile::failure(int err) const {
  return CliError(kExitUsage, "cannot write " + path_ + ": " + std::strerror(err));
}

}  // namespace trajc_cli
