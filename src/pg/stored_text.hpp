// Text between the core and the database. The core works in UTF-8, the
// database in its own encoding (UTF8 mostly; LATIN1, SQL_ASCII and others
// happen). Every text the boundary stores or returns that came from the core
// (a model's reply, a server's error, a rendered turn) goes through
// from_core_*: valid in the database encoding, free of NUL bytes, and no
// longer than allowed, so that the row can be stored, shown, dumped and
// restored. Every text handed to the core goes through to_core_*.
//
// Must never: raise (what cannot be stored as it is gets repaired: an invalid
// byte or a NUL becomes U+FFFD, a character the database encoding lacks '?',
// an overlong text is cut and says so), cut inside a character, or let text
// reach a column any other way (store.cpp's columns all read through here).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// The longest error text stored or shown: enough to tell what went wrong.
inline constexpr std::size_t kMaxErrorBytes = 2000;
inline constexpr std::size_t kUnbounded = static_cast<std::size_t>(-1);

// UTF-8 from the core as a NUL-terminated string in the database encoding
// (palloc'd). Invalid UTF-8 and NUL bytes become U+FFFD; a text over
// max_bytes is cut at a character boundary and ends with a note of its length.
char* from_core_cstring(std::string_view utf8, std::size_t max_bytes = kUnbounded);
// The same as a text datum.
Datum from_core_text(std::string_view utf8, std::size_t max_bytes = kUnbounded);
// JSON text from the core, for a jsonb parameter: as from_core_text, never
// cut, and \u0000 escapes (which jsonb refuses) replaced.
Datum from_core_json(std::string_view utf8);

// Database text as UTF-8 for the core: the same bytes in a UTF8 or SQL_ASCII
// database, else converted (palloc'd, NUL-terminated, *out_len its length).
const char* to_core_text(const char* s, int len, int* out_len);
const char* to_core_text(const char* s);

}  // namespace trajc_pg
