// trajc_extract() and trajc_turns(): reading the audit log in place, with
// the caller's rights.
//
// Must never: hold a whole session's rows at once (trajc_turns takes them
// from the executor row by row, and its result spills past work_mem), or
// render a turn itself (the core does).
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
  spi_check(SPI_execute_with_args(sessions_query(src, true), 3, types, args, nulls, true, 0),
            SPI_OK_SELECT, "listing sessions");
  for (uint64 i = 0; i < SPI_processed; i++)
    tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
  SPI_finish();
  return (Datum)0;
}

namespace {

// The turns query's rows come from the executor one at a time, straight to
// this receiver: no tuple table is filled and copied (the rows stay where the
// executor made them), so a call costs what the query costs plus rendering.
// Each row is read into the core's views, rendered by the core into one
// reused buffer, and stored as a result row at once; its garbage (detoasted
// values) goes with a per-row reset.
struct TurnsReceiver {
  DestReceiver pub;  // first: the executor sees only this
  const AuditSource* src;
  ReturnSetInfo* rsinfo;
  MemoryContext row_cxt;
  std::string* content;     // boxed, reused
  StringInfo datum;         // the content column's value, reused
  trajc::RawValue* values;  // [ncontent], reused
  int turn;
};

bool receive_turn(TupleTableSlot* slot, DestReceiver* self) {
  auto* r = reinterpret_cast<TurnsReceiver*>(self);
  slot_getallattrs(slot);
  MemoryContext caller = MemoryContextSwitchTo(r->row_cxt);
  trajc::RawValue at, agent;
  read_turn_row(r->src, slot->tts_values, slot->tts_isnull, &at, &agent, r->values);
  const trajc::RawRows row{1, r->src->ncontent, r->src->content, &at, &agent, r->values};
  std::string* content = r->content;
  run_cpp([&] { trajc::render_row(row, 0, *content); });
  Datum values[4] = {Int32GetDatum(++r->turn), slot->tts_values[0], slot->tts_values[2],
                     from_core_rendered(*content, r->datum)};
  bool nulls[4] = {false, slot->tts_isnull[0], slot->tts_isnull[2], false};
  tuplestore_putvalues(r->rsinfo->setResult, r->rsinfo->setDesc, values, nulls);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(r->row_cxt);
  return true;
}

void receiver_startup(DestReceiver*, int, TupleDesc) {}
void receiver_noop(DestReceiver*) {}

// The turns query's plan, kept from call to call while its text (the source
// and column settings) stays the same: on a short session, parsing and
// planning it was a tenth of a call. The plan cache revalidates a kept plan
// when the table, search_path or role changes what it would be.
SPIPlanPtr cached_turns_plan(const char* query) {
  static SPIPlanPtr plan = nullptr;  // plain pointers: no constructor, no destructor
  static char* plan_query = nullptr;
  if (plan != nullptr && strcmp(plan_query, query) == 0) return plan;
  SPIPlanPtr fresh = spi_prepare(query, TEXTOID);
  char* copy = MemoryContextStrdup(TopMemoryContext, query);
  if (SPI_keepplan(fresh) != 0) return fresh;  // not kept: freed with SPI_finish
  if (plan != nullptr) {
    SPI_freeplan(plan);
    pfree(plan_query);
  }
  plan = fresh;
  plan_query = copy;
  return plan;
}

}  // namespace

extern "C" Datum trajc_turns(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  if (PG_ARGISNULL(0)) return (Datum)0;
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  char* session_id = text_to_cstring(PG_GETARG_TEXT_PP(0));

  spi_connect();
  AuditSource* src = resolve_audit_source();
  SPIPlanPtr plan = cached_turns_plan(turns_query(src, false));

  TurnsReceiver receiver{};
  receiver.pub.receiveSlot = receive_turn;
  receiver.pub.rStartup = receiver_startup;
  receiver.pub.rShutdown = receiver_noop;
  receiver.pub.rDestroy = receiver_noop;
  receiver.pub.mydest = DestNone;  // a receiver of our own
  receiver.src = src;
  receiver.rsinfo = rsinfo;
  receiver.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "trajc_turns row",
                                           ALLOCSET_SMALL_SIZES);
  receiver.content = box_new<std::string>(CurrentMemoryContext);
  receiver.datum = makeStringInfo();
  receiver.values =
      static_cast<trajc::RawValue*>(palloc(sizeof(trajc::RawValue) * (src->ncontent + 1)));

  ParamListInfo params = makeParamList(1);
  params->params[0] = ParamExternData{CStringGetTextDatum(session_id), false, PARAM_FLAG_CONST, TEXTOID};
  SPIExecuteOptions options{};
  options.params = params;
  options.read_only = true;
  options.dest = &receiver.pub;
  // With a receiver of type DestNone, SPI reports a SELECT as SPI_OK_UTILITY.
  spi_check(SPI_execute_plan_extended(plan, &options), SPI_OK_UTILITY, "reading turns");
  SPI_finish();
  return (Datum)0;
}
