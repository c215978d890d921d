// Included first by every core header: the core must never see Postgres headers,
// whose macros (snprintf, elog, PG_TRY) break C++ code in subtle ways.
#pragma once
#ifdef POSTGRES_H
static_assert(false, "trajc core headers must be included before postgres.h (see src/pg/pg_boundary.hpp)");
#endif
