// Tables, records and JSON on stdout, and the escaping of what they show
// (see output.hpp). Must never print a database value without printable()
// or JSON escaping.
#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace trajc_cli {

namespace {

// Type OIDs from pg_type.h (stable across versions; libpq ships no header).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700, kJsonOid = 114,
              kJsonbOid = 3802;

constexpr std::size_t kMaxCellOnTerminal = 60;

// Display width of UTF-8 text, in code points (good enough for aligned
// tables of mostly Latin text; wide CJK glyphs may shift a column).
std::size_t width_of(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `max` code points of `s`, with "…" when something was cut.
std::string cut(std::string_view s, std::size_t max) {
  if (width_of(s) <= max) return std::string(s);
  std::size_t points = 0, i = 0;
  for (; i < s.size(); i++) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++points == max) break;
  }
  return std::string(s.substr(0, i)) + "…";
}

std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

void write(std::FILE* out, const std::string& s) { std::fwrite(s.data(), 1, s.size(), out); }

std::string pad(const std::string& s, std::size_t width, bool right) {
  std::size_t w = width_of(s);
  if (w >= width) return s;
  std::string fill(width - w, ' ');
  return right ? fill + s : s + fill;
}

}  // namespace

std::string to_json(const Table& t) {
  std::string buf = "[";
  for (std::size_t r = 0; r < t.rows.size(); r++) {
    buf += r ? ",\n  {" : "\n  {";
    for (std::size_t c = 0; c < t.columns.size(); c++) {
      if (c) buf += ", ";
      append_json_string(buf, t.columns[c].name);
      buf += ": ";
      const auto& v = t.rows[r][c];
      if (v)
        append_json_value(buf, *v, t.columns[c].kind);
      else
        buf += "null";
    }
    buf += "}";
  }
  buf += t.rows.empty() ? "]" : "\n]";
  return buf;
}

namespace {

void print_columns(const Table& t, bool terminal, std::FILE* out) {
  const std::size_t n = t.columns.size();
  std::vector<std::vector<std::string>> cells(t.rows.size(), std::vector<std::string>(n));
  std::vector<std::size_t> width(n);
  std::vector<std::string> names(n);
  for (std::size_t c = 0; c < n; c++) {
    names[c] = printable(t.columns[c].name);
    width[c] = width_of(names[c]);
  }
  for (std::size_t r = 0; r < t.rows.size(); r++) {
    for (std::size_t c = 0; c < n; c++) {
      std::string s = t.rows[r][c] ? printable(one_line(*t.rows[r][c])) : "";
      if (terminal) s = cut(s, kMaxCellOnTerminal);
      width[c] = std::max(width[c], width_of(s));
      cells[r][c] = std::move(s);
    }
  }
  auto line = [&](auto cell_of) {
    std::string l;
    for (std::size_t c = 0; c < n; c++) {
      if (c) l += " | ";
      l += cell_of(c);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    write(out, l + "\n");
  };
  line([&](std::size_t c) { return pad(names[c], width[c], false); });
  std::string rule;
  for (std::size_t c = 0; c < n; c++) rule += (c ? "-+-" : "") + std::string(width[c], '-');
  write(out, rule + "\n");
  for (const auto& row : cells)
    line([&](std::size_t c) {
      return pad(row[c], width[c], t.columns[c].kind == ValueKind::Number);
    });
  write(out, "(" + std::to_string(t.rows.size()) + (t.rows.size() == 1 ? " row)\n" : " rows)\n"));
}

void print_records(const Table& t, std::FILE* out) {
  std::size_t name_width = 0;
  std::vector<std::string> names;
  for (const auto& c : t.columns) {
    names.push_back(printable(c.name));
    name_width = std::max(name_width, width_of(names.back()));
  }
  for (std::size_t r = 0; r < t.rows.size(); r++) {
    std::string block = "-[ " + std::to_string(r + 1) + " ]" + std::string(40, '-') + "\n";
    for (std::size_t c = 0; c < t.columns.size(); c++) {
      block += pad(names[c], name_width, false) + " | ";
      const std::string value = printable(t.rows[r][c].value_or(""), /*keep_layout=*/true);
      // Continuation lines of multi-line values stay under the value column.
      for (char ch : value) {
        block += ch;
        if (ch == '\n') block += std::string(name_width, ' ') + " | ";
      }
      block += '\n';
    }
    write(out, block);
  }
  if (t.rows.empty()) write(out, "(no rows)\n");
}

constexpr const char* kHex = "0123456789abcdef";

void append_hex(std::string& out, const char* prefix, unsigned char c) {
  out += prefix;
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// U+0080..U+009F, the C1 controls, are C2 80..C2 9F in UTF-8.
bool is_c1_at(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]) == 0xC2 && i + 1 < s.size() &&
         (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at s[i] (lead byte >= 0x80), or 0:
// no overlong forms, no surrogates, nothing past U+10FFFF.
std::size_t utf8_length_at(std::string_view s, std::size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const std::size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                          : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4
                                                   : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; k++)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  const unsigned char second = static_cast<unsigned char>(s[i + 1]);
  if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second > 0x9F) ||
      (c == 0xF0 && second < 0x90) || (c == 0xF4 && second > 0x8F))
    return 0;
  return len;
}

}  // namespace

