// export: stream trajc.qa_pairs out of the database into an SQLite file, a
// JSONL file (plain rows or chat messages), or a mirror table in another
// Postgres. Memory stays flat: rows arrive through a server-side cursor
// (FETCH 10000 at a time) or COPY, and are written as they come.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "migrations.hpp"
#include "output.hpp"
#include "pg.hpp"
#include "signals.hpp"
#include "sqlite.hpp"

namespace trajc_cli {

namespace fs = std::filesystem;

namespace {

// The exported columns, in the order of every SELECT, INSERT and COPY below;
// the same names in trajc.qa_pairs, the SQLite file and the mirror table.
enum PairColumn {
  kId,
  kSessionId,
  kAgent,
  kTurnCount,
  kQuestion,
  kAnswer,
  kSupportingTurns,
  kQaType,
  kSourceModel,
  kCostUsd,
  kRawExtraction,
  kCreatedAt,
  kColumnCount
};
constexpr const char* kColumnNames[kColumnCount] = {"id",
                                                    "session_id",
                                                    "agent",
                                                    "turn_count",
                                                    "question",
                                                    "answer",
                                                    "supporting_turns",
                                                    "qa_type",
                                                    "source_model",
                                                    "cost_usd",
                                                    "raw_extraction",
                                                    "created_at"};
constexpr ValueKind kColumnKinds[kColumnCount] = {
    ValueKind::Text, ValueKind::Text,   ValueKind::Text, ValueKind::Number,
    ValueKind::Text, ValueKind::Text,   ValueKind::Json, ValueKind::Text,
    ValueKind::Text, ValueKind::Number, ValueKind::Json, ValueKind::Text};

std::string column_list(const char* prefix = "") {
  std::string out;
  for (int c = 0; c < kColumnCount; c++)
    out += (c ? ", " : "") + std::string(prefix) + kColumnNames[c];
  return out;
}

// A timestamptz as ISO 8601 in UTC with microseconds: 2025-01-31T12:00:00.000000Z.
std::string iso_utc(const std::string& expr) {
  return "to_char(" + expr + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

enum class Format { Sqlite, Jsonl, Chat };

struct Filter {
  std::optional<std::string> qa_type;
  std::optional<std::string> since;
  std::vector<std::string> sessions;
};

// Values are quoted by libpq, not bound as parameters, because the same
// clause also goes into COPY (SELECT ...), which takes no parameters.
std::string where_clause(const Pg& db, const Filter& f) {
  std::vector<std::string> terms;
  if (f.qa_type) terms.push_back("p.qa_type = " + db.literal(*f.qa_type));
  if (f.since) terms.push_back("p.created_at >= " + db.literal(*f.since) + "::timestamptz");
  if (!f.sessions.empty()) {
    std::string in;
    for (const auto& s : f.sessions) in += (in.empty() ? "" : ", ") + db.literal(s);
    terms.push_back("p.session_id IN (" + in + ")");
  }
  std::string out;
  for (const auto& t : terms) out += (out.empty() ? " WHERE " : " AND ") + t;
  return out;
}

// ---------------------------------------------------------------- source

// Reads the pairs through a server-side cursor in one read-only snapshot.
// With `prefetch`, the next FETCH is sent before the current batch is
// written, so the server reads and sends while the sink works; the sink must
// then not use the connection itself.
class PairCursor {
 public:
  PairCursor(TrajcDb& db, const Filter& f, const char* order_by, bool prefetch)
      : db_(db), prefetch_(prefetch) {
    db_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    open_ = true;
    std::string select;
    for (int c = 0; c < kColumnCount; c++) {
      const std::string column = std::string("p.") + kColumnNames[c];
      select += (c ? ", " : "") + (c == kCreatedAt ? iso_utc(column) : column);
    }
    db_.exec("DECLARE trajc_export NO SCROLL CURSOR FOR SELECT " + select +
             " FROM trajc.qa_pairs p" + where_clause(db_, f) + " ORDER BY " + order_by);
  }
  ~PairCursor() {
    if (!open_) return;
    while (PgResult rest{PQgetResult(db_.raw())}) {
    }
    PQclear(PQexec(db_.raw(), "ROLLBACK"));
  }
  // The next batch of rows; an empty result at the end.
  PgResult fetch() {
    if (!in_flight_) db_.send(kFetch);
    in_flight_ = false;
    PgResult batch = db_.receive();
    if (prefetch_ && PQntuples(batch.get()) > 0) {
      db_.send(kFetch);
      in_flight_ = true;
    }
    return batch;
  }
  // Called now and then while a batch is written: drains the socket into
  // libpq's buffer so the prefetched batch keeps coming.
  void keep_receiving() {
    if (in_flight_) db_.absorb();
  }
  void close() {
    open_ = false;
    db_.exec("COMMIT");
  }

 private:
  static constexpr const char* kFetch = "FETCH 10000 FROM trajc_export";
  TrajcDb& db_;
  bool prefetch_;
  bool open_ = false;
  bool in_flight_ = false;
};

// ---------------------------------------------------------------- sinks

class PairSink {
 public:
  virtual ~PairSink() = default;
  virtual void write(const PGresult* rows, int row) = 0;
  // Makes everything written visible at once; before that the previous
  // output is untouched.
  virtual void commit() = 0;
  virtual long written() const = 0;
  // What is in the output after commit, for the summary.
  virtual long total() const { return written(); }
};

// Creates the parent directory and checks that `path` can be written (and,
// for the journal or the temporary file, its directory), before any work.
void prepare_output_path(const std::string& path) {
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  auto fail = [&](const std::string& why) {
    return CliError(kExitUsage, "cannot write " + path + ": " + why);
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw fail("cannot create directory " + dir.string() + ": " + ec.message());
  if (fs::is_directory(p)) throw fail("it is a directory");
  if (access(dir.c_str(), W_OK) != 0) throw fail(dir.string() + ": " + std::strerror(errno));
  if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0)
    throw fail(std::strerror(errno));
}

class SqliteMigrationTarget : public MigrationTarget {
 public:
  explicit SqliteMigrationTarget(SqliteDb& db) : db_(db) {}
  std::vector<int> applied_versions() override {
    db_.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    SqliteStmt q(db_, "SELECT version FROM schema_migrations ORDER BY version");
    std::vector<int> out;
    while (q.next_row()) out.push_back(sqlite3_column_int(q.raw(), 0));
    return out;
  }
  void run(const Migration& m) override { db_.exec(m.sql); }
  void record(const Migration& m) override {
    SqliteStmt ins(db_,
                   "INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    const std::string v = std::to_string(m.version);
    ins.bind_text(1, v.c_str(), -1);
    ins.bind_text(2, m.name.c_str(), -1);
    ins.run();
  }
  std::string describe() const override { return db_.path(); }

 private:
  SqliteDb& db_;
};

// Appends the pairs the file does not have (INSERT OR IGNORE on id): the
// export is incremental without trusting timestamps, which a long compile
// transaction can commit out of order.
class SqliteSink : public PairSink {
 public:
  explicit SqliteSink(const std::string& path) : db_(path) {
    // IMMEDIATE: take the write lock now, so an unwritable file or a
    // concurrent export fails before any row is read.
    db_.exec("BEGIN IMMEDIATE");
    SqliteMigrationTarget target(db_);
    apply_migrations(load_migrations("sqlite"), target);
    std::string sql = "INSERT OR IGNORE INTO qa_pairs (" + column_list() + ") VALUES (";
    for (int c = 0; c < kColumnCount; c++) sql += (c ? ", ?" : "?") + std::to_string(c + 1);
    insert_ = std::make_unique<SqliteStmt>(db_, sql + ")");
  }
  void write(const PGresult* rows, int row) override {
    for (int c = 0; c < kColumnCount; c++) {
      if (PQgetisnull(rows, row, c))
        insert_->bind_null(c + 1);
      else  // text from libpq; the column's affinity makes numbers of it
        insert_->bind_text(c + 1, PQgetvalue(rows, row, c), PQgetlength(rows, row, c));
    }
    insert_->run();
    written_ += sqlite3_changes(db_.raw());
  }
  void commit() override {
    SqliteStmt count(db_, "SELECT count(*) FROM qa_pairs");
    count.next_row();
    total_ = sqlite3_column_int64(count.raw(), 0);
    db_.exec("COMMIT");
  }
  long written() const override { return written_; }
  long total() const override { return total_; }

 private:
  SqliteDb db_;  // closing it without COMMIT rolls everything back
  std::unique_ptr<SqliteStmt> insert_;
  long written_ = 0, total_ = 0;
};

// Writes lines to a temporary file beside `path`, renamed over it on commit
// (or straight to stdout for "-").
class LineWriter {
 public:
  explicit LineWriter(const std::string& path) : path_(path) {
    if (path_ == "-") {
      file_ = stdout;
      return;
    }
    tmp_ = path_ + ".tmp-" + std::to_string(getpid());
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (!file_) throw CliError(kExitUsage, "cannot write " + tmp_ + ": " + std::strerror(errno));
  }
  ~LineWriter() {
    if (file_ && file_ != stdout) {
      std::fclose(file_);
      std::remove(tmp_.c_str());  // not committed: the previous file stays
    }
  }
  void line(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
        std::fputc('\n', file_) == EOF)
      throw failure();
  }
  void commit() {
    if (std::fflush(file_) != 0) throw failure();
    if (file_ == stdout) return;
    if (fsync(fileno(file_)) != 0 || std::fclose(file_) != 0) {
      file_ = nullptr;
      std::remove(tmp_.c_str());
      throw failure();
    }
    file_ = nullptr;
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::remove(tmp_.c_str());
      throw failure();
    }
  }

 private:
  CliError failure() const {
    return CliError(kExitUsage, "cannot write " + path_ + ": " + std::strerror(errno));
  }
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
};

// One JSON object per pair, the columns under their names.
class JsonlSink : public PairSink {
 public:
  explicit JsonlSink(const std::string& path) : out_(path) {}
  void write(const PGresult* rows, int row) override {
    line_.clear();
    line_ += '{';
    for (int c = 0; c < kColumnCount; c++) {
      if (c) line_ += ", ";
      append_json_string(line_, kColumnNames[c]);
      line_ += ": ";
      if (PQgetisnull(rows, row, c))
        line_ += "null";
      else
        append_json_value(line_,
                          std::string_view(PQgetvalue(rows, row, c), PQgetlength(rows, row, c)),
                          kColumnKinds[c]);
    }
    line_ += '}';
    out_.line(line_);
    written_++;
  }
  void commit() override { out_.commit(); }
  long written() const override { return written_; }

