// The subcommands. Each is a thin client of the extension's SQL functions:
// the tool must never re-implement what the database does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "args.hpp"

namespace trajc_cli {

// Options every subcommand accepts.
struct GlobalOptions {
  std::string dsn;    // --dsn / -d; empty = DATABASE_URL, else PG* variables
  bool json = false;  // --json: machine-readable output on stdout
};

using CommandFn = int (*)(const GlobalOptions&, const ParsedArgs&);

struct Command {
  const char* name;
  const char* summary;  // one line for `trajc help`
  const char* usage;    // argument synopsis
  const char* details;  // paragraph for `trajc help <command>`, may be empty
  std::vector<OptionSpec> options;
  CommandFn run;
  // Names the positional arguments the command takes, one word each (e.g.
  // "ACTION", "A [B]"), or nullptr: commands take none.
  const char* positional = nullptr;
  std::vector<OptionSpec> more_options = {};  // appended to options (shared lists)
};

const std::vector<Command>& all_commands();
// report, recall report, eval run, eval report (evaluation_commands.cpp).
const std::vector<Command>& evaluation_commands();

int run_extract(const GlobalOptions& g, const ParsedArgs& a);
int run_stats(const GlobalOptions& g, const ParsedArgs& a);
int run_sample(const GlobalOptions& g, const ParsedArgs& a);
int run_compile(const GlobalOptions& g, const ParsedArgs& a);
int run_export(const GlobalOptions& g, const ParsedArgs& a);
int run_init(const GlobalOptions& g, const ParsedArgs& a);
int run_report(const GlobalOptions& g, const ParsedArgs& a);
int run_recall_report(const GlobalOptions& g, const ParsedArgs& a);
int run_eval_run(const GlobalOptions& g, const ParsedArgs& a);
int run_eval_report(const GlobalOptions& g, const ParsedArgs& a);
int run_batch(const GlobalOptions& g, const ParsedArgs& a);
int run_jobs(const GlobalOptions& g, const ParsedArgs& a);
// compile --background: trajc_start() with compile's options; prints the job id.
int start_background_job(const GlobalOptions& g, const ParsedArgs& a);

// The --qa-type value if given, checked against the core's list of types
// (an unknown type is a usage error listing the valid ones).
std::optional<std::string> qa_type_option(const ParsedArgs& a);

}  // namespace trajc_cli
