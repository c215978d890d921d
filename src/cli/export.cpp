// export: the command. Reads its options, then runs the pair cursor into a
// sink (SQLite, JSONL, chat) or mirrors into another Postgres, and prints the
// summary. Must never know how a format is written (that is the sinks') nor
// leave an output changed by a run that did not finish.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "mirror.hpp"
#include "out_file.hpp"
#include "output.hpp"
#include "pair_cursor.hpp"
#include "pg.hpp"
#include "signals.hpp"
#include "sinks.hpp"

namespace trajc_cli {

namespace {

enum class Format { Sqlite, Jsonl, Chat };

struct FormatSpec {
  Format format;
  const char* name;         // --format value and summary label
  const char* default_out;  // --out when not given
};

constexpr FormatSpec kFormats[] = {
    {Format::Sqlite, "sqlite", "data/qa_pairs.sqlite"},
    {Format::Jsonl, "jsonl", "data/qa_pairs.jsonl"},
    {Format::Chat, "chat", "data/qa_chat.jsonl"},
};

const FormatSpec& spec_of(Format f) {
  for (const auto& s : kFormats)
    if (s.format == f) return s;
  return kFormats[0];
}

// --format, or from --out: "-" and *.jsonl mean JSONL, anything else SQLite.
Format format_option(const ParsedArgs& a) {
  const auto f = a.maybe("format");
  if (!f) {
    const std::string out = a.get("out");
    const bool jsonl =
        out == "-" || (out.size() > 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0);
    return jsonl ? Format::Jsonl : Format::Sqlite;
  }
  for (const auto& s : kFormats)
    if (*f == s.name) return s.format;
  throw usage_error("unknown --format \"" + *f + "\"", "use sqlite, jsonl or chat");
}

struct ExportRequest {
  PairFilter filter;
  std::optional<std::string> mirror_dsn;  // --to-postgres
  Format format = Format::Sqlite;
  std::string out;
};

// Every option checked, and the output path prepared, before connecting.
ExportRequest export_request(const ParsedArgs& a) {
  ExportRequest r;
  r.filter.qa_type = qa_type_option(a);
  r.filter.since = a.maybe("since");
  r.filter.sessions = a.all("session");
  r.filter.dedup = a.has("dedup");
  r.mirror_dsn = a.maybe("to-postgres");
  if (r.mirror_dsn && (a.has("out") || a.has("format")))
    throw usage_error("--to-postgres writes to a database: drop --out/--format");
  r.format = format_option(a);
  r.out = a.get("out", spec_of(r.format).default_out);
  if (r.format == Format::Sqlite && r.out == "-")
    throw usage_error("an SQLite file cannot be written to stdout",
                      "use --format jsonl with --out -");
  if (!r.mirror_dsn && r.out != "-") prepare_output_path(r.out);
  return r;
}

std::unique_ptr<PairSink> make_sink(const ExportRequest& r, TrajcDb& db) {
  switch (r.format) {
    case Format::Sqlite:
      return sqlite_sink(r.out);
    case Format::Jsonl:
      return jsonl_sink(r.out);
    case Format::Chat:
      return chat_sink(r.out, db);
  }
  return nullptr;
}

// Every selected pair from the cursor into the sink, then commits both;
// returns how many were read. A signal stops it before the commit.
long copy_pairs(TrajcDb& db, const PairFilter& f, PairSink& sink,
                InterruptScope& interrupt_scope) {
  PairCursor cursor(db, f, sink.order_by(), /*prefetch=*/!sink.reads_database());
  interrupt_scope.cancel_on_signal(db.raw());
  long read = 0;
  while (!interrupted()) {
    PgResult batch = cursor.fetch();
    const int n = PQntuples(batch.get());
    if (n == 0) break;
    for (int r = 0; r < n; r++) {
      sink.write(batch.get(), r);
      if (r % 1000 == 999) cursor.keep_receiving();
    }
    read += n;
  }
  interrupt_scope.cancel_on_signal(nullptr);
  if (interrupted()) throw CliError(kExitInterrupted, "interrupted");
  sink.commit();
  cursor.close();
  return read;
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
                 written, printable(out).c_str(), read, read - written, total);
  } else {
    std::fprintf(to, "wrote %ld pairs to %s (%s)\n", written,
                 out == "-" ? "stdout" : printable(out).c_str(), format.c_str());
  }
}

std::string left_as_it_was(const ExportRequest& r) {
  if (r.mirror_dsn) return "the mirror left as it was";
  if (r.out == "-") return "the output on stdout is incomplete";
  return r.out + " left as it was";
}

}  // namespace

int run_export(const GlobalOptions& g, const ParsedArgs& a) {
  const ExportRequest request = export_request(a);
  TrajcDb db(g.dsn);
  InterruptScope interrupt_scope;
  try {
    if (request.mirror_dsn) {
      const MirrorCounts n =
          mirror_to_postgres(db, *request.mirror_dsn, request.filter, interrupt_scope);
      print_export_summary(g, "postgres", "qa_pairs of the mirror", n.read, n.written, n.total);
      return kExitOk;
    }
    const std::unique_ptr<PairSink> sink = make_sink(request, db);
    const long read = copy_pairs(db, request.filter, *sink, interrupt_scope);
    print_export_summary(g, spec_of(request.format).name, request.out, read, sink->written(),
                         sink->total());
    return kExitOk;
  } catch (const CliError& e) {
    if (e.code() != kExitInterrupted) throw;
    throw CliError(kExitInterrupted, "export interrupted: " + left_as_it_was(request));
  }
}

}  // namespace trajc_cli
