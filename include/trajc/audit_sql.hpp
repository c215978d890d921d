// The two queries trajc runs on the audit log (listing sessions, reading one
// session's turns), as text built from already-quoted identifiers: the one
// definition both the extension (src/pg/audit_source.cpp, over SPI) and the
// companion tool's client engine (src/cli/client_source.cpp, over libpq) run,
// so ordering and tie-breaking cannot differ between them.
//
// Must never: quote or resolve a name itself (the caller resolves settings
// through the catalog and passes quoted identifiers), or take a value (values
// are the $n parameters).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <vector>

namespace trajc {

struct AuditSql {
  std::string relation;      // schema-qualified, quoted
  std::string session_col;   // quoted
  bool session_is_text = true;  // text/varchar: compared directly (index usable)
  std::string time_col;      // quoted
  std::string agent_col;     // quoted; empty when there is no agent column
  std::string tiebreak;      // ", l.pk..." / ", l.ctid" / ", l.col::text..." / "" (alias l)
  std::vector<std::string> content_quoted;  // content columns, quoted, in table order
};

// The tie-break of turns with equal times when there is no primary key and
// no ctid (a view, a foreign table): every content column as text.
std::string content_tiebreak(const std::vector<std::string>& content_quoted);

// What a session or time column of the wrong type is told, worded once for
// both engines (printf formats). Error: the column, the setting that named
// it, its type. Session hint: that setting, the source's setting, the column
// quoted twice. Time hint: that setting.
inline constexpr const char* kSessionTypeError =
    "column \"%s\" named by %s has type %s, which cannot group rows into sessions (it has no"
    " equality operator)";
inline constexpr const char* kSessionTypeHint =
    "Set %s to a column of a type with equality (text, uuid, bigint, jsonb, ...), or set %s to a"
    " view that selects it as text (%s::text AS %s).";
inline constexpr const char* kTimeTypeError =
    "column \"%s\" named by %s has type %s, which does not convert to timestamptz";
inline constexpr const char* kTimeTypeHint =
    "Set %s to a timestamptz, timestamp or date column (or text holding times).";

// SELECT session_id, agent, turn_count, first_at, last_at ... with $1
// min_turns, $2 limit (0 = none), $3 since (timestamptz, NULL = any);
// longest first, then latest, then session id. Without with_agent, agent is
// NULL (compiling needs no agent, and computing it costs a second pass).
std::string sessions_sql(const AuditSql& q, bool with_agent);

// One session's rows in turn order: at (timestamptz), at (ISO UTC text;
// NULL without with_iso_time), agent (text), then every content column as
// text; $1 = session id (text).
std::string turns_sql(const AuditSql& q, bool with_iso_time);

}  // namespace trajc