 private:
  LineWriter out_;
  std::string line_;  // reused: one allocation for the whole export
  long written_ = 0;
};

constexpr const char* kChatSystemPrompt =
    "You answer questions about the trajectory of an AI agent run: a numbered log of turns. "
    "Ground every answer in the turns, citing turn numbers where they matter.";

// One {"messages": [...]} line per pair for instruction tuning. The user
// message is the session's trajectory as trajc_turns returns it (turn texts
// are rendered by the extension), then the question.
class ChatSink : public PairSink {
 public:
  ChatSink(const std::string& path, TrajcDb& db) : out_(path), db_(db) {}
  void write(const PGresult* rows, int row) override {
    const std::string session = PQgetvalue(rows, row, kSessionId);
    if (session != cached_session_) load_trajectory(session);
    if (trajectory_.empty()) {
      skipped_++;  // the session is gone from the audit log: nothing to ground the pair in
      return;
    }
    line_ = "{\"messages\": [{\"role\": \"system\", \"content\": ";
    append_json_string(line_, kChatSystemPrompt);
    line_ += "}, {\"role\": \"user\", \"content\": ";
    append_json_string(line_, trajectory_ + "\n\nQuestion: " + PQgetvalue(rows, row, kQuestion));
    line_ += "}, {\"role\": \"assistant\", \"content\": ";
    append_json_string(line_, PQgetvalue(rows, row, kAnswer));
    line_ += "}]}";
    out_.line(line_);
    written_++;
  }
  void commit() override {
    out_.commit();
    if (skipped_)
      std::fprintf(stderr,
                   "trajc: %ld pairs skipped: their sessions are no longer in the audit log\n",
                   skipped_);
  }
  long written() const override { return written_; }

