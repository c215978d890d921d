// Small SPI helpers: exact result checks and prepared plans.
//
// Must never: accept a result code other than the one expected, splice a
// value into query text (values go as $n parameters), or leave the caller
// in SPI's memory context.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

void spi_connect(bool nonatomic = false);
// Raises an internal error naming `what` unless rc == expected.
void spi_check(int rc, int expected, const char* what);
// SPI_execute_plan, checked, leaving the caller's memory context current
// (SPI itself returns in its procedure context, where allocations would
// outlive the caller's per-session context). With a snapshot, the query
// reads with it instead of the statement's (SPI_execute_snapshot).
void spi_execute(SPIPlanPtr plan, Datum* args, const char* nulls, bool read_only, int expected,
                 const char* what, Snapshot snapshot = InvalidSnapshot);
// Prepared and kept for the life of the connection; argument types follow.
SPIPlanPtr spi_prepare(const char* query, Oid arg0 = InvalidOid, Oid arg1 = InvalidOid,
                       Oid arg2 = InvalidOid);
SPIPlanPtr spi_prepare_n(const char* query, int nargs, Oid* types);
// Two arguments, always run with the generic plan: for statements run once
// per pair whose custom plan would cost more to make than to run.
SPIPlanPtr spi_prepare_generic(const char* query, Oid arg0, Oid arg1);

}  // namespace trajc_pg
