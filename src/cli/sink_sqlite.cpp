// The SQLite sink: pairs appended to a file whose schema the numbered
// migrations keep (migrations/sqlite). Must never commit a part of an export:
// everything happens in one SQLite transaction, rolled back unless commit().
#include <memory>

#include "pairs.hpp"
#include "sinks.hpp"
#include "sqlite.hpp"

namespace trajc_cli {

namespace {

// INSERT OR IGNORE on id makes the export incremental without trusting
// timestamps, which a long compile transaction can commit out of order.
class SqliteSink : public PairSink {
 public:
  explicit SqliteSink(const std::string& path) : db_(path) {
    // IMMEDIATE: take the write lock now, so an unwritable file or a
    // concurrent export fails before any row is read.
    db_.exec("BEGIN IMMEDIATE");
    SqliteMigrationTarget target(db_);
    apply_migrations(load_migrations("sqlite"), target);
    std::string sql = "INSERT OR IGNORE INTO qa_pairs (" + pair_columns() + ") VALUES (";
    for (int c = 0; c < kPairColumnCount; c++) sql += (c ? ", ?" : "?") + std::to_string(c + 1);
    insert_ = std::make_unique<SqliteStmt>(db_, sql + ")");
  }
  // By id, the primary key index grows at its end instead of at random places.
  const char* order_by() const override { return "p.id"; }
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
    SqliteStmt count(db_, "SELECT count(*) FROM qa_pairs");
    count.next_row();
    total_ = sqlite3_column_int64(count.raw(), 0);
    db_.exec("COMMIT");
  }
  long written() const override { return written_; }
  long total() const override { return total_; }

 private:
  SqliteDb db_;  // closing it without COMMIT rolls everything back
  std::unique_ptr<SqliteStmt> insert_;
  long written_ = 0, total_ = 0;
};

}  // namespace

std::unique_ptr<PairSink> sqlite_sink(const std::string& path) {
  return std::make_unique<SqliteSink>(path);
}

}  // namespace trajc_cli
