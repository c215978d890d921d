// Numbered schema migrations for the files and tables the tool writes:
// migrations/sqlite/NNN_name.sql for the exported SQLite file and
// migrations/postgres/NNN_name.sql for a mirror table in another Postgres.
//
// They are compiled into the binary (CMake generates the table below from
// migrations/), so an installed `trajc` needs no data files; the environment
// variable TRAJC_MIGRATIONS=<dir with sqlite/ and postgres/> replaces them,
// for trying a new migration without rebuilding. Must never apply a
// migration twice, nor touch a target newer than this tool knows.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace trajc_cli {

struct Migration {
  int version = 0;   // NNN
  std::string name;  // file name, e.g. 001_qa_pairs.sql
  std::string sql;
};

// The migrations of one kind ("sqlite" or "postgres"), by version.
std::vector<Migration> load_migrations(const std::string& kind);

// Where a set of migrations is applied; the caller holds a transaction open
// around apply_migrations so a failure leaves the target as it was.
class MigrationTarget {
 public:
  virtual ~MigrationTarget() = default;
  // Creates the bookkeeping table if needed and returns the versions applied.
  virtual std::vector<int> applied_versions() = 0;
  virtual void run(const Migration& m) = 0;     // executes m.sql
  virtual void record(const Migration& m) = 0;  // remembers m as applied
  virtual std::string describe() const = 0;     // for messages
};

// Applies, in order, the migrations not applied yet; returns how many ran.
// A target with a version this tool does not know was written by a newer
// trajc: CliError rather than guessing at its schema.
int apply_migrations(const std::vector<Migration>& migrations, MigrationTarget& target);

// Generated at build time from migrations/ (trajc_migrations_embedded.cpp).
struct EmbeddedMigration {
  const char* path;  // "sqlite/001_qa_pairs.sql"
  const char* sql;
};
extern const EmbeddedMigration kEmbeddedMigrations[];
extern const std::size_t kEmbeddedMigrationCount;

}  // namespace trajc_cli
