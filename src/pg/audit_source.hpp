// The audit log as the settings describe it: a relation the caller can read,
// its columns resolved and quoted, and the queries trajc runs on it.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

struct ContentColumn {
  const char* name;     // as stored (the rendered label)
  const char* quoted;   // quote_identifier(name)
  bool is_json;
};

struct AuditSource {
  Oid relid;
  const char* relation;        // schema-qualified, quoted
  const char* session_col;     // quoted
  bool session_is_text;        // text/varchar: compared directly (index usable)
  const char* time_col;        // quoted
  const char* agent_col;       // quoted, or NULL when trajc.agent_column is empty
  const char* tiebreak;        // ", pk..." / ", ctid" / ""
  int ncontent;
  ContentColumn* content;
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

// A session's rows as plain values, ready for the core (phase 1 data).
struct RawValue {
  const char* data;
  int len;  // -1 = SQL NULL
};
struct RawTurns {
  int nturns;
  int ncols;         // content columns
  RawValue* at_iso;  // [nturns]
  RawValue* agent;   // [nturns]
  RawValue* values;  // [nturns * ncols]
  SPITupleTable* rows;  // owns the values' bytes: free after to_trajectory
};

// Plain views of a batch of turns-query rows (the bytes stay in `rows`).
RawTurns raw_turns_of(const AuditSource* src, SPITupleTable* rows, uint64 nrows);
// Runs the prepared turns query for one session (SPI connected): all its rows.
RawTurns load_raw_turns(const AuditSource* src, SPIPlanPtr turns_plan, const char* session_id);

// Phase 2 helper (pure C++): the core's Trajectory from raw rows.
void to_trajectory(const AuditSource* src, const RawTurns& raw, const char* session_id,
                   trajc::Trajectory& out);

}  // namespace trajc_pg
