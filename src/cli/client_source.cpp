// Resolving the audit log over libpq for the client engine, and reading a
// session into the core's trajectory (see client_source.hpp). The queries
// themselves are the core's (trajc/audit_sql.hpp), shared with the extension.
//
// Must never: quote a name on the client (quote_ident runs on the server), or
// read a session's rows in any order but turns_sql's.
#include "client_source.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "trajc/audit_sql.hpp"
#include "trajc/defaults.hpp"

namespace trajc_cli {

namespace {

std::string setting(const ParsedArgs& a, const char* option, const char* env,
                    const char* fallback) {
  if (auto v = a.maybe(option)) return *v;
  const char* e = std::getenv(env);
  return e ? e : fallback;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n\r") - b + 1);
}

// The relation named by the source setting, schema-qualified and quoted, and its kind.
PgResult find_relation(Pg& db, const std::string& source) {
  PgResult rel = db.exec(
      "SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
      " c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
      " WHERE c.oid = pg_catalog.to_regclass($1)",
      {source.c_str()});
  if (PQntuples(rel.get()) == 0)
    throw usage_error("audit log \"" + source + "\" does not exist (or this role cannot see it)",
                      "pass --source (or set TRAJC_SOURCE) to the table or view holding the "
                      "audit log");
  const std::string kind = PQgetvalue(rel.get(), 0, 2);
  if (std::string("rvmfp").find(kind) == std::string::npos)
    throw usage_error("the source \"" + source + "\" is not a table or view");
  return rel;
}

struct Column {
  std::string name, quoted;
  bool is_json, is_text;
  std::string type;  // as format_type names it, for messages
};

std::vector<Column> columns_of(Pg& db, const std::string& relid) {
  PgResult res = db.exec(
      "SELECT a.attname, pg_catalog.quote_ident(a.attname),"
      " a.atttypid IN ('json'::regtype, 'jsonb'::regtype),"
      " a.atttypid IN ('text'::regtype, 'varchar'::regtype),"
      " pg_catalog.format_type(a.atttypid, NULL)"
      " FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0"
      " AND NOT a.attisdropped ORDER BY a.attnum",
      {relid.c_str()});
  std::vector<Column> out;
  for (int r = 0; r < PQntuples(res.get()); r++)
    out.push_back({PQgetvalue(res.get(), r, 0), PQgetvalue(res.get(), r, 1),
                   *PQgetvalue(res.get(), r, 2) == 't', *PQgetvalue(res.get(), r, 3) == 't',
                   PQgetvalue(res.get(), r, 4)});
  return out;
}

// Column settings name a column exactly as stored (case-sensitive, unquoted).
std::size_t find_column(const std::vector<Column>& cols, const char* what, const std::string& name) {
  for (std::size_t i = 0; i < cols.size(); i++)
    if (cols[i].name == name) return i;
  throw usage_error("column \"" + name + "\" named by " + what +
                        " does not exist in the audit log",
                    std::string("set ") + what + " to an existing column (exact name, case-sensitive)");
}

std::string formatted(const char* format, const char* a, const char* b, const char* c = "",
                      const char* d = "") {
  const int n = std::snprintf(nullptr, 0, format, a, b, c, d);
  std::string out(static_cast<std::size_t>(std::max(n, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, a, b, c, d);
  return out;
}

// The extension's type checks (src/pg/audit_source.cpp), in its words
// (trajc/audit_sql.hpp): the session column must group rows (an equality
// operator), the time column convert to timestamptz. Each is asked of the
// server as the turns query will ask it, on no rows, so the answer is
// exactly the one that query would get.
void check_column_types(Pg& db, const std::string& relation, const Column& session, const Column& time) {
  auto fails = [&](const std::string& probe, const char* sqlstate) {
    try {
      db.exec("SELECT 1 FROM " + relation + " l WHERE false " + probe);
      return false;
    } catch (const CliError& e) {
      if (e.sqlstate() != sqlstate) throw;
      return true;
    }
  };
  if (fails("GROUP BY l." + session.quoted, "42883"))  // undefined_function: no equality operator
    throw usage_error(formatted(trajc::kSessionTypeError, session.name.c_str(), "--session-column",
                                session.type.c_str()),
                      formatted(trajc::kSessionTypeHint, "--session-column", "--source",
                                session.quoted.c_str(), session.quoted.c_str()));
  if (fails("AND l." + time.quoted + "::timestamptz IS NULL", "42846"))  // cannot_coerce
    throw usage_error(formatted(trajc::kTimeTypeError, time.name.c_str(), "--time-column", time.type.c_str()),
                      formatted(trajc::kTimeTypeHint, "--time-column", ""));
}

// ", pk1, pk2" in key order, or "" without a primary key.
std::string primary_key_order(Pg& db, const std::string& relid) {
  PgResult res = db.exec(
      "SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_index i"
      " CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
      " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
      " WHERE i.indrelid = $1::oid AND i.indisprimary AND k.ord <= i.indnkeyatts ORDER BY k.ord",
      {relid.c_str()});
  std::string out;
  for (int r = 0; r < PQntuples(res.get()); r++) out += std::string(", l.") + PQgetvalue(res.get(), r, 0);
  return out;
}

}  // namespace

SourceSettings source_settings(const ParsedArgs& a) {
  namespace d = trajc::defaults;
  return SourceSettings{setting(a, "source", "TRAJC_SOURCE", d::kSource),
                        setting(a, "session-column", "TRAJC_SESSION_COLUMN", d::kSessionColumn),
                        setting(a, "time-column", "TRAJC_TIME_COLUMN", d::kTimeColumn),
                        setting(a, "agent-column", "TRAJC_AGENT_COLUMN", d::kAgentColumn),
                        setting(a, "content-columns", "TRAJC_CONTENT_COLUMNS", d::kContentColumns)};
}

std::vector<OptionSpec> source_options() {
  return {
      {"source", 0, "TABLE", "client engine: the audit log (else TRAJC_SOURCE, default audit_log)"},
      {"session-column", 0, "COL", "client engine: session column (TRAJC_SESSION_COLUMN)"},
      {"time-column", 0, "COL", "client engine: time column (TRAJC_TIME_COLUMN)"},
      {"agent-column", 0, "COL", "client engine: agent column, '' = none (TRAJC_AGENT_COLUMN)"},
      {"content-columns", 0, "A,B", "client engine: content columns (TRAJC_CONTENT_COLUMNS)"},
  };
}

ClientSource resolve_client_source(Pg& db, const SourceSettings& s) {
  PgResult rel = find_relation(db, s.source);
  const std::string relid = PQgetvalue(rel.get(), 0, 0);
  const char kind = *PQgetvalue(rel.get(), 0, 2);
  const std::vector<Column> cols = columns_of(db, relid);
  const std::size_t session = find_column(cols, "the session column", s.session_column);
  const std::size_t time = find_column(cols, "the time column", s.time_column);
  check_column_types(db, PQgetvalue(rel.get(), 0, 1), cols[session], cols[time]);
  ClientSource src;
  src.sql.relation = PQgetvalue(rel.get(), 0, 1);
  src.sql.session_col = cols[session].quoted;
  src.sql.session_is_text = cols[session].is_text;
  src.sql.time_col = cols[time].quoted;
  if (!s.agent_column.empty())
    src.sql.agent_col = cols[find_column(cols, "the agent column", s.agent_column)].quoted;
  std::vector<bool> wanted(cols.size(), s.content_columns.empty());
  std::string list = s.content_columns;
  for (std::size_t start = 0; !list.empty() && start <= list.size();) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string name = trim(list.substr(start, comma - start));
    if (!name.empty()) wanted[find_column(cols, "the content columns", name)] = true;
    start = comma + 1;
  }
  for (std::size_t i = 0; i < cols.size(); i++) {
    if (i == session || i == time || !wanted[i]) continue;
    src.sql.content_quoted.push_back(cols[i].quoted);
    src.content_names.push_back(cols[i].name);
    src.content_json.push_back(cols[i].is_json);
  }
  // Turns with equal times: the primary key, else ctid, else every content
  // column as text (as the extension's audit_source.cpp decides).
  src.sql.tiebreak = primary_key_order(db, relid);
  if (src.sql.tiebreak.empty())
    src.sql.tiebreak = (kind == 'r' || kind == 'm') ? ", l.ctid" : trajc::content_tiebreak(src.sql.content_quoted);
  return src;
}

PgResult list_client_sessions(Pg& db, const ClientSource& src, int min_turns, int limit,
                              const char* since) {
  if (min_turns < 1) throw usage_error("min_turns must be at least 1");
  if (limit < 0) throw usage_error("limit must be 0 (no limit) or positive");
  const std::string min = std::to_string(min_turns), lim = std::to_string(limit);
  return db.exec(trajc::sessions_sql(src.sql, false), {min.c_str(), lim.c_str(), since});
}

void read_client_trajectory(Pg& db, const ClientSource& src, const std::string& session_id,
                            trajc::Trajectory& out) {
  PgResult res = db.exec(trajc::turns_sql(src.sql, true), {session_id.c_str()});
  const int nturns = PQntuples(res.get());
  const int ncols = static_cast<int>(src.content_names.size());
  auto value = [&](int r, int c) {
    return PQgetisnull(res.get(), r, c)
               ? trajc::RawValue{nullptr, -1}
               : trajc::RawValue{PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c)};
  };
  std::vector<trajc::RawColumn> columns;
  for (int c = 0; c < ncols; c++) columns.push_back({src.content_names[c].c_str(), src.content_json[c]});
  std::vector<trajc::RawValue> at, agent, values;
  for (int r = 0; r < nturns; r++) {
    at.push_back(value(r, 1));
    agent.push_back(value(r, 2));
    for (int c = 0; c < ncols; c++) values.push_back(value(r, 3 + c));
  }
  const trajc::RawRows rows{nturns, ncols, columns.data(), at.data(), agent.data(), values.data()};
  trajc::to_trajectory(rows, session_id, out);
}

}  // namespace trajc_cli
