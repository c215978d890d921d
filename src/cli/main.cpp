// trajc: the command-line companion of the trajc extension.
//
// Parses `trajc [global options] <command> [options]`, runs the command and
// turns every error into one message on stderr and a documented exit code.
// Must never reach into the server's internals: commands call the
// extension's SQL functions, and only main() prints an error.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "client_compile.hpp"
#include "client_source.hpp"
#include "commands.hpp"
#include "errors.hpp"
#include "output.hpp"
#include "trajc/qa.hpp"

namespace trajc_cli {

namespace {

const std::vector<OptionSpec> kGlobalOptions = {
    {"dsn", 'd', "DSN", "database to use (else DATABASE_URL, else PGHOST/PGPORT/PGDATABASE...)"},
    {"json", 0, nullptr, "print JSON for scripts instead of tables"},
    {"help", 'h', nullptr, "show help"},
};

const char* const kExitCodesHelp =
    "Exit codes: 0 success; 1 some sessions failed or the server refused a request;\n"
    "2 usage error, database unreachable, extension or audit table missing, output not\n"
    "writable; 130 interrupted (Ctrl-C): finished work is kept.\n";

std::vector<OptionSpec> all_options(const Command& c) {
  std::vector<OptionSpec> out = c.options;
  out.insert(out.end(), c.more_options.begin(), c.more_options.end());
  return out;
}

std::string command_help(const Command& c) {
  std::string out =
      std::string("usage: trajc ") + c.name + " " + c.usage + "\n\n" + c.summary + "\n";
  if (*c.details) out += std::string("\n") + c.details + "\n";
  if (!all_options(c).empty()) out += "\nOptions:\n" + format_options(all_options(c));
  out += "\nGlobal options:\n" + format_options(kGlobalOptions);
  return out;
}

std::string general_help() {
  std::string out =
      "usage: trajc [-d DSN] [--json] <command> [options]\n\n"
      "Companion tool of the trajc Postgres extension: find agent trajectories in an\n"
      "audit log, compile them into grounded QA pairs, and export the dataset.\n\n"
      "Commands:\n";
  for (const auto& c : all_commands()) {
    std::string name = c.name;
    out += "  " + name + std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') + c.summary + "\n";
  }
  out += "  help            show this help, or `trajc help <command>`\n\n";
  out += "Global options (before or after the command):\n" + format_options(kGlobalOptions);
  out += std::string("\n") + kExitCodesHelp;
  return out;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : all_commands())
    if (name == c.name) return &c;
  return nullptr;
}

// How many positional arguments a command takes: the words of its
// positional's name ("ACTION": 1, "A [B]": 2), so help and parser agree.
std::size_t positional_count(const Command& c) {
  std::size_t n = 0;
  bool in_word = false;
  for (const char* p = c.positional; p != nullptr && *p != '\0'; ++p) {
    const bool space = *p == ' ';
    if (!space && !in_word) n++;
    in_word = !space;
  }
  return n;
}

// The command named by the first one or two words of `words` ("eval run"
// before "eval"); sets `used` to the number of words it took.
const Command* find_command(const std::vector<std::string>& words, std::size_t& used) {
  used = 2;
  if (words.size() > 1)
    if (const Command* c = find_command(words[0] + " " + words[1])) return c;
  used = 1;
  return words.empty() ? nullptr : find_command(words[0]);
}

int print_help(const std::vector<std::string>& topic) {
  if (topic.empty()) {
    std::fputs(general_help().c_str(), stdout);
    return kExitOk;
  }
  std::size_t used = 0;
  const Command* c = find_command(topic, used);
  if (!c) throw usage_error("no command \"" + topic[0] + "\"", "see `trajc help`");
  std::fputs(command_help(*c).c_str(), stdout);
  return kExitOk;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ParsedArgs globals = parse_args(args, kGlobalOptions, /*stop_at_positional=*/true);
  std::vector<std::string> rest = globals.positional();
  if (rest.empty() || rest[0] == "help")
    return print_help(rest.empty() ? rest : std::vector<std::string>(rest.begin() + 1, rest.end()));

  std::size_t used = 0;
  const Command* command = find_command(rest, used);
  if (!command) throw usage_error("unknown command \"" + rest[0] + "\"", "see `trajc help`");
  std::vector<OptionSpec> specs = all_options(*command);
  specs.insert(specs.end(), kGlobalOptions.begin(), kGlobalOptions.end());
  ParsedArgs local = parse_args(std::vector<std::string>(rest.begin() + used, rest.end()), specs);
  if (globals.has("help") || local.has("help")) return print_help({command->name});
  const std::size_t takes = positional_count(*command);
  if (local.positional().size() > takes)
    throw usage_error("unexpected argument \"" + local.positional()[takes] + "\"",
                      std::string("see `trajc help ") + command->name + "`");
  if (globals.has("dsn") && local.has("dsn")) throw usage_error("--dsn given more than once");

  GlobalOptions g;
  g.dsn = local.get("dsn", globals.get("dsn"));
  g.json = globals.has("json") || local.has("json");
  return command->run(g, local);
}

std::vector<Command> with_evaluation_commands(std::vector<Command> commands) {
  const auto& more = evaluation_commands();
  commands.insert(commands.end(), more.begin(), more.end());
  return commands;
}

}  // namespace

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = with_evaluation_commands({
      {"extract",
       "list sessions of the audit log long enough to compile",
       "[options]",
       "Calls trajc_extract(min_turns, limit, since). The audit log is the table named by the\n"
       "trajc.source setting (default audit_log).",
       {{"min-turns", 0, "N", "sessions with at least N turns (default 10)"},
        {"limit", 0, "N", "at most N sessions, 0 = all (default 20)"},
        {"since", 0, "TIME", "only sessions active since TIME (e.g. 2025-01-31)"}},
       run_extract, nullptr, source_options()},
      {"compile",
       "compile sessions into QA pairs, one session per transaction",
       "[options]",
       "Lists the sessions to compile, then calls trajc_compile(session, tier, force) for each\n"
       "in its own transaction, showing progress. Without the extension (or with --engine\n"
       "client) the tool compiles itself: same prompt, validation, costs, tables, hash-skip\n"
       "and claims; the key comes from GEMINI_API_KEY / OPENAI_API_KEY / ANTHROPIC_API_KEY\n"
       "or --key-file, never from the command line. Sessions unchanged since their last\n"
       "successful compile are skipped unless --force. Ctrl-C cancels the session in flight, keeps every\n"
       "finished one and prints the summary. --background hands the same listing to a job on\n"
       "the server (trajc_start(min_turns, limit, tier), committing per session) and returns.",
       {{"min-turns", 0, "N", "sessions with at least N turns (default 10)"},
        {"limit", 0, "N", "at most N sessions, 0 = all (default 25)"},
        {"tier", 0, "TIER", "cheap, standard or premium (default: trajc.tier)"},
        {"session", 0, "ID", "compile this session (ignores --min-turns/--limit)", true},
        {"provider", 0, "NAME", "gemini, openai, anthropic or offline (SET trajc.provider)"},
        {"force", 0, nullptr, "compile again sessions that were already compiled"},
        {"background", 0, nullptr,
         "start a background job on the server instead (trajc_start) and print its id"}},
       run_compile, nullptr, client_compile_options()},
      {"jobs",
       "list background jobs (trajc compile --background, trajc_start)",
       "[options]",
       "Lists trajc.jobs, newest first: the jobs of the roles you are a member of. With --watch,\n"
       "redraws them until none is queued or running, with a progress bar per running job\n"
       "(one line per change when not on a terminal), then prints the table. Stop a job with\n"
       "SELECT trajc_cancel(id).",
       {{"limit", 0, "N", "at most N jobs (default 20)"},
        {"watch", 'w', nullptr, "refresh until no job is queued or running"},
        {"interval", 0, "SECONDS", "time between refreshes with --watch (default 1)"}},
       run_jobs},
      {"init",
       "create the trajc schema and tables where the extension cannot be installed",
       "",
       "For hosted Postgres (Supabase, RDS, Cloud SQL, Neon), where only allow-listed extensions\n"
       "exist: creates the schema trajc with the extension's own tables (the same definition),\n"
       "so that compile (client engine), stats, sample and export work. Needs CREATE on the\n"
       "database; does nothing where the extension or the tables exist.",
       {},
       run_init},
      {"stats", "pairs, sessions and cost by qa_type", "", "Calls trajc_stats().", {}, run_stats},
      {"sample",
       "show random pairs",
       "[options]",
       "Calls trajc_sample(limit, qa_type).",
       {{"limit", 0, "N", "how many pairs (default 5)"},
        {"qa-type", 0, "TYPE", "factoid, reasoning, composition or temporal"}},
       run_sample},
      {"export",
       "export the pairs to SQLite, JSONL or another Postgres",
       "[options]",
       "sqlite (default): appends the pairs the file does not have yet (INSERT OR IGNORE on\n"
       "id) in one transaction, after applying the file's numbered schema migrations; an\n"
       "interrupted export leaves the file as it was.\n"
       "jsonl: one JSON object per pair. chat: one {\"messages\": [system, user, assistant]}\n"
       "line per pair, the user turn being the session's trajectory (from trajc_turns) and\n"
       "the question. Both rewrite --out whole (atomically), or stream to stdout with --out -.\n"
       "--to-postgres DSN: mirrors into the table qa_pairs of another database, created by\n"
       "the migrations if missing; pairs already there are left alone.",
       {{"out", 'o', "PATH",
         "output file (default data/qa_pairs.sqlite, data/qa_pairs.jsonl, data/qa_chat.jsonl)"},
        {"format", 'f', "FORMAT", "sqlite, jsonl or chat (default: sqlite, or jsonl for *.jsonl)"},
        {"to-postgres", 0, "DSN", "mirror into qa_pairs in this database instead of a file"},
        {"qa-type", 0, "TYPE", "only pairs of this type"},
        {"since", 0, "TIME", "only pairs created at or after TIME"},
        {"session", 0, "ID", "only pairs of this session", true},
        {"dedup", 0, nullptr, "leave out pairs that repeat another session's (duplicate_of)"}},
       run_export},
      {"batch",
       "provider batch mode: submit, collect or list jobs at the batch price",
       "submit|collect|list [options]",
       "submit: CALL trajc_batch_submit(min_turns, limit, tier) sends the pending sessions as\n"
       "provider batch jobs (half price, results within hours) and lists the jobs it made;\n"
       "exit 1 when a vendor refused one (its sessions are sent again next time).\n"
       "collect: CALL trajc_batch_collect() polls the open jobs, stores the results of the\n"
       "finished ones, and lists those jobs. list: the jobs in trajc.batches, newest first.",
       {{"min-turns", 0, "N", "submit: sessions with at least N turns (default 10)"},
        {"limit", 0, "N", "submit: at most N sessions (default 500); list: N jobs (default 20); 0 = all"},
        {"tier", 0, "TIER", "submit: cheap, standard or premium (default: trajc.tier)"},
        {"provider", 0, "NAME", "submit: gemini, openai or anthropic (SET trajc.provider)"},
        {"open", 0, nullptr, "list: only jobs not yet collected"}},
       run_batch, "ACTION"},
  });
  return commands;
}

std::optional<std::string> qa_type_option(const ParsedArgs& a) {
  auto t = a.maybe("qa-type");
  if (t && !trajc::is_qa_type(*t)) {
    std::string valid;
    for (const char* name : trajc::kQaTypes)
      valid += (valid.empty() ? "" : ", ") + std::string(name);
    throw usage_error("unknown qa_type \"" + *t + "\"", "use one of: " + valid);
  }
  return t;
}

}  // namespace trajc_cli

int main(int argc, char** argv) {
  using namespace trajc_cli;
  try {
    return run(argc, argv);
  } catch (const CliError& e) {
    // Messages quote session ids, paths and server text: escaped.
    std::fprintf(stderr, "trajc: %s\n", printable(e.what(), true).c_str());
    if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", printable(e.hint(), true).c_str());
    return e.code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "trajc: out of memory\n");
    return kExitFailed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trajc: %s\n", printable(e.what(), true).c_str());
    return kExitFailed;
  }
}
