// Turn text (`name: value` lines, json compacted without reparsing) and the
// trajectory hash that incremental runs compare.
//
// Must never: change how a turn renders or hashes without a reason to make
// every session compile again (stored hashes would all differ).
#include "trajc/trajectory.hpp"

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace trajc {
namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Drops the whitespace between JSON tokens. Working on the text instead of
// dumping a parsed value keeps keys in order and numbers and escapes exactly as
// stored (a jsonb 1.50 stays 1.50), so answers quoting them stay literal.
void append_without_json_space(std::string& out, std::string_view text) {
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      out += c;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!is_json_space(c)) {
      out += c;
      in_string = c == '"';
    }
  }
}

void append_turn(std::string& out, const std::vector<Field>& fields) {
  for (const Field& f : fields) append_field(out, f.name, f.value, f.is_json);
}

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

void fnv1a(std::uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
}

}  // namespace

std::string compact_json(const std::string& json_text) {
  if (!nlohmann::ordered_json::accept(json_text)) return json_text;
  std::string out;
  out.reserve(json_text.size());
  append_without_json_space(out, json_text);
  return out;
}

// Values flagged is_json come from json/jsonb columns, which Postgres has
// already validated: no second parse on this hot path.
void append_field(std::string& out, std::string_view name, std::string_view value, bool is_json) {
  if (!out.empty()) out += '\n';
  out += name;
  out += ": ";
  if (is_json)
    append_without_json_space(out, value);
  else
    out += value;
}

std::string_view display_value(const Field& f, std::string& scratch) {
  if (!f.is_json) return f.value;
  scratch.clear();
  append_without_json_space(scratch, f.value);
  return scratch;
}

std::string render_turn(const std::vector<Field>& fields) {
  std::string out;
  append_turn(out, fields);
  return out;
}

std::string trajectory_hash(const Trajectory& t) {
  std::uint64_t h = kFnvOffset;
  std::string content;
  for (const Turn& turn : t.turns) {
    content.clear();
    append_turn(content, turn.fields);
    // Unit and record separators keep ("a","bc") and ("ab","c") apart.
    fnv1a(h, turn.at);
    fnv1a(h, "\x1f");
    fnv1a(h, content);
    fnv1a(h, "\x1e");
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace trajc
