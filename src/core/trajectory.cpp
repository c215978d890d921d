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
std::string strip_json_space(const std::string& text) {
  std::string out;
  out.reserve(text.size());
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
  return out;
}

void append_turn(std::string& out, const std::vector<Field>& fields) {
  std::string scratch;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += '\n';
    out += fields[i].name;
    out += ": ";
    out += display_value(fields[i], scratch);
  }
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
  return strip_json_space(json_text);
}

std::string_view display_value(const Field& f, std::string& scratch) {
  if (!f.is_json) return f.value;
  scratch = compact_json(f.value);
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
