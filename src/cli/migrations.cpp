// Loading and applying the numbered migrations (see migrations.hpp). Must
// never know a target's SQL dialect: targets live beside their database
// wrappers (sqlite.hpp, pg.hpp).
#include "migrations.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "errors.hpp"

namespace trajc_cli {

namespace fs = std::filesystem;

namespace {

// NNN from "NNN_name.sql", or -1 when the name does not follow the pattern.
int version_of(const std::string& file_name) {
  std::size_t digits = 0;
  while (digits < file_name.size() && std::isdigit(static_cast<unsigned char>(file_name[digits])))
    digits++;
  if (digits == 0 || digits >= file_name.size() || file_name[digits] != '_' ||
      fs::path(file_name).extension() != ".sql")
    return -1;
  return std::atoi(file_name.substr(0, digits).c_str());
}

void add(std::vector<Migration>& out, const std::string& file_name, std::string sql) {
  int v = version_of(file_name);
  if (v < 0) return;  // README and other files beside the migrations
  for (const auto& m : out)
    if (m.version == v)
      throw CliError(kExitFailed, "two migrations share version " + std::to_string(v) + ": " +
                                      m.name + " and " + file_name);
  out.push_back({v, file_name, std::move(sql)});
}

}  // namespace

std::vector<Migration> load_migrations(const std::string& kind) {
  std::vector<Migration> out;
  if (const char* dir = std::getenv("TRAJC_MIGRATIONS"); dir && *dir) {
    fs::path sub = fs::path(dir) / kind;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(sub, ec)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      add(out, entry.path().filename().string(), text.str());
    }
    if (ec)
      throw CliError(kExitUsage,
                     "TRAJC_MIGRATIONS: cannot read " + sub.string() + ": " + ec.message());
  } else {
    const std::string prefix = kind + "/";
    for (std::size_t i = 0; i < kEmbeddedMigrationCount; i++) {
      std::string path = kEmbeddedMigrations[i].path;
      if (path.compare(0, prefix.size(), prefix) == 0)
        add(out, path.substr(prefix.size()), kEmbeddedMigrations[i].sql);
    }
  }
  if (out.empty()) throw CliError(kExitFailed, "no " + kind + " migrations found");
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

int apply_migrations(const std::vector<Migration>& migrations, MigrationTarget& target) {
  std::vector<int> applied_list = target.applied_versions();
  std::set<int> applied(applied_list.begin(), applied_list.end());
  const int newest_known = migrations.back().version;
  if (!applied.empty() && *applied.rbegin() > newest_known)
    throw CliError(kExitUsage,
                   target.describe() + " has schema version " + std::to_string(*applied.rbegin()) +
                       ", newer than this trajc knows (" + std::to_string(newest_known) + ")",
                   "upgrade trajc, or export to a new file");
  int ran = 0;
  for (const auto& m : migrations) {
    if (applied.count(m.version)) continue;
    target.run(m);
    target.record(m);
    ran++;
  }
  return ran;
}

}  // namespace trajc_cli
