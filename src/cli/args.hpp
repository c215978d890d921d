// Command-line parsing: one table of options per command, from which both the
// parser and the help text are derived (so they cannot disagree). Must never
// know what an option means: commands read their values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trajc_cli {

struct OptionSpec {
  const char* name;        // long name without "--"
  char short_name;         // 0 = none
  const char* value_name;  // nullptr = a flag without value
  const char* help;
  bool repeatable = false;
};

class ParsedArgs {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  // Last value given (or `fallback`).
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  std::optional<std::string> maybe(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  // Integer >= min, or a usage error naming the option.
  int get_int(const std::string& name, int fallback, int min) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend ParsedArgs parse_args(const std::vector<std::string>&, const std::vector<OptionSpec>&,
                               bool);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// Accepts --name value, --name=value, -x value, -xvalue and bare flags.
// With stop_at_positional, parsing stops at the first non-option (the
// subcommand), which is returned with everything after it as positional.
ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                      bool stop_at_positional = false);

// "  -d, --dsn DSN    help" lines, aligned.
std::string format_options(const std::vector<OptionSpec>& specs);

}  // namespace trajc_cli
