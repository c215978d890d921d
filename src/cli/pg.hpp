// libpq, wrapped once: connecting (with the usual DSN fallbacks), running
// statements with parameters, turning server errors into CliErrors with a
// message a user can act on, and a database as a target of the numbered
// migrations (the mirror). Must never build SQL from a value without quoting
// it (literal(), identifier()) nor print a server text raw.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "errors.hpp"
#include "migrations.hpp"

namespace trajc_cli {

struct PgResultFree {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

// Statement parameters in text form; nullptr is SQL NULL. The pointers only
// need to live for the duration of the call.
using Params = std::vector<const char*>;

// A text[] parameter in Postgres array syntax ({"a","b\\"c"}).
std::string text_array(const std::vector<std::string>& items);

class Pg {
 public:
  // `dsn` as given with --dsn; empty means DATABASE_URL, else libpq's PG*
  // variables and defaults. Unreachable database: CliError(kExitUsage).
  explicit Pg(const std::string& dsn);
  ~Pg();
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  PGconn* raw() const { return conn_; }
  // "database \"x\" on host:port" for messages.
  std::string where() const;

  // Runs one statement and returns its result; a server error becomes a
  // CliError (see error_from). Rows come back in text form.
  PgResult exec(const std::string& sql, const Params& params = {});
  // exec() in two halves, so the client can work while the server runs the
  // statement: send() returns at once, receive() waits for the result. In
  // between, absorb() moves what has arrived into libpq's buffer (never
  // blocks), so the server is not held up by a full socket.
  void send(const std::string& sql);
  PgResult receive();
  void absorb();
  // exec() that also expects exactly one row; returns column 0 of it.
  std::string scalar(const std::string& sql, const Params& params = {});

  std::string literal(const std::string& value) const;
  std::string identifier(const std::string& name) const;

  // The CliError for a failed result: server message, detail and hint, the
  // exit code chosen by SQLSTATE, and a hint for the errors users hit most.
  CliError error_from(const PGresult* res) const;
  // The CliError for a failure reported on the connection (no result).
  CliError connection_error(const std::string& doing) const;

 private:
  PgResult checked(PgResult res);  // throws for an error result
  PGconn* conn_ = nullptr;
};

// A connection to a database where the trajc extension is installed; calls
// functions through the extension's schema so search_path does not matter.
class TrajcDb : public Pg {
 public:
  // Also checks that the extension is there: CliError(kExitUsage) saying
  // `CREATE EXTENSION trajc;` (or how to install it) when it is not.
  explicit TrajcDb(const std::string& dsn);
  // "schema".trajc_<name>
  std::string fn(const char* name) const { return schema_ + "." + name; }

 private:
  std::string schema_;  // quoted
};

// migrations/postgres applied to a database, recorded in its
// trajc_schema_migrations; the caller holds the transaction.
class PgMigrationTarget : public MigrationTarget {
 public:
  explicit PgMigrationTarget(Pg& db) : db_(db) {}
  std::vector<int> applied_versions() override;
  void run(const Migration& m) override;
  void record(const Migration& m) override;
  std::string describe() const override { return "the mirror " + db_.where(); }

 private:
  Pg& db_;
};

}  // namespace trajc_cli
