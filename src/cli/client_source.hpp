// The audit log as the client engine reads it: the source and column
// settings (flags, else TRAJC_* environment variables, else the extension's
// defaults), resolved through the catalog over libpq into the core's
// AuditSql, and one session's rows read into the core's trajectory.
//
// Must never: splice a setting into SQL unquoted (names are looked up in the
// catalog and quoted by the server), decide how rows become turns (the core's
// to_trajectory does), or order turns any way but the core's turns_sql.
#pragma once

#include <string>
#include <vector>

#include "args.hpp"
#include "pg.hpp"
#include "trajc/audit_rows.hpp"
#include "trajc/audit_sql.hpp"
#include "trajc/trajectory.hpp"

namespace trajc_cli {

// What trajc.source, trajc.session_column, ... say on the server.
struct SourceSettings {
  std::string source, session_column, time_column, agent_column, content_columns;
};
// --source/TRAJC_SOURCE, --session-column/TRAJC_SESSION_COLUMN,
// --time-column/TRAJC_TIME_COLUMN, --agent-column/TRAJC_AGENT_COLUMN,
// --content-columns/TRAJC_CONTENT_COLUMNS; defaults from trajc/defaults.hpp.
SourceSettings source_settings(const ParsedArgs& a);
// The options above, for the commands that read the audit log.
std::vector<OptionSpec> source_options();

struct ClientSource {
  trajc::AuditSql sql;
  std::vector<std::string> content_names;  // as stored (turn labels)
  std::vector<bool> content_json;
};

// Resolves the settings with the connected role's rights; errors name the
// setting to fix, as the extension's do.
ClientSource resolve_client_source(Pg& db, const SourceSettings& s);

// trajc_extract's listing: sessions_sql with min_turns, limit (0 = all), since.
PgResult list_client_sessions(Pg& db, const ClientSource& src, int min_turns, int limit,
                              const char* since);

// One session's turns (turns_sql), as the core's trajectory.
void read_client_trajectory(Pg& db, const ClientSource& src, const std::string& session_id,
                            trajc::Trajectory& out);

}  // namespace trajc_cli
