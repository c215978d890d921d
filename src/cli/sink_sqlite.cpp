// The SQLite sink: pairs appended to a file whose schema the numbered
// migrations keep (migrations/sqlite). Must never commit a part of an export:
// everything happens in one SQLite transaction, rolled back unless commit().
#include <memory>
#include <string>
#include <vector>

#include "pairs.hpp"
#include "sinks.hpp"
#include "sqlite.hpp"

namespace trajc_cli {

namespace {

// The page cache for the load (negative: KiB). SQLite's default, 2 MB, makes
// inserts into a file of hundreds of MB read pages back. Building the
// deferred index at commit takes as much again for its sort, so this stays
// well within the tool's 64 MB (43 MB peak for 1M pairs).
constexpr const char* kCacheSize = "PRAGMA cache_size = -12288";

// INSERT OR IGNORE on id makes the export incremental without trusting
// timestamps, which a long compile transaction can commit out of order.
class SqliteSink : public PairSink {
 public:
  explicit SqliteSink(const std::string& path) : db_(path) {
    db_.exec(kCacheSize);
    // IMMEDIATE: take the write lock now, so an unwritable file or a
    // concurrent export fails before any row is read.
    db_.exec("BEGIN IMMEDIATE");
    SqliteMigrationTarget target(db_);
    apply_migrations(load_migrations("sqlite"), target);
    defer_indexes_if_empty();
    std::string sql = "INSERT OR IGNORE INTO qa_pairs (" + pair_columns() + ") VALUES (";
    for (int c = 0; c < kPairColumnCount; c++) sql += (c ? ", ?" : "?") + std::to_string(c + 1);
    insert_ = std::make_unique<SqliteStmt>(db_, sql + ")");
  }
  // In the order pairs were stored: the server reads them through the
  // (created_at, id) index, which follows the table, where ORDER BY id (a
  // uuid) made it sort the whole table on every export, which took longer
  // than everything else. The primary key's index then takes the ids in
  // random order, which the page cache absorbs.
  const char* order_by() const override { return "p.created_at, p.id"; }
  void write(const PGresult* rows, int row) override {
    for (int c = 0; c < kPairColumnCount; c++) {
      if (PQgetisnull(rows, row, c))
        insert_->bind_null(c + 1);
      else  // text from libpq; the column's affinity makes numbers of it
        insert_->bind_text(c + 1, PQgetvalue(rows, row, c), PQgetlength(rows, row, c));
    }
    insert_->run();
    written_ += sqlite3_changes(db_.raw());
  }
  void commit() override {
    for (const std::string& create : deferred_indexes_) db_.exec(create);
    SqliteStmt count(db_, "SELECT count(*) FROM qa_pairs");
    count.next_row();
    total_ = sqlite3_column_int64(count.raw(), 0);
    db_.exec("COMMIT");
  }
  long written() const override { return written_; }
  long total() const override { return total_; }

 private:
  // Into an empty table (a new file), inserting into the secondary indexes
  // row by row costs more than building them once at the end from sorted
  // keys: they are dropped here and created again, from the definitions the
  // migrations gave them, in commit() (the same transaction: an export that
  // does not finish leaves them as they were). The primary key stays, for
  // INSERT OR IGNORE.
  void defer_indexes_if_empty() {
    SqliteStmt any(db_, "SELECT 1 FROM qa_pairs LIMIT 1");
    if (any.next_row()) return;
    SqliteStmt indexes(db_,
                       "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                       " AND tbl_name = 'qa_pairs' AND sql IS NOT NULL");
    std::vector<std::string> names;
    while (indexes.next_row()) {
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(indexes.raw(), 0)));
      deferred_indexes_.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(indexes.raw(), 1)));
    }
    for (std::string& name : names) {
      for (std::size_t at = name.find('"'); at != std::string::npos; at = name.find('"', at + 2))
        name.insert(at, 1, '"');  // a quoted identifier doubles its quotes
      db_.exec("DROP INDEX \"" + name + "\"");
    }
  }

  SqliteDb db_;  // closing it without COMMIT rolls everything back
  std::unique_ptr<SqliteStmt> insert_;
  std::vector<std::string> deferred_indexes_;  // CREATE INDEX statements run by commit()
  long written_ = 0, total_ = 0;
};

}  // namespace

std::unique_ptr<PairSink> sqlite_sink(const std::string& path) {
  return std::make_unique<SqliteSink>(path);
}

}  // namespace trajc_cli
