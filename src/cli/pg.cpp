// libpq for the tool (see pg.hpp). Must never show a password (libpq's
// messages do not carry one) nor put a server's text on a terminal raw.
#include "pg.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "output.hpp"
#include "signals.hpp"
#include "trajc/ascii.hpp"

namespace trajc_cli {

namespace {

// Server notices (WARNING, NOTICE) go to stderr like libpq's default, but
// escaped: they quote session ids and model output.
void print_notice(void*, const char* message) {
  std::fputs(printable(message, /*keep_layout=*/true).c_str(), stderr);
}

// A libpq message without the newline it ends in.
std::string libpq_message(const char* message) { return std::string(trajc::ascii::trim_end(message)); }

std::string field(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v ? v : "";
}

}  // namespace

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

Pg::Pg(const std::string& dsn) {
  std::string conninfo = dsn;
  if (conninfo.empty()) {
    const char* url = std::getenv("DATABASE_URL");
    if (url) conninfo = url;
  }
  // expand_dbname lets `dbname` carry a whole connection string or URI; an
  // empty one leaves every setting to the PG* variables and libpq defaults.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.empty() ? nullptr : conninfo.c_str(), "trajc", nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (!conn_) throw CliError(kExitUsage, "out of memory while connecting to the database");
  if (PQstatus(conn_) != CONNECTION_OK) {
    CliError err(kExitUsage,
                 "cannot connect to the database: " + libpq_message(PQerrorMessage(conn_)),
                 "pass --dsn (-d) 'postgresql://user@host:port/db', or set DATABASE_URL, or "
                 "PGHOST/PGPORT/PGDATABASE/PGUSER");
    PQfinish(conn_);
    conn_ = nullptr;
    throw err;
  }
  PQsetNoticeProcessor(conn_, print_notice, nullptr);
}

Pg::~Pg() {
  if (conn_) PQfinish(conn_);
}

std::string Pg::where() const {
  std::string host = PQhost(conn_) ? PQhost(conn_) : "";
  return "database \"" + std::string(PQdb(conn_)) + "\" on " + host + ":" + PQport(conn_);
}

PgResult Pg::exec(const std::string& sql, const Params& params) {
  return checked(PgResult(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                       params.data(), nullptr, nullptr, 0)));
}

void Pg::send(const std::string& sql) {
  if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0))
    throw connection_error("sending a query");
}

PgResult Pg::receive() {
  PgResult res(PQgetResult(conn_));
  // A statement gives one result, then NULL; reading the NULL readies the
  // connection for the next statement.
  while (PgResult rest{PQgetResult(conn_)}) {
  }
  return checked(std::move(res));
}

void Pg::absorb() {
  if (!PQconsumeInput(conn_)) throw connection_error("reading results");
}

PgResult Pg::checked(PgResult res) {
  if (!res) throw connection_error("running a query");
  switch (PQresultStatus(res.get())) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
      return res;
    default:
      throw error_from(res.get());
  }
}

std::string Pg::scalar(const std::string& sql, const Params& params) {
  PgResult res = exec(sql, params);
  if (PQntuples(res.get()) != 1 || PQnfields(res.get()) < 1)
    throw CliError(kExitFailed, "expected one row from: " + sql);
  return PQgetvalue(res.get(), 0, 0);
}

std::string Pg::literal(const std::string& value) const {
  char* q = PQescapeLiteral(conn_, value.data(), value.size());
  if (!q) throw connection_error("quoting a value");
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string Pg::identifier(const std::string& name) const {
  char* q = PQescapeIdentifier(conn_, name.data(), name.size());
  if (!q) throw connection_error("quoting a name");
  std::string out(q);
  PQfreemem(q);
  return out;
}

CliError Pg::connection_error(const std::string& doing) const {
  if (interrupted()) return CliError(kExitInterrupted, "interrupted");
  return CliError(kExitUsage, "lost the connection to the " + where() + " while " + doing + ": " +
                                  libpq_message(PQerrorMessage(conn_)));
}

CliError Pg::error_from(const PGresult* res) const {
  const std::string state = field(res, PG_DIAG_SQLSTATE);
  if (state.empty() && PQstatus(conn_) == CONNECTION_BAD)
    return connection_error("running a query");
  std::string message = field(res, PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) message = libpq_message(PQresultErrorMessage(res));
  if (message.empty()) message = libpq_message(PQerrorMessage(conn_));
  const std::string detail = field(res, PG_DIAG_MESSAGE_DETAIL);
  if (!detail.empty()) message += " (" + detail + ")";
  std::string hint = field(res, PG_DIAG_MESSAGE_HINT);

  if (state == "57014" && interrupted()) return CliError(kExitInterrupted, "interrupted");
  if (state == "42P01" || state == "42703") {
    // The audit log (trajc.source and its column settings) is the usual culprit.
    if (hint.empty())
      hint =
          "the audit log is read from the table named by trajc.source (default audit_log); "
          "point it at yours: ALTER DATABASE " +
          std::string(PQdb(conn_)) + " SET trajc.source = 'schema.table';";
    return CliError(kExitUsage, message, hint, state);
  }
  if (state == "42883" && message.find("trajc") != std::string::npos)
    return CliError(kExitUsage, message,
                    "run CREATE EXTENSION trajc; in " + where() +
                        ", or ALTER EXTENSION trajc UPDATE; if it is older than this tool",
                    state);
  // Class 22 (data exception) comes from values the user passed (--since,
  // --min-turns, --tier...); class 08 from a broken connection; 28 and 3D
  // from connecting with the wrong role or database.
  const std::string cls = state.substr(0, 2);
  ExitCode code =
      (cls == "22" || cls == "08" || cls == "28" || cls == "3D") ? kExitUsage : kExitFailed;
  return CliError(code, message, hint, state);
}

TrajcDb::TrajcDb(const std::string& dsn) : Pg(dsn) {
  PgResult res = exec(
      "SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e "
      "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'trajc'");
  if (PQntuples(res.get()) == 0) {
    bool available =
        scalar("SELECT count(*) FROM pg_catalog.pg_available_extensions WHERE name = 'trajc'") !=
        "0";
    throw CliError(kExitUsage, "the trajc extension is not installed in " + where(),
                   available ? "run: CREATE EXTENSION trajc;"
                             : "install it on the server (make install in the trajc source "
                               "tree), then run: CREATE EXTENSION trajc;");
  }
  schema_ = identifier(PQgetvalue(res.get(), 0, 0));
}

std::vector<int> PgMigrationTarget::applied_versions() {
  // Not "schema_migrations": shared databases often have one of another tool.
  db_.exec(
      "CREATE TABLE IF NOT EXISTS trajc_schema_migrations (version int PRIMARY KEY, "
      "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  PgResult res = db_.exec("SELECT version FROM trajc_schema_migrations ORDER BY version");
  std::vector<int> out;
  for (int r = 0; r < PQntuples(res.get()); r++)
    out.push_back(std::atoi(PQgetvalue(res.get(), r, 0)));
  return out;
}

void PgMigrationTarget::run(const Migration& m) {
  // Simple query protocol: a migration may hold several statements.
  PgResult res(PQexec(db_.raw(), m.sql.c_str()));
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    if (!res) throw db_.connection_error("applying " + m.name);
    throw db_.error_from(res.get());
  }
}

void PgMigrationTarget::record(const Migration& m) {
  const std::string v = std::to_string(m.version);
  db_.exec("INSERT INTO trajc_schema_migrations (version, name) VALUES ($1, $2)",
           {v.c_str(), m.name.c_str()});
}

}  // namespace trajc_cli
