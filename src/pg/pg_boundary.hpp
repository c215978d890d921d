// The one door between the C++ core and the Postgres backend: every file in
// src/pg includes this header (directly or through another src/pg header)
// and nothing from Postgres itself.
//
// Must never: be bypassed, or include a core header after a Postgres one.
//
// The rules of the door, each once, with the mistake it prevents:
//
// 1. C++, library and core headers first, Postgres headers after them.
//      #include "postgres.h"
//      #include "trajc/compile.hpp"   // WRONG: the core's guard stops the
//                                     // build; port.h has already turned
//                                     // snprintf & co. into macros
// 2. Postgres headers only here, inside extern "C".
//      #include "utils/builtins.h"    // WRONG in a .cpp: C++ linkage for C
//                                     // functions, and the order of rule 1
//                                     // is no longer guaranteed
// 3. Every SQL-callable function and its PG_FUNCTION_INFO_V1 have C linkage.
//      Datum trajc_x(PG_FUNCTION_ARGS) { ... }   // WRONG without extern "C":
//                                     // CREATE FUNCTION cannot find the
//                                     // mangled symbol
// 4. No object with a constructor or destructor at namespace scope.
//      static std::string last_model;  // WRONG: runs before _PG_init and at
//                                     // exit, outside any error handling;
//                                     // plain data (Gucs) only
//
// How C++ code is called from here (run_cpp, boxes) is cpp_call.hpp's part.
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
#include "trajc/audit_sql.hpp"
#include "trajc/compile.hpp"
#include "trajc/dedup.hpp"
#include "trajc/error.hpp"
#include "trajc/eval.hpp"
#include "trajc/model_verify.hpp"
#include "trajc/offline.hpp"
#include "trajc/pair_sql.hpp"
#include "trajc/prompt.hpp"
#include "trajc/trajectory.hpp"
#include "trajc/vendor_batch.hpp"

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"
}

// C++ keyword clashes from Postgres headers would go here; none on PG 15.
