// Making core text storable (valid UTF-8, no NUL, bounded, then in the
// database encoding) and database text readable by the core (UTF-8).
//
// Until the core's own safe-text function is used here, this file is where
// the boundary checks UTF-8; it relies on Postgres' validators
// (pg_verify_mbstr, pg_utf8_islegal) and its noError conversions, so that
// nothing here raises for bad input.
//
// Must never: raise for any input, or do work for text that is already fine
// beyond one validating pass.
#include "stored_text.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace trajc_pg {

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

bool database_is_utf8_compatible() {
  const int db = GetDatabaseEncoding();
  return db == PG_UTF8 || db == PG_SQL_ASCII;  // SQL_ASCII stores bytes as given
}

// Appends s[0, len) as valid UTF-8 without NUL bytes to `out`, stopping once
// `out` has grown past `stop_after` bytes (what follows would be cut anyway).
void append_valid_utf8(StringInfo out, const char* s, std::size_t len, std::size_t stop_after) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  std::size_t i = 0;
  while (i < len && static_cast<std::size_t>(out->len) <= stop_after) {
    std::size_t run = i;  // plain ASCII is copied as a run
    while (run < len && p[run] != 0 && p[run] < 0x80) run++;
    if (run > i) {
      appendBinaryStringInfo(out, s + i, static_cast<int>(run - i));
      i = run;
      continue;
    }
    const int n = p[i] == 0 ? 0 : pg_utf_mblen(p + i);
    if (n > 1 && i + n <= len && pg_utf8_islegal(p + i, n)) {
      appendBinaryStringInfo(out, s + i, n);
      i += n;
    } else {
      appendStringInfoString(out, kReplacement);
      i += 1;
    }
  }
}

// Cuts `out` to at most max_bytes, at a character boundary, ending with a
// note of how long the text was.
void cut_to(StringInfo out, std::size_t max_bytes, std::size_t full_length) {
  if (static_cast<std::size_t>(out->len) <= max_bytes) return;
  const char* note = psprintf("... [cut: %zu bytes in all]", full_length);
  std::size_t note_len = strlen(note);
  if (note_len > max_bytes) note_len = 0;
  std::size_t keep = max_bytes - note_len;
  // out->data[keep] is the first byte dropped: back off to its character's start.
  while (keep > 0 && (static_cast<unsigned char>(out->data[keep]) & 0xC0) == 0x80) keep--;
  out->len = static_cast<int>(keep);
  out->data[keep] = '\0';
  appendBinaryStringInfo(out, note, static_cast<int>(note_len));
}

// Converts s[0, len) (valid, NUL-free) from one encoding to another; a
// character the target lacks becomes '?'. Never raises.
char* convert_lossy(const char* s, int len, int from, int to) {
  StringInfoData out;
  initStringInfo(&out);
  const Oid proc = FindDefaultConversionProc(from, to);
  int done = 0;
  while (done < len) {
    int chunk = std::min(len - done, 64 * 1024);
    int used = 0;
    if (OidIsValid(proc)) {
      enlargeStringInfo(&out, chunk * MAX_CONVERSION_GROWTH + 1);
      auto* src = reinterpret_cast<unsigned char*>(const_cast<char*>(s + done));
      auto* dest = reinterpret_cast<unsigned char*>(out.data + out.len);
      used = pg_do_encoding_conversion_buf(proc, from, to, src, chunk, dest, out.maxlen - out.len, true);
      out.len += static_cast<int>(strlen(out.data + out.len));
    } else {
      // No conversion between them (a client-only encoding): ASCII passes.
      while (used < chunk && static_cast<unsigned char>(s[done + used]) < 0x80) used++;
      appendBinaryStringInfo(&out, s + done, used);
    }
    done += used;
    if (used < chunk) {  // stopped at a character it cannot convert
      appendStringInfoChar(&out, '?');
      done += std::min(pg_encoding_mblen(from, s + done), len - done);
    }
  }
  return out.data;
}

// Core text, made valid, NUL-free and bounded, in the database encoding.
StringInfoData storable(std::string_view utf8, std::size_t max_bytes) {
  StringInfoData out;
  initStringInfo(&out);
  append_valid_utf8(&out, utf8.data(), utf8.size(), max_bytes);
  cut_to(&out, max_bytes, utf8.size());
  if (!database_is_utf8_compatible()) {
    char* converted = convert_lossy(out.data, out.len, PG_UTF8, GetDatabaseEncoding());
    pfree(out.data);
    out.data = converted;
    out.len = static_cast<int>(strlen(converted));
    out.maxlen = out.len + 1;
  }
  return out;
}

}  // namespace

char* from_core_cstring(std::string_view utf8, std::size_t max_bytes) {
  return storable(utf8, max_bytes).data;
}

Datum from_core_text(std::string_view utf8, std::size_t max_bytes) {
  StringInfoData s = storable(utf8, max_bytes);
  return PointerGetDatum(cstring_to_text_with_len(s.data, s.len));
}

Datum from_core_json(std::string_view utf8) {
  StringInfoData s = storable(utf8, kUnbounded);
  // jsonb refuses \u0000; any other \u escape it takes. The replacement must
  // be one the database encoding has: U+FFFD in UTF8, '?' elsewhere.
  const char* replacement = GetDatabaseEncoding() == PG_UTF8 ? "\\ufffd" : "?";
  StringInfoData json;
  initStringInfo(&json);
  for (int i = 0; i < s.len; i++) {
    if (s.data[i] != '\\' || i + 1 >= s.len) {
      appendStringInfoChar(&json, s.data[i]);
      continue;
    }
    if (s.data[i + 1] == 'u' && i + 6 <= s.len && strncmp(s.data + i + 2, "0000", 4) == 0) {
      appendStringInfoString(&json, replacement);
    } else {
      // Any other escape is kept whole, so that the \ of "\\u0000" (a
      // backslash, then the text u0000) is never taken for an escape's start.
      appendBinaryStringInfo(&json, s.data + i, s.data[i + 1] == 'u' ? std::min(6, s.len - i) : 2);
    }
    i += s.data[i + 1] == 'u' ? 5 : 1;
  }
  return PointerGetDatum(cstring_to_text_with_len(json.data, json.len));
}

const char* to_core_text(const char* s, int len, int* out_len) {
  *out_len = len;
  if (database_is_utf8_compatible()) return s;
  const char* utf8 = convert_lossy(s, len, GetDatabaseEncoding(), PG_UTF8);
  *out_len = static_cast<int>(strlen(utf8));
  return utf8;
}

const char* to_core_text(const char* s) {
  int len;
  return to_core_text(s, static_cast<int>(strlen(s)), &len);
}

}  // namespace trajc_pg
