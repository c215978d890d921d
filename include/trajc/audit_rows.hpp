// Audit-log rows as plain values, and the trajectory they make: the rules for
// turning a session's rows into turns (NULLs skipped, json kept compact) and
// for naming the session's agent.
//
// The boundary reads the rows (SPI in src/pg/audit_source.cpp) into these
// views; everything here is pure C++, so the rules are unit-tested without a
// server and the companion tool could apply them to rows of its own.
//
// Must never: own or copy the bytes the views point at before it needs them,
// or know which database they came from.
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "trajc/trajectory.hpp"

namespace trajc {

// One value of a row: bytes held by the caller, or SQL NULL.
struct RawValue {
  const char* data;
  int len;  // -1 = NULL
  bool is_null() const { return len < 0; }
  std::string_view view() const { return is_null() ? std::string_view() : std::string_view(data, len); }
};

// A content column: its label in turn text, and whether its type is json/jsonb.
struct RawColumn {
  const char* name;
  bool is_json;
};

// A session's rows in turn order, as arrays the caller owns.
struct RawRows {
  int nturns;
  int ncols;
  const RawColumn* columns;  // [ncols]
  const RawValue* at;        // [nturns] ISO 8601 UTC time (NULL where not read)
  const RawValue* agent;     // [nturns]
  const RawValue* values;    // [nturns * ncols], row after row
};

// Row r's content as turn text: `name: value` lines of its non-NULL columns.
void render_row(const RawRows& rows, int r, std::string& out);
// The trajectory of session_id: turns numbered 1..n in row order, each with
// its non-NULL columns as fields, and the session's agent (session_agent).
void to_trajectory(const RawRows& rows, std::string_view session_id, Trajectory& out);
// A session's agent: the most frequent non-empty agent of its turns, ties to
// the first in byte order (SQL's mode() would use the column's collation);
// empty when no turn names one.
std::string session_agent(const std::vector<Turn>& turns);

}  // namespace trajc
