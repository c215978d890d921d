// SQLite for the export (see sqlite.hpp). Must never throw anything but a
// CliError naming the file, and never keep a transaction open on close.
#include "sqlite.hpp"

namespace trajc_cli {

namespace {

// Debian's SQLite reads "file:..." as a URI (and ":memory:" is no file at
// all); "./" in front makes a relative path a plain file name.
std::string as_file_name(const std::string& path) {
  return !path.empty() && path[0] == '/' ? path : "./" + path;
}

}  // namespace

SqliteDb::SqliteDb(const std::string& path) : path_(path) {
  int rc = sqlite3_open_v2(as_file_name(path).c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    CliError err = error("opening it", rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw err;
  }
  // SQLite silently falls back to read-only when the file is not writable.
  if (sqlite3_db_readonly(db_, "main") == 1) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw CliError(kExitUsage, "cannot write " + path + ": the file is read-only");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);  // another export of the same file: wait a little
}

SqliteDb::~SqliteDb() {
  if (db_) sqlite3_close_v2(db_);  // an open transaction is rolled back
}

void SqliteDb::exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw error("running " + sql.substr(0, sql.find('\n')), rc);
}

CliError SqliteDb::error(const std::string& doing, int rc) const {
  std::string what = db_ && sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return CliError(kExitUsage, "cannot write " + path_ + " (" + doing + "): " + what);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return CliError(kExitUsage, path_ + " is not a usable SQLite database: " + what,
                      "choose another --out, or move the file away");
    case SQLITE_BUSY:
      return CliError(kExitFailed, path_ + " is locked by another program (" + doing + ")");
    default:
      return CliError(kExitFailed, "SQLite error on " + path_ + " (" + doing + "): " + what);
  }
}

SqliteStmt::SqliteStmt(SqliteDb& db, const std::string& sql) : db_(db) {
  int rc =
      sqlite3_prepare_v3(db.raw(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) throw db.error("preparing " + sql, rc);
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

void SqliteStmt::bind_text(int index, const char* text, int length) {
  int rc = sqlite3_bind_text(stmt_, index, text, length, SQLITE_STATIC);
  if (rc != SQLITE_OK) throw db_.error("binding a value", rc);
}

void SqliteStmt::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw db_.error("binding a value", rc);
}

void SqliteStmt::run() {
  int rc = sqlite3_step(stmt_);
  sqlite3_reset(stmt_);
  if (rc != SQLITE_DONE) throw db_.error("writing a row", rc);
}

bool SqliteStmt::next_row() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw db_.error("reading", rc);
}

std::vector<int> SqliteMigrationTarget::applied_versions() {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  SqliteStmt q(db_, "SELECT version FROM schema_migrations ORDER BY version");
  std::vector<int> out;
  while (q.next_row()) out.push_back(sqlite3_column_int(q.raw(), 0));
  return out;
}

void SqliteMigrationTarget::record(const Migration& m) {
  SqliteStmt ins(db_,
                 "INSERT INTO schema_migrations (version, name, applied_at) "
                 "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  const std::string v = std::to_string(m.version);
  ins.bind_text(1, v.c_str(), -1);
  ins.bind_text(2, m.name.c_str(), -1);
  ins.run();
}

}  // namespace trajc_cli
