// SPI calls with their result codes checked, and plan preparation.
//
// Must never: return with CurrentMemoryContext switched to SPI's (the
// caller's per-session context would stop owning its allocations).
#include "spi_util.hpp"

namespace trajc_pg {

void spi_connect(bool nonatomic) {
  int rc = SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);
  if (rc != SPI_OK_CONNECT) elog(ERROR, "trajc: SPI_connect failed: %s", SPI_result_code_string(rc));
}

void spi_check(int rc, int expected, const char* what) {
  if (rc != expected)
    elog(ERROR, "trajc: %s failed: %s", what, SPI_result_code_string(rc));
}

void spi_execute(SPIPlanPtr plan, Datum* args, const char* nulls, bool read_only, int expected,
                 const char* what, Snapshot snapshot) {
  MemoryContext caller = CurrentMemoryContext;
  // SPI_execute_plan is this with no snapshot given (the usual rules).
  int rc = SPI_execute_snapshot(plan, args, nulls, snapshot, InvalidSnapshot, read_only, true, 0);
  MemoryContextSwitchTo(caller);
  spi_check(rc, expected, what);
}

SPIPlanPtr spi_prepare_n(const char* query, int nargs, Oid* types) {
  SPIPlanPtr plan = SPI_prepare(query, nargs, types);
  if (plan == nullptr)
    elog(ERROR, "trajc: preparing a query failed: %s", SPI_result_code_string(SPI_result));
  return plan;
}

SPIPlanPtr spi_prepare_generic(const char* query, Oid arg0, Oid arg1) {
  Oid types[2] = {arg0, arg1};
  SPIPlanPtr plan = SPI_prepare_cursor(query, 2, types, CURSOR_OPT_GENERIC_PLAN);
  if (plan == nullptr)
    elog(ERROR, "trajc: preparing a query failed: %s", SPI_result_code_string(SPI_result));
  return plan;
}

SPIPlanPtr spi_prepare(const char* query, Oid arg0, Oid arg1, Oid arg2) {
  Oid types[3] = {arg0, arg1, arg2};
  int n = OidIsValid(arg2) ? 3 : OidIsValid(arg1) ? 2 : OidIsValid(arg0) ? 1 : 0;
  return spi_prepare_n(query, n, types);
}

}  // namespace trajc_pg
