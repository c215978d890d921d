// The SQLite C library, wrapped once: a database handle and prepared
// statements with RAII, errors turned into CliErrors naming the file, and the
// file as a target of the numbered migrations. Must never let SQLite read a
// path as anything but a file (no URI, no in-memory database).
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "errors.hpp"
#include "migrations.hpp"

namespace trajc_cli {

class SqliteDb {
 public:
  // Opens (creating) `path` for reading and writing. A file that cannot be
  // written, or is not an SQLite database, is a CliError(kExitUsage).
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }
  void exec(const std::string& sql);
  // The CliError for result code `rc` while `doing` something.
  CliError error(const std::string& doing, int rc) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class SqliteStmt {
 public:
  SqliteStmt(SqliteDb& db, const std::string& sql);
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  // 1-based like SQLite; the text must stay alive until step() returns.
  void bind_text(int index, const char* text, int length);
  void bind_null(int index);
  // Runs the statement to completion (it returns no rows) and resets it.
  void run();
  // Steps once; true while a row is available.
  bool next_row();
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// migrations/sqlite applied to a file, recorded in its schema_migrations.
class SqliteMigrationTarget : public MigrationTarget {
 public:
  explicit SqliteMigrationTarget(SqliteDb& db) : db_(db) {}
  std::vector<int> applied_versions() override;
  void run(const Migration& m) override { db_.exec(m.sql); }
  void record(const Migration& m) override;
  std::string describe() const override { return db_.path(); }

 private:
  SqliteDb& db_;
};

}  // namespace trajc_cli