std::string printable(std::string_view s, bool keep_layout) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c >= 0x20 && c != 0x7F) || (keep_layout && (c == '\n' || c == '\t')))
        out += static_cast<char>(c);
      else
        append_hex(out, "\\x", c);
      i++;
    } else if (const std::size_t len = utf8_length_at(s, i); len == 0) {
      append_hex(out, "\\x", c);
      i++;
    } else if (is_c1_at(s, i)) {
      append_hex(out, "\\u00", static_cast<unsigned char>(s[i + 1]));
      i += 2;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;  // start of the pending run of characters needing no escape
  for (std::size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    // Printable ASCII first: nearly every byte, one range test.
    if (c >= 0x20 && c < 0x7F ? c != '"' && c != '\\' : c >= 0x80 && !is_c1_at(s, i)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (c == 0xC2) {  // a C1 control: both bytes become one escape
      append_hex(out, "\\u00", static_cast<unsigned char>(s[++i]));
      run = i + 1;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        append_hex(out, "\\u00", c);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_json_value(std::string& out, std::string_view text, ValueKind kind) {
  switch (kind) {
    case ValueKind::Number:
      if (text == "NaN" || text == "Infinity" || text == "-Infinity")
        out += "null";
      else
        out += text;
      return;
    case ValueKind::Bool:
      out += text == "t" ? "true" : "false";
      return;
    case ValueKind::Json:
      out += text;
      return;
    case ValueKind::Text:
      append_json_string(out, text);
      return;
  }
}

ValueKind kind_of(Oid type) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return ValueKind::Number;
    case kBoolOid:
      return ValueKind::Bool;
    case kJsonOid:
    case kJsonbOid:
      return ValueKind::Json;
    default:
      return ValueKind::Text;
  }
}

Table Table::from_result(const PGresult* res) {
  Table t;
  const int ncols = PQnfields(res), nrows = PQntuples(res);
  for (int c = 0; c < ncols; c++) t.columns.push_back({PQfname(res, c), kind_of(PQftype(res, c))});
  t.rows.reserve(nrows);
  for (int r = 0; r < nrows; r++) {
    auto& row = t.rows.emplace_back(ncols);
    for (int c = 0; c < ncols; c++)
      if (!PQgetisnull(res, r, c))
        row[c] = std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c));
  }
  return t;
}

void print_table(const Table& t, const OutputStyle& style, std::FILE* out) {
  if (style.json)
    write(out, to_json(t) + "\n");
  else if (style.layout == Layout::Records)
    print_records(t, out);
  else
    print_columns(t, isatty(fileno(out)) != 0, out);
  std::fflush(out);
}

std::string format_usd(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, usd != 0 && std::fabs(usd) < 0.01 ? "$%.6f" : "$%.4f", usd);
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  long s = std::lround(seconds);
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

}  // namespace trajc_cli
