// The option parser (see args.hpp). Must never exit or print: a bad
// argument is a usage_error for main() to report.
#include "args.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "errors.hpp"

namespace trajc_cli {

std::string ParsedArgs::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::optional<std::string> ParsedArgs::maybe(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int ParsedArgs::get_int(const std::string& name, int fallback, int min) const {
  auto text = maybe(name);
  if (!text) return fallback;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno != 0 || v < min || v > INT_MAX)
    throw usage_error("--" + name + " needs an integer >= " + std::to_string(min) + ", got \"" +
                      *text + "\"");
  return static_cast<int>(v);
}

namespace {

const OptionSpec* find_long(const std::vector<OptionSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (name == s.name) return &s;
  return nullptr;
}

const OptionSpec* find_short(const std::vector<OptionSpec>& specs, char c) {
  for (const auto& s : specs)
    if (s.short_name != 0 && s.short_name == c) return &s;
  return nullptr;
}

}  // namespace

ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                      bool stop_at_positional) {
  ParsedArgs out;
  for (std::size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional_.insert(out.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      if (stop_at_positional) {
        out.positional_.assign(args.begin() + i, args.end());
        break;
      }
      out.positional_.push_back(arg);
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      spec = find_long(specs, name);
      if (!spec) throw usage_error("unknown option --" + name, "see `trajc help`");
    } else {
      spec = find_short(specs, arg[1]);
      if (!spec) throw usage_error(std::string("unknown option -") + arg[1], "see `trajc help`");
      if (arg.size() > 2) inline_value = arg.substr(2);
    }
    auto& slot = out.values_[spec->name];
    if (!slot.empty() && !spec->repeatable && spec->value_name)
      throw usage_error(std::string("--") + spec->name + " given more than once");
    if (!spec->value_name) {
      if (inline_value) throw usage_error(std::string("--") + spec->name + " takes no value");
      slot.push_back("1");
    } else if (inline_value) {
      slot.push_back(*inline_value);
    } else if (i + 1 < args.size()) {
      slot.push_back(args[++i]);
    } else {
      throw usage_error(std::string("--") + spec->name + " needs a value (" + spec->value_name +
                        ")");
    }
  }
  return out;
}

std::string format_options(const std::vector<OptionSpec>& specs) {
  std::vector<std::string> left;
  std::size_t width = 0;
  for (const auto& s : specs) {
    std::string l = s.short_name ? std::string("-") + s.short_name + ", " : "    ";
    l += std::string("--") + s.name;
    if (s.value_name) l += std::string(" ") + s.value_name;
    width = std::max(width, l.size());
    left.push_back(std::move(l));
  }
  std::string out;
  for (std::size_t i = 0; i < specs.size(); i++) {
    out += "  " + left[i] + std::string(width - left[i].size() + 2, ' ') + specs[i].help;
    if (specs[i].repeatable) out += " (repeatable)";
    out += '\n';
  }
  return out;
}

}  // namespace trajc_cli
