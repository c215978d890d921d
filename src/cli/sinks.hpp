// Where an export writes the pairs the cursor reads: an SQLite file, a JSONL
// file of plain rows, or a JSONL file of chat messages. A sink must never
// make anything visible before commit(): until then the previous output is
// untouched, so an interrupted or failed export changes nothing.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace trajc_cli {

class TrajcDb;

class PairSink {
 public:
  virtual ~PairSink() = default;
  // The order to read the pairs in (over the alias p): the one that suits
  // how this sink writes.
  virtual const char* order_by() const = 0;
  // True if write() queries the database itself, so no FETCH may be in
  // flight on the connection meanwhile.
  virtual bool reads_database() const { return false; }
  // Row `row` of a batch whose columns are kPairColumns.
  virtual void write(const PGresult* rows, int row) = 0;
  // Makes everything written visible at once.
  virtual void commit() = 0;
  virtual long written() const = 0;
  // What is in the output after commit, for the summary.
  virtual long total() const { return written(); }
};

// Appends the pairs the file lacks (INSERT OR IGNORE on id).
std::unique_ptr<PairSink> sqlite_sink(const std::string& path);
// One JSON object per pair, the columns under their names ("-" = stdout).
std::unique_ptr<PairSink> jsonl_sink(const std::string& path);
// One {"messages": [system, user, assistant]} line per pair, the user
// message being the session's trajectory read through `db`, then the question.
std::unique_ptr<PairSink> chat_sink(const std::string& path, TrajcDb& db);

}  // namespace trajc_cli