 private:
  void load_trajectory(const std::string& session) {
    PgResult turns = db_.exec("SELECT turn, " + iso_utc("t.at") + ", t.agent, t.content FROM " +
                                  db_.fn("trajc_turns") + "($1) t ORDER BY turn",
                              {session.c_str()});
    cached_session_ = session;
    trajectory_.clear();
    const int n = PQntuples(turns.get());
    if (n == 0) return;
    trajectory_ = "Session: " + session + " (" + std::to_string(n) + " turns)";
    for (int r = 0; r < n; r++) {
      trajectory_ += "\n\n### Turn " + std::string(PQgetvalue(turns.get(), r, 0)) + " (" +
                     PQgetvalue(turns.get(), r, 1);
      if (!PQgetisnull(turns.get(), r, 2))
        trajectory_ += std::string(", ") + PQgetvalue(turns.get(), r, 2);
      trajectory_ += ")\n";
      trajectory_ += PQgetvalue(turns.get(), r, 3);
    }
  }

  LineWriter out_;
  TrajcDb& db_;
  std::string cached_session_, trajectory_, line_;
  long written_ = 0, skipped_ = 0;
};

// ---------------------------------------------------------------- mirror

class PostgresMigrationTarget : public MigrationTarget {
 public:
  explicit PostgresMigrationTarget(Pg& db) : db_(db) {}
  std::vector<int> applied_versions() override {
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
  void run(const Migration& m) override {
    // Simple query protocol: a migration may hold several statements.
    PgResult res(PQexec(db_.raw(), m.sql.c_str()));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      if (!res) throw db_.connection_error("applying " + m.name);
      throw db_.error_from(res.get());
    }
  }
  void record(const Migration& m) override {
    const std::string v = std::to_string(m.version);
    db_.exec("INSERT INTO trajc_schema_migrations (version, name) VALUES ($1, $2)",
             {v.c_str(), m.name.c_str()});
  }
  std::string describe() const override { return "the mirror " + db_.where(); }

