// The trajectory model: a session's turns, each a list of named fields, and
// the text and hash derived from them.
//
// Must never: know where the turns came from (Postgres, a file, a test), or
// reorder a turn's fields (they keep the table's column order).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace trajc {

// One non-NULL column of an audit-log row, as text (Postgres' ::text output).
struct Field {
  std::string name;
  std::string value;
  bool is_json = false;  // json/jsonb: rendered compact, key order kept
};

// One row of the log. Fields are in table column order, already without the
// session and time columns and without NULLs.
struct Turn {
  int number = 0;        // 1..n in time order
  std::string at;        // ISO 8601 UTC, e.g. 2026-01-02T03:04:05.000000Z
  std::string agent;     // may be empty
  std::vector<Field> fields;
};

struct Trajectory {
  std::string session_id;
  std::string agent;     // the session's most frequent agent
  std::vector<Turn> turns;
};

// A field's value as turn text shows it: json compacted, anything else as is.
// `scratch` holds the compacted text; the view is valid while it and f live.
std::string_view display_value(const Field& f, std::string& scratch);
// `name: value` lines joined by '\n' (no trailing newline); json compacted.
std::string render_turn(const std::vector<Field>& fields);
// Appends one `name: value` line of a turn to out ('\n' first unless out is
// empty): the piece render_turn is made of, for callers holding raw values.
void append_field(std::string& out, std::string_view name, std::string_view value, bool is_json);
// A JSON value in compact form, keys in their original order; input that is
// not valid JSON is returned unchanged.
std::string compact_json(const std::string& json_text);
// Stable 64-bit FNV-1a over every turn's time and rendered content, as 16
// lowercase hex digits: changes whenever the trajectory gains or changes turns.
std::string trajectory_hash(const Trajectory& t);

}  // namespace trajc
