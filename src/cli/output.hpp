// Everything the tool prints as data: aligned tables (or one block per
// record) on a terminal, JSON for scripts, the JSON string escaping that the
// exporters share, and the escaping of text meant for a human. Must never put
// a control character from the database on a terminal: a session id with
// ESC [ ... could rewrite the screen or the window title.
#pragma once

#include <libpq-fe.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trajc_cli {

// Appends `s` as a JSON string literal (quotes included). Input is UTF-8
// from the database; control characters (C0, DEL, C1) are escaped as \u00XX,
// the rest kept as is: a JSON reader gets the exact value back.
void append_json_string(std::string& out, std::string_view s);

// `s` made safe for a terminal: C0 controls and DEL as \xHH, C1 controls
// (U+0080..U+009F) as \u00HH, bytes that are not UTF-8 as \xHH. With
// `keep_layout`, newlines and tabs stay (multi-line values, error details).
// For human-readable output only; files and --json keep exact values.
std::string printable(std::string_view s, bool keep_layout = false);

enum class ValueKind { Text, Number, Bool, Json };

// Appends a value of the given kind as JSON: Number and Json are written
// verbatim (they come from the server in valid form), NaN/Infinity as null.
void append_json_value(std::string& out, std::string_view text, ValueKind kind);

// The kind of a result column, from its type OID.
ValueKind kind_of(Oid type);

struct Table {
  struct Column {
    std::string name;
    ValueKind kind = ValueKind::Text;
  };
  std::vector<Column> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt = NULL

  static Table from_result(const PGresult* res);
};

enum class Layout {
  Columns,  // one aligned row per record (stats, extract)
  Records,  // one block per record, for long text (sample)
};

struct OutputStyle {
  bool json = false;  // a JSON array of objects, for scripts
  Layout layout = Layout::Columns;
};

// A JSON array of objects, one per row (what print_table prints for --json).
std::string to_json(const Table& t);

// Prints to `out`. On a terminal long cells are cut to fit; elsewhere they are
// printed whole (newlines shown as spaces in the column layout).
void print_table(const Table& t, const OutputStyle& style, std::FILE* out = stdout);

// Whole-word formatting helpers used in summaries.
std::string format_usd(double usd);
std::string format_duration(double seconds);

}  // namespace trajc_cli
