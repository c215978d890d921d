// The audit log as the settings describe it: a relation the caller can read,
// its columns resolved and quoted, the queries trajc runs on it, and its rows
// read into the core's plain views (trajc/audit_rows.hpp).
//
// Must never: splice a setting into SQL unquoted (identifiers go through the
// catalog and quote_identifier, values through $n), read with any rights but
// the caller's, or decide how rows become turns (the core does).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

struct AuditSource {
  Oid relid;
  const char* relation;        // schema-qualified, quoted
  const char* session_col;     // quoted
  bool session_is_text;        // text/varchar: compared directly (index usable)
  const char* time_col;        // quoted
  const char* agent_col;       // quoted, or NULL when trajc.agent_column is empty
  const char* tiebreak;        // ", pk..." / ", ctid" / ""
  int ncontent;
  trajc::RawColumn* content;    // [ncontent] label (as stored) and json flag
  const char** content_quoted;  // [ncontent] quote_identifier(label)
};

// Resolves trajc.source and the column settings now, with the caller's rights.
// Errors name the setting to fix: 42P01 missing table, 42703 missing column.
AuditSource* resolve_audit_source(void);

// Raises 22023 unless min_turns >= 1 and limit >= 0 (0 = no limit).
void check_listing_args(int min_turns, int limit);

// SELECT session_id, agent, turn_count, first_at, last_at ... with $1 min_turns,
// $2 limit (0 = none), $3 since (timestamptz, NULL = any).
char* sessions_query(const AuditSource* src);

// One session's rows in turn order: at (timestamptz), at (ISO UTC text, for
// the core; NULL without with_iso_time), agent (text), then every content
// column as text; $1 = session id (text).
char* turns_query(const AuditSource* src, bool with_iso_time);

// A batch of turns-query rows: the core's views of their values, and the
// tuple table that owns the bytes (free it once the core is done with them).
struct SessionRows {
  trajc::RawRows rows;
  SPITupleTable* tuples;
};

// Plain views of a batch of turns-query rows (the bytes stay in `tuples`).
SessionRows session_rows_of(const AuditSource* src, SPITupleTable* tuples, uint64 ntuples);
// Runs the prepared turns query for one session (SPI connected): all its rows.
SessionRows load_session_rows(const AuditSource* src, SPIPlanPtr turns_plan, const char* session_id);

}  // namespace trajc_pg