 private:
  Pg& db_;
};

struct MirrorCounts {
  long read = 0, written = 0, total = 0;
};

// Copies the rows with COPY TO STDOUT from the source straight into COPY
// FROM STDIN of a temporary table in the target (both in text format, so no
// value is parsed here), then inserts the ones the mirror lacks. One
// transaction on the target: an interrupted mirror adds nothing.

MirrorCounts mirror_to_postgres(TrajcDb& source, const std::string& target_dsn, const Filter& f,
                                InterruptScope& interrupt_scope) {
  MirrorCounts counts;
  Pg target(target_dsn);
  target.exec("BEGIN");
  // Two mirrors at once would race on the migrations.
  target.exec("SELECT pg_advisory_xact_lock(hashtext('trajc_mirror'))");
  PostgresMigrationTarget migrations(target);
  apply_migrations(load_migrations("postgres"), migrations);
  target.exec("CREATE TEMP TABLE trajc_incoming (LIKE qa_pairs) ON COMMIT DROP");
  target.exec("COPY trajc_incoming (" + column_list() + ") FROM STDIN");

  source.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  // Text forms both sides agree on, whatever the users' defaults.
  source.exec("SET LOCAL DateStyle = ISO");
  source.exec("SET LOCAL TimeZone = 'UTC'");
  interrupt_scope.cancel_on_signal(source.raw());
  source.exec("COPY (SELECT " + column_list("p.") + " FROM trajc.qa_pairs p" +
              where_clause(source, f) + ") TO STDOUT");
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
  counts.read = std::atol(PQcmdTuples(target.receive().get()));
  if (interrupted()) throw CliError(kExitInterrupted, "interrupted");

  PgResult inserted =
      target.exec("INSERT INTO qa_pairs (" + column_list() + ") SELECT " + column_list() +
                  " FROM trajc_incoming ON CONFLICT (id) DO NOTHING");
  counts.written = std::atol(PQcmdTuples(inserted.get()));
  counts.total = std::atol(target.scalar("SELECT count(*) FROM qa_pairs").c_str());
  target.exec("COMMIT");
  source.exec("COMMIT");
  return counts;
}

Format format_option(const ParsedArgs& a) {
  auto f = a.maybe("format");
  if (!f) {
    const std::string out = a.get("out");
    const bool jsonl =
        out == "-" || (out.size() > 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0);
    return jsonl ? Format::Jsonl : Format::Sqlite;
  }
  if (*f == "sqlite") return Format::Sqlite;
  if (*f == "jsonl") return Format::Jsonl;
  if (*f == "chat") return Format::Chat;
  throw usage_error("unknown --format \"" + *f + "\"", "use sqlite, jsonl or chat");
}

const char* default_out(Format f) {
  switch (f) {
    case Format::Sqlite:
      return "data/qa_pairs.sqlite";
    case Format::Jsonl:
      return "data/qa_pairs.jsonl";
    case Format::Chat:
      return "data/qa_chat.jsonl";
  }
  return "";
}

const char* format_name(Format f) {
  return f == Format::Sqlite ? "sqlite" : f == Format::Jsonl ? "jsonl" : "chat";
}

void print_export_summary(const GlobalOptions& g, const std::string& format, const std::string& out,
                          long read, long written, long total) {
  // Data may be on stdout: the summary then goes to stderr.
  std::FILE* to = out == "-" ? stderr : stdout;
  if (g.json) {
    std::string s = "{\"format\": ";
    append_json_string(s, format);
    s += ", \"out\": ";
    append_json_string(s, out);
    s += ", \"pairs_read\": " + std::to_string(read) +
         ", \"pairs_written\": " + std::to_string(written) +
         ", \"total\": " + std::to_string(total) + "}\n";
    std::fputs(s.c_str(), to);
  } else if (format == "sqlite" || format == "postgres") {
    std::fprintf(to, "exported %ld new pairs to %s (%ld read, %ld already there; %ld in total)\n",
                 written, out.c_str(), read, read - written, total);
  } else {
    std::fprintf(to, "wrote %ld pairs to %s (%s)\n", written, out == "-" ? "stdout" : out.c_str(),
                 format.c_str());
  }
}

}  // namespace

int run_export(const GlobalOptions& g, const ParsedArgs& a) {
  Filter filter;
  filter.qa_type = qa_type_option(a);
  filter.since = a.maybe("since");
  filter.sessions = a.all("session");
  const auto mirror_dsn = a.maybe("to-postgres");
  if (mirror_dsn && (a.has("out") || a.has("format")))
    throw usage_error("--to-postgres writes to a database: drop --out/--format");
  const Format format = format_option(a);
  const std::string out = a.get("out", default_out(format));
  if (format == Format::Sqlite && out == "-")
    throw usage_error("an SQLite file cannot be written to stdout",
                      "use --format jsonl with --out -");
  if (!mirror_dsn && out != "-") prepare_output_path(out);

  TrajcDb db(g.dsn);
  InterruptScope interrupt_scope;
  const std::string left_as_it_was = mirror_dsn   ? "the mirror left as it was"
                                     : out == "-" ? "the output on stdout is incomplete"
                                                  : out + " left as it was";
  try {
    if (mirror_dsn) {
      MirrorCounts n = mirror_to_postgres(db, *mirror_dsn, filter, interrupt_scope);
      print_export_summary(g, "postgres", "qa_pairs of the mirror", n.read, n.written, n.total);
      return kExitOk;
    }
    std::unique_ptr<PairSink> sink;
    switch (format) {
      case Format::Sqlite:
        sink = std::make_unique<SqliteSink>(out);
        break;
      case Format::Jsonl:
        sink = std::make_unique<JsonlSink>(out);
        break;
      case Format::Chat:
        sink = std::make_unique<ChatSink>(out, db);
        break;
    }
    // The order serves the writer: by id, SQLite's primary key index grows at
    // its end instead of at random places; chat groups a session's pairs so
    // its trajectory is read once; JSONL reads in time order.
    const char* order = format == Format::Sqlite ? "p.id"
                        : format == Format::Chat ? "p.session_id, p.created_at, p.id"
                                                 : "p.created_at, p.id";
    // Chat reads trajectories on the same connection: no FETCH may be in flight.
    PairCursor cursor(db, filter, order, /*prefetch=*/format != Format::Chat);
    interrupt_scope.cancel_on_signal(db.raw());
    long read = 0;
    while (!interrupted()) {
      PgResult batch = cursor.fetch();
      const int n = PQntuples(batch.get());
      if (n == 0) break;
      for (int r = 0; r < n; r++) {
        sink->write(batch.get(), r);
        if (r % 1000 == 999) cursor.keep_receiving();
      }
      read += n;
    }
    interrupt_scope.cancel_on_signal(nullptr);
    if (interrupted()) throw CliError(kExitInterrupted, "interrupted");
    sink->commit();
    cursor.close();
    print_export_summary(g, format_name(format), out, read, sink->written(), sink->total());
    return kExitOk;
  } catch (const CliError& e) {
    if (e.code() != kExitInterrupted) throw;
    throw CliError(kExitInterrupted, "export interrupted: " + left_as_it_was);
  }
}

}  // namespace trajc_cli
