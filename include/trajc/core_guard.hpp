// The build guard, included first by every core header: a core header read
// after postgres.h is a compile error (test/guard/postgres_first.cpp proves it).
//
// Must never: be weakened or skipped. The core must never see Postgres
// headers, whose macros (snprintf, elog, PG_TRY) break C++ code in subtle ways.
#pragma once
#ifdef POSTGRES_H
static_assert(false, "trajc core headers must be included before postgres.h (see src/pg/pg_boundary.hpp)");
#endif
