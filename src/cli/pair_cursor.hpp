// Reads trajc.qa_pairs in batches through a server-side cursor, in one
// read-only snapshot, so an export's memory stays flat however many pairs
// there are. Must never write to the database or hold a whole table.
#pragma once

#include "pairs.hpp"
#include "pg.hpp"

namespace trajc_cli {

class PairCursor {
 public:
  // Opens the transaction and the cursor over the pairs `f` selects, in
  // `order_by` (over the alias p). With `prefetch`, the next FETCH is sent
  // before the current batch is handed out, so the server reads and sends
  // while the caller writes; the caller must then not use the connection.
  PairCursor(TrajcDb& db, const PairFilter& f, const char* order_by, bool prefetch);
  ~PairCursor();  // rolls back unless close() ran
  PairCursor(const PairCursor&) = delete;
  PairCursor& operator=(const PairCursor&) = delete;

  // The next batch (columns as in kPairColumns); an empty result at the end.
  PgResult fetch();
  // Call now and then while writing a batch: moves what has arrived into
  // libpq's buffer, so the prefetched batch keeps coming.
  void keep_receiving();
  void close();

 private:
  TrajcDb& db_;
  bool prefetch_;
  bool open_ = false;
  bool in_flight_ = false;
};

}  // namespace trajc_cli
