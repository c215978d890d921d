// The export's pair cursor (see pair_cursor.hpp). Must never commit anything
// but its own read-only transaction.
#include "pair_cursor.hpp"

namespace trajc_cli {

namespace {

constexpr const char* kFetch = "FETCH 10000 FROM trajc_export";

}  // namespace

PairCursor::PairCursor(TrajcDb& db, const PairFilter& f, const char* order_by, bool prefetch)
    : db_(db), prefetch_(prefetch) {
  db_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  open_ = true;
  db_.exec("DECLARE trajc_export NO SCROLL CURSOR FOR SELECT " + pair_select_list() +
           " FROM trajc.qa_pairs p" + pair_where(db_, f) + " ORDER BY " + order_by);
}

PairCursor::~PairCursor() {
  if (!open_) return;
  // A prefetched batch may still be on its way: drain it before ROLLBACK.
  while (PgResult rest{PQgetResult(db_.raw())}) {
  }
  PQclear(PQexec(db_.raw(), "ROLLBACK"));
}

PgResult PairCursor::fetch() {
  if (!in_flight_) db_.send(kFetch);
  in_flight_ = false;
  PgResult batch = db_.receive();
  if (prefetch_ && PQntuples(batch.get()) > 0) {
    db_.send(kFetch);
    in_flight_ = true;
  }
  return batch;
}

void PairCursor::keep_receiving() {
  if (in_flight_) db_.absorb();
}

void PairCursor::close() {
  open_ = false;
  db_.exec("COMMIT");
}

}  // namespace trajc_cli
