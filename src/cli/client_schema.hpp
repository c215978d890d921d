// The client engine's database side: whether a database has the trajc
// extension, and `trajc init`, which creates the trajc schema and tables in a
// database that cannot have it (hosted Supabase, RDS, Cloud SQL, Neon).
//
// Must never: hold a copy of the table DDL (kTablesSql is cut out of the
// extension's install script at build time), or create anything but that.
#pragma once

#include <string>

#include "pg.hpp"

namespace trajc_cli {

// The table block of sql/trajc--0.2.0.sql (trajc_schema_embedded.cpp).
extern const char* const kTablesSql;

// True when the trajc extension is installed in the database.
bool has_extension(Pg& db);
// Stops (exit 2) unless the role may read and write the trajc tables the
// client engine writes, naming the privileges that are missing.
void require_table_privileges(Pg& db);

// Which implementation a command runs: the extension's SQL functions, or the
// tool's own (client engine) over plain SQL.
enum class Engine { Server, Client };
// --engine client|server|auto (auto: client when there is no extension).
Engine choose_engine(Pg& db, const std::string& option);

}  // namespace trajc_cli
