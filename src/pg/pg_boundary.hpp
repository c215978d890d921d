// The one door between the C++ core and the Postgres backend. Every file in
// src/pg includes this header and nothing from Postgres directly: the core and
// library headers must come first (Postgres' port.h turns snprintf & co. into
// macros), then the Postgres headers with C linkage.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "trajc/ascii.hpp"
#include "trajc/audit_rows.hpp"
#include "trajc/compile.hpp"
#include "trajc/error.hpp"
#include "trajc/offline.hpp"
#include "trajc/trajectory.hpp"

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"
}

// C++ keyword clashes from Postgres headers would go here; none on PG 15.
