// trajc_extract() and trajc_turns(): reading the audit log in place.
#include "audit_source.hpp"
#include "cpp_call.hpp"
#include "spi_util.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_extract);
PG_FUNCTION_INFO_V1(trajc_turns);
}

using namespace trajc_pg;

// One set-based query; its rows already have the function's shape.
extern "C" Datum trajc_extract(PG_FUNCTION_ARGS) {
  int min_turns = PG_ARGISNULL(0) ? 10 : PG_GETARG_INT32(0);
  int limit = PG_ARGISNULL(1) ? 20 : PG_GETARG_INT32(1);
  if (min_turns < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("min_turns must be at least 1, got %d", min_turns)));
  if (limit < 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("\"limit\" must be 0 (no limit) or positive, got %d", limit)));

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

extern "C" Datum trajc_turns(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  if (PG_ARGISNULL(0)) return (Datum)0;
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  char* session_id = text_to_cstring(PG_GETARG_TEXT_PP(0));

  spi_connect();
  AuditSource* src = resolve_audit_source();
  SPIPlanPtr plan = spi_prepare(turns_query(src), TEXTOID);
  RawTurns raw = load_raw_turns(src, plan, session_id);

  // Phase 2: rendering lives in the core.
  auto* rendered = box_new<std::vector<std::string>>(CurrentMemoryContext);
  run_cpp([&] {
    trajc::Trajectory t;
    to_trajectory(src, raw, session_id, t);
    rendered->reserve(t.turns.size());
    for (const trajc::Turn& turn : t.turns) rendered->push_back(trajc::render_turn(turn.fields));
  });

  // Phase 3.
  TupleDesc desc = raw.rows->tupdesc;
  for (int r = 0; r < raw.nturns; r++) {
    HeapTuple row = raw.rows->vals[r];
    bool at_null, agent_null;
    Datum values[4];
    bool nulls[4] = {false, false, false, false};
    values[0] = Int32GetDatum(r + 1);
    values[1] = SPI_getbinval(row, desc, 1, &at_null);
    nulls[1] = at_null;
    values[2] = SPI_getbinval(row, desc, 3, &agent_null);
    nulls[2] = agent_null;
    const std::string& content = (*rendered)[r];
    values[3] = PointerGetDatum(cstring_to_text_with_len(content.data(), content.size()));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  SPI_finish();
  return (Datum)0;
}
