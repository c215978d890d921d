// The Postgres mirror (see mirror.hpp). Rows go from COPY TO STDOUT on the
// source straight into COPY FROM STDIN on the target, both in text format:
// no value is parsed or reformatted here, and memory stays flat.
#include "mirror.hpp"

#include <cstdlib>

#include "pg.hpp"
#include "signals.hpp"

namespace trajc_cli {

namespace {

// Streams the selected pairs into the target's temporary table; returns how
// many arrived. The source's transaction stays open until the caller commits.
long copy_into_incoming(TrajcDb& source, Pg& target, const PairFilter& f,
                        InterruptScope& interrupt_scope) {
  target.exec("COPY trajc_incoming (" + pair_columns() + ") FROM STDIN");
  source.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  // Text forms both sides agree on, whatever the users' defaults.
  source.exec("SET LOCAL DateStyle = ISO");
  source.exec("SET LOCAL TimeZone = 'UTC'");
  interrupt_scope.cancel_on_signal(source.raw());
  source.exec("COPY (SELECT " + pair_columns("p.") + " FROM trajc.qa_pairs p" +
              pair_where(source, f) + ") TO STDOUT");
  for (;;) {
    char* buf = nullptr;
    int len = PQgetCopyData(source.raw(), &buf, 0);
    if (len == -1) break;  // done
    if (len < 0) throw source.connection_error("reading pairs");
    int ok = PQputCopyData(target.raw(), buf, len);
    PQfreemem(buf);
    if (ok != 1) throw target.connection_error("writing pairs");
  }
  source.receive();  // the COPY's own result: an error if the server stopped it
  if (PQputCopyEnd(target.raw(), nullptr) != 1) throw target.connection_error("ending COPY");
  return std::atol(PQcmdTuples(target.receive().get()));
}

}  // namespace

MirrorCounts mirror_to_postgres(TrajcDb& source, const std::string& target_dsn,
                                const PairFilter& f, InterruptScope& interrupt_scope) {
  MirrorCounts counts;
  Pg target(target_dsn);
  target.exec("BEGIN");
  // Two mirrors at once would race on the migrations.
  target.exec("SELECT pg_advisory_xact_lock(hashtext('trajc_mirror'))");
  PgMigrationTarget migrations(target);
  apply_migrations(load_migrations("postgres"), migrations);
  target.exec("CREATE TEMP TABLE trajc_incoming (LIKE qa_pairs) ON COMMIT DROP");
  counts.read = copy_into_incoming(source, target, f, interrupt_scope);
  if (interrupted()) throw CliError(kExitInterrupted, "interrupted");

  PgResult inserted =
      target.exec("INSERT INTO qa_pairs (" + pair_columns() + ") SELECT " + pair_columns() +
                  " FROM trajc_incoming ON CONFLICT (id) DO NOTHING");
  counts.written = std::atol(PQcmdTuples(inserted.get()));
  counts.total = std::atol(target.scalar("SELECT count(*) FROM qa_pairs").c_str());
  target.exec("COMMIT");
  source.exec("COMMIT");
  return counts;
}

}  // namespace trajc_cli
