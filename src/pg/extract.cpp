// trajc_extract() and trajc_turns(): reading the audit log in place, with
// the caller's rights.
//
// Must never: materialize a whole session in memory at once (trajc_turns
// streams through a cursor), or render a turn itself (the core does).
#include "audit_source.hpp"
#include "cpp_call.hpp"
#include "spi_util.hpp"
#include "stored_text.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_extract);
PG_FUNCTION_INFO_V1(trajc_turns);
}

using namespace trajc_pg;

// One set-based query; its rows already have the function's shape.
extern "C" Datum trajc_extract(PG_FUNCTION_ARGS) {
  int min_turns = PG_ARGISNULL(0) ? trajc::defaults::kMinTurns : PG_GETARG_INT32(0);
  int limit = PG_ARGISNULL(1) ? trajc::defaults::kExtractLimit : PG_GETARG_INT32(1);
  check_listing_args(min_turns, limit);

  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  spi_connect();
  AuditSource* src = resolve_audit_source();
  Oid types[3] = {INT4OID, INT4OID, TIMESTAMPTZOID};
  Datum args[3] = {Int32GetDatum(min_turns), Int32GetDatum(limit),
                   PG_ARGISNULL(2) ? 0 : PG_GETARG_DATUM(2)};
  char nulls[3] = {' ', ' ', PG_ARGISNULL(2) ? 'n' : ' '};
  spi_check(SPI_execute_with_args(sessions_query(src), 3, types, args, nulls, true, 0),
            SPI_OK_SELECT, "listing sessions");
  for (uint64 i = 0; i < SPI_processed; i++)
    tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
  SPI_finish();
  return (Datum)0;
}

namespace {

// Phases 2 and 3 for one batch of rows: each turn's content rendered by the
// core into one reused buffer, then stored as a result row.
void put_turns(ReturnSetInfo* rsinfo, const SessionRows& batch, std::string* content, int* turn) {
  const trajc::RawRows& rows = batch.rows;
  TupleDesc desc = batch.tuples->tupdesc;
  for (int r = 0; r < rows.nturns; r++) {
    run_cpp([&] { trajc::render_row(rows, r, *content); });
    HeapTuple row = batch.tuples->vals[r];
    Datum values[4];
    bool nulls[4] = {false, false, false, false};
    values[0] = Int32GetDatum(++*turn);
    values[1] = SPI_getbinval(row, desc, 1, &nulls[1]);
    values[2] = SPI_getbinval(row, desc, 3, &nulls[2]);
    values[3] = from_core_text(*content);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
}

}  // namespace

extern "C" Datum trajc_turns(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  if (PG_ARGISNULL(0)) return (Datum)0;
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  char* session_id = text_to_cstring(PG_GETARG_TEXT_PP(0));

  spi_connect();
  AuditSource* src = resolve_audit_source();
  SPIPlanPtr plan = spi_prepare(turns_query(src, false), TEXTOID);
  Datum arg = CStringGetTextDatum(session_id);
  Portal cursor = SPI_cursor_open(nullptr, plan, &arg, nullptr, true);

  // Rows stream through in batches (phase 1), rendered and stored by
  // put_turns (phases 2 and 3); each batch's memory is reset after it.
  auto* content = box_new<std::string>(CurrentMemoryContext);
  MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "trajc_turns batch",
                                                  ALLOCSET_DEFAULT_SIZES);
  int turn = 0;
  for (;;) {
    SPI_cursor_fetch(cursor, true, 1000);
    if (SPI_processed == 0) break;
    MemoryContext caller = MemoryContextSwitchTo(batch_cxt);
    put_turns(rsinfo, session_rows_of(src, SPI_tuptable, SPI_processed), content, &turn);
    MemoryContextSwitchTo(caller);
    MemoryContextReset(batch_cxt);
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(cursor);
  SPI_finish();
  return (Datum)0;
}
