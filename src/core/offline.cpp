// The offline compiler: deterministic QA pairs built from the trajectory
// alone, in the JSON shape a model replies with, so they pass the same
// validation (qa.cpp).
//
// Must never: reach the network, use randomness or the clock (the same
// trajectory always gives the same pairs), or write an answer that cannot be
// checked literally against the turns it cites.
#include "trajc/offline.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "trajc/ascii.hpp"
#include "trajc/json_guard.hpp"
#include "trajc/qa.hpp"

// Questions come from the log's structure: the tool, agent and short
// categorical columns ("dimensions"), outcomes (success/status/error), tool
// arguments, and, for logs that are only free text, distinctive tokens of the
// content. Every answer quotes values and turn numbers taken from the turns it
// cites, in one of a few fixed shapes:
//   "V" at turn i, before "W" at turn j.     (value V appears at turn i)
//   "V" (turns 3 and 7); "W" (turn 5).
//   3, at turns 2, 5 and 8.                  (a count and its turns)
//   "V", 3 times (turns 2, 5 and 8).

namespace trajc {
namespace {

using nlohmann::ordered_json;

constexpr std::size_t kMaxLabelChars = 60;
constexpr std::size_t kMaxListedTurns = 8;  // longer lists make poor answers
// Arguments compared per pair of calls: each costs a search of the arguments'
// text, so many keys would make the work quadratic in the log's size.
constexpr std::size_t kMaxComparedArguments = 16;

// Every loop below is linear in the log (hash maps, no search per turn) and
// reports its work to `poll`, so a cancel acts within a fraction of a second.

// ---- text --------------------------------------------------------------------

using ascii::iequals;
using ascii::is_digit;
using ascii::lower;
using ascii::trim;

template <std::size_t N>
bool is_one_of(std::string_view s, const std::string_view (&options)[N]) {
  return std::any_of(std::begin(options), std::end(options),
                     [&](std::string_view o) { return iequals(s, o); });
}


bool is_number_text(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// Text that can be quoted in an answer as is: short, one line, and written the
// same inside a JSON string as outside it.
bool is_quotable(std::string_view s) {
  return !s.empty() && s.size() <= kMaxLabelChars && std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "5", "5 and 9", "2, 5 and 8"
std::string number_list(const std::vector<int>& numbers) {
  std::string s;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0) s += i + 1 == numbers.size() ? " and " : ", ";
    s += std::to_string(numbers[i]);
  }
  return s;
}

// "turn 5", "turns 5 and 9"
std::string turns_phrase(const std::vector<int>& turns) {
  return (turns.size() == 1 ? "turn " : "turns ") + number_list(turns);
}

std::string turn_phrase(int turn) { return "turn " + std::to_string(turn); }

// ---- what each turn says -----------------------------------------------------

constexpr std::string_view kToolNames[] = {"tool", "tool_name", "function", "function_name"};
constexpr std::string_view kSuccessNames[] = {"success", "succeeded", "ok"};
constexpr std::string_view kStatusNames[] = {"status", "outcome", "state"};
constexpr std::string_view kErrorNames[] = {"error", "error_message", "exception"};
constexpr std::string_view kArgumentNames[] = {"arguments", "args", "input",
                                               "params", "parameters", "tool_input"};

enum class Outcome { Unknown, Ok, Failed };

Outcome outcome_of(const Turn& turn) {
  bool has_error_text = false;
  for (const Field& f : turn.fields) {
    const std::string_view v = trim(f.value);
    if (is_one_of(f.name, kSuccessNames)) {
      if (is_one_of(v, {"true", "t", "1", "yes"})) return Outcome::Ok;
      if (is_one_of(v, {"false", "f", "0", "no"})) return Outcome::Failed;
    } else if (is_one_of(f.name, kStatusNames)) {
      if (is_one_of(v, {"ok", "success", "succeeded", "done", "completed"})) return Outcome::Ok;
      if (is_one_of(v, {"error", "failed", "failure", "fail", "timeout"})) return Outcome::Failed;
      if (v.size() == 3 && std::all_of(v.begin(), v.end(), is_digit)) {  // an HTTP status
        return v[0] >= '4' ? Outcome::Failed : Outcome::Ok;
      }
    } else if (is_one_of(f.name, kErrorNames) && !v.empty() && !iequals(v, "null")) {
      has_error_text = true;
    }
  }
  return has_error_text ? Outcome::Failed : Outcome::Unknown;
}

template <std::size_t N>
const Field* find_field(const Turn& turn, const std::string_view (&names)[N]) {
  for (const Field& f : turn.fields) {
    if (is_one_of(f.name, names)) return &f;
  }
  return nullptr;
}

// A short categorical value (a tool, an agent, an action) usable as a label.
std::string_view as_label(std::string_view value) {
  value = trim(value);
  return is_quotable(value) && !iequals(value, "null") ? value : std::string_view();
}

struct TurnFacts {
  int number = 0;
  std::string_view tool;  // empty: not a tool call
  Outcome outcome = Outcome::Unknown;
  std::string_view arguments;           // compact JSON of the arguments field, if any
  std::vector<std::string_view> texts;  // every field value as the prompt shows it
};

struct Analysis {
  std::deque<std::string> compacted;  // owns the compacted JSON `texts` point into
  std::vector<TurnFacts> turns;
};

Analysis analyze(const Trajectory& t, CancelPoll& poll) {
  Analysis a;
  a.turns.reserve(t.turns.size());
  for (const Turn& turn : t.turns) {
    poll.item();
    TurnFacts facts;
    facts.number = turn.number;
    facts.outcome = outcome_of(turn);
    if (const Field* tool = find_field(turn, kToolNames)) facts.tool = as_label(tool->value);
    for (const Field& f : turn.fields) {
      std::string_view text = f.value;
      poll.work(f.value.size());
      if (f.is_json) text = a.compacted.emplace_back(compact_json(f.value));
      facts.texts.push_back(text);
      if (f.is_json && facts.arguments.empty() && is_one_of(f.name, kArgumentNames)) {
        facts.arguments = text;
      }
    }
    a.turns.push_back(std::move(facts));
  }
  return a;
}

// ---- dimensions: categorical labels over time --------------------------------

enum class DimKind { Tool, Agent, Column };

struct Label {
  std::string_view text;
  std::vector<int> turns;  // ascending
};

struct Dimension {
  DimKind kind = DimKind::Tool;
  std::string column;                 // for Column dimensions
  std::vector<int> turns;             // turns carrying a label, ascending
  std::vector<std::size_t> label_of;  // parallel to turns: index into labels
  std::vector<Label> labels;          // in order of first appearance

  std::string noun() const {
    return kind == DimKind::Tool ? "tool" : kind == DimKind::Agent ? "agent" : column + " value";
  }
  std::string nouns() const { return noun() + "s"; }
  const char* happened(bool plural) const {
    return kind == DimKind::Tool    ? (plural ? "were used" : "was used")
           : kind == DimKind::Agent ? "acted"
                                    : "occurred";
  }
  std::string count_question(std::string_view label) const {
    switch (kind) {
      case DimKind::Tool:
        return "How many times was tool " + in_quotes(label) + " used, and at which turns?";
      case DimKind::Agent:
        return "How many times did agent " + in_quotes(label) + " act, and at which turns?";
      case DimKind::Column:
        break;
    }
    return "How many turns have " + column + " " + in_quotes(label) + ", and which ones?";
  }
};

// One label at one turn; a dimension's entries come in turn order.
struct Labeled {
  int turn;
  std::string_view label;  // not empty
};

Dimension make_dimension(DimKind kind, std::string column, const std::vector<Labeled>& entries,
                         CancelPoll& poll) {
  Dimension d;
  d.kind = kind;
  d.column = std::move(column);
  std::unordered_map<std::string_view, std::size_t> index;
  for (const Labeled& e : entries) {
    poll.item();
    const auto [it, added] = index.emplace(e.label, d.labels.size());
    if (added) d.labels.push_back({e.label, {}});
    d.labels[it->second].turns.push_back(e.turn);
    d.turns.push_back(e.turn);
    d.label_of.push_back(it->second);
  }
  return d;
}

// Column names match case-insensitively (as find_field does); within a turn
// the first field of a name counts.
struct ColumnStats {
  bool categorical = true;
  bool mirrors_agent = true;
  bool numeric = true;
  std::size_t last_turn = 0;  // 1 + index of the last turn that had it
};

// Columns other than the known ones that hold a few repeating short values
// (an action, a role): free-text and numeric columns are not categories.
std::vector<std::string> categorical_columns(const Trajectory& t, CancelPoll& poll) {
  std::vector<std::string> names;  // distinct, in order of first appearance
  std::unordered_set<std::string_view> named;
  std::unordered_map<std::string, ColumnStats> stats;  // by lower-case name
  for (std::size_t i = 0; i < t.turns.size(); ++i) {
    const Turn& turn = t.turns[i];
    poll.item();
    for (const Field& f : turn.fields) {
      if (named.insert(f.name).second) names.push_back(f.name);
      ColumnStats& c = stats[lower(f.name)];
      if (c.last_turn == i + 1) continue;
      c.last_turn = i + 1;
      const std::string_view label = as_label(f.value);
      c.categorical = c.categorical && !f.is_json && !label.empty();
      c.mirrors_agent = c.mirrors_agent && label == trim(turn.agent);
      c.numeric = c.numeric && is_number_text(label);
    }
  }
  std::vector<std::string> columns;
  for (const std::string& name : names) {
    if (is_one_of(name, kToolNames) || is_one_of(name, kSuccessNames) ||
        is_one_of(name, kStatusNames) || is_one_of(name, kErrorNames)) {
      continue;
    }
    const ColumnStats& c = stats.at(lower(name));
    if (c.categorical && !c.mirrors_agent && !c.numeric) columns.push_back(name);
  }
  return columns;
}

// Dimensions with at least two labels, tools first: they make the most
// specific questions, then agents, then other columns.
std::vector<Dimension> dimensions(const Trajectory& t, const Analysis& a, CancelPoll& poll) {
  std::vector<Dimension> dims;
  auto add = [&](Dimension d) {
    // A column is a category when two of its values repeat: ids never do, and
    // a constant with an exception or two says little.
    const auto repeated = std::count_if(d.labels.begin(), d.labels.end(),
                                        [](const Label& l) { return l.turns.size() >= 2; });
    if (d.labels.size() >= 2 && (d.kind != DimKind::Column || repeated >= 2)) {
      dims.push_back(std::move(d));
    }
  };
  std::vector<Labeled> tools, agents;
  for (std::size_t i = 0; i < a.turns.size(); ++i) {
    if (!a.turns[i].tool.empty()) tools.push_back({a.turns[i].number, a.turns[i].tool});
    const std::string_view agent = as_label(t.turns[i].agent);
    if (!agent.empty()) agents.push_back({a.turns[i].number, agent});
  }
  add(make_dimension(DimKind::Tool, "", tools, poll));
  add(make_dimension(DimKind::Agent, "", agents, poll));
  // Every categorical column's labels in one pass over the fields.
  const std::vector<std::string> columns = categorical_columns(t, poll);
  std::unordered_map<std::string, std::vector<std::size_t>> columns_of;  // lower-case name -> columns
  for (std::size_t c = 0; c < columns.size(); ++c) columns_of[lower(columns[c])].push_back(c);
  std::vector<std::vector<Labeled>> entries(columns.size());
  std::vector<std::size_t> last_turn(columns.size(), 0);  // 1 + index of the turn last seen
  for (std::size_t i = 0; i < t.turns.size() && !columns.empty(); ++i) {
    poll.item();
    for (const Field& f : t.turns[i].fields) {
      const auto it = columns_of.find(lower(f.name));
      if (it == columns_of.end()) continue;
      for (std::size_t c : it->second) {
        if (last_turn[c] == i + 1) continue;  // the first field of the name counts
        last_turn[c] = i + 1;
        const std::string_view label = as_label(f.value);
        if (!label.empty()) entries[c].push_back({a.turns[i].number, label});
      }
    }
  }
  for (std::size_t c = 0; c < columns.size(); ++c) {
    add(make_dimension(DimKind::Column, columns[c], entries[c], poll));
  }
  return dims;
}

// ---- candidates --------------------------------------------------------------

struct Candidate {
  const char* qa_type;
  std::string question;
  std::string answer;
  std::vector<int> turns;  // ascending, distinct
};
using Maybe = std::optional<Candidate>;

Candidate make(const char* qa_type, std::string question, std::string answer,
               std::vector<int> turns) {
  std::sort(turns.begin(), turns.end());
  turns.erase(std::unique(turns.begin(), turns.end()), turns.end());
  return {qa_type, std::move(question), std::move(answer), std::move(turns)};
}

bool spans_non_adjacent(const std::vector<int>& ascending) {
  return ascending.size() >= 2 && ascending.back() - ascending.front() >= 2;
}

// temporal: which of two labels came first (their first turns are cited).
Maybe first_appearance(const Dimension& d) {
  // First turns only grow, so a label two back is always far enough; the
  // bound keeps odd turn numbering from making this quadratic.
  constexpr std::size_t kLookBack = 8;
  for (std::size_t later = 1; later < d.labels.size(); ++later) {
    for (std::size_t earlier = later; earlier-- > 0 && later - earlier <= kLookBack;) {
      const Label& e = d.labels[earlier];
      const Label& l = d.labels[later];
      if (l.turns.front() - e.turns.front() < 2) continue;
      const auto [a, b] = std::minmax(e.text, l.text);  // the order asked gives nothing away
      return make("temporal",
                  "Which " + d.noun() + " " + d.happened(false) + " first: " + in_quotes(a) +
                      " or " + in_quotes(b) + "?",
                  in_quotes(e.text) + " at " + turn_phrase(e.turns.front()) + ", before " +
                      in_quotes(l.text) + " at " + turn_phrase(l.turns.front()) + ".",
                  {e.turns.front(), l.turns.front()});
    }
  }
  return std::nullopt;
}

// temporal: the last label seen and when it first appeared.
Maybe last_appearance(const Dimension& d) {
  const Label& last = d.labels[d.label_of.back()];
  const int first_turn = last.turns.front();
  const int last_turn = last.turns.back();
  if (last_turn - first_turn < 2) return std::nullopt;
  return make("temporal",
              "Which " + d.noun() + " " + d.happened(false) +
                  " last, and at which turn did it first appear?",
              in_quotes(last.text) + ", first at " + turn_phrase(first_turn) + " and last at " +
                  turn_phrase(last_turn) + ".",
              {first_turn, last_turn});
}

// The labels of occurrences [begin, end) in order of appearance, with their turns.
std::vector<Label> window_labels(const Dimension& d, std::size_t begin, std::size_t end) {
  std::vector<Label> labels;
  for (std::size_t k = begin; k < end; ++k) {
    const std::string_view text = d.labels[d.label_of[k]].text;
    auto it =
        std::find_if(labels.begin(), labels.end(), [&](const Label& l) { return l.text == text; });
    if (it == labels.end()) it = labels.insert(labels.end(), Label{text, {}});
    it->turns.push_back(d.turns[k]);
  }
  return labels;
}

struct Window {
  int first_turn = 0;
  int last_turn = 0;
  std::vector<Label> labels;
};

// The first window of up to `width` consecutive occurrences, trying start
// positions from `start` on (wrapping), that holds two labels, spans
// non-adjacent turns and satisfies `accept`.
template <class Accept>
std::optional<Window> find_window(const Dimension& d, std::size_t width, std::size_t start,
                                  CancelPoll& poll, Accept accept) {
  const std::size_t n = d.turns.size();
  for (std::size_t tried = 0; tried < n; ++tried) {
    poll.item();
    const std::size_t begin = (start + tried) % n;
    const std::size_t end = std::min(n, begin + width);
    Window w{d.turns[begin], d.turns[end - 1], window_labels(d, begin, end)};
    if (w.labels.size() >= 2 && w.last_turn - w.first_turn >= 2 && accept(w)) return w;
  }
  return std::nullopt;
}

std::vector<int> window_turns(const Window& w) {
  std::vector<int> turns;
  for (const Label& l : w.labels) turns.insert(turns.end(), l.turns.begin(), l.turns.end());
  return turns;
}

std::string between(const Window& w) {
  return "from " + turn_phrase(w.first_turn) + " to " + turn_phrase(w.last_turn);
}

// composition: every label of a short window, with its turns.
Maybe window_listing(const Dimension& d, CancelPoll& poll) {
  const auto w = find_window(d, 5, d.turns.size() / 3, poll, [](const Window&) { return true; });
  if (!w) return std::nullopt;
  std::string answer;
  for (const Label& l : w->labels) {
    if (!answer.empty()) answer += "; ";
    answer += in_quotes(l.text) + " (" + turns_phrase(l.turns) + ")";
  }
  return make(
      "composition",
      "Which " + d.nouns() + " " + d.happened(true) + " " + between(*w) + ", and at which turns?",
      answer + ".", window_turns(*w));
}

std::string count_answer(const std::vector<int>& turns) {
  return std::to_string(turns.size()) + ", at " + turns_phrase(turns) + ".";
}

bool is_listable(const std::vector<int>& turns) {
  return turns.size() <= kMaxListedTurns && spans_non_adjacent(turns);
}

// factoid: how often one label occurs, and where.
Maybe label_count(const Dimension& d) {
  for (const Label& l : d.labels) {
    if (is_listable(l.turns))
      return make("factoid", d.count_question(l.text), count_answer(l.turns), l.turns);
  }
  return std::nullopt;
}

// reasoning: the label that dominates a window, which needs every turn of it.
Maybe busiest_label(const Dimension& d, CancelPoll& poll) {
  auto busiest = [](const Window& w) {
    return std::max_element(w.labels.begin(), w.labels.end(), [](const Label& a, const Label& b) {
      return a.turns.size() < b.turns.size();
    });
  };
  auto unique_top = [&](const Window& w) {
    const std::size_t top = busiest(w)->turns.size();
    return top >= 2 && std::count_if(w.labels.begin(), w.labels.end(),
                                     [&](const Label& l) { return l.turns.size() == top; }) == 1;
  };
  const auto w = find_window(d, 6, d.turns.size() * 2 / 3, poll, unique_top);
  if (!w) return std::nullopt;
  const Label& top = *busiest(*w);
  return make("reasoning",
              "Which " + d.noun() + " " + d.happened(false) + " most often " + between(*w) +
                  ", and how many times?",
              in_quotes(top.text) + ", " + std::to_string(top.turns.size()) + " times (" +
                  turns_phrase(top.turns) + ").",
              window_turns(*w));
}

// ---- tool calls: failures, retries, arguments --------------------------------

struct ToolCalls {
  std::string_view tool;
  std::vector<const TurnFacts*> calls;  // in time order
};

// By tool, in order of first use.
std::vector<ToolCalls> calls_by_tool(const Analysis& a, CancelPoll& poll) {
  std::vector<ToolCalls> tools;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const TurnFacts& t : a.turns) {
    poll.item();
    if (t.tool.empty()) continue;
    const auto [it, added] = index.emplace(t.tool, tools.size());
    if (added) tools.push_back(ToolCalls{t.tool, {}});
    tools[it->second].calls.push_back(&t);
  }
  return tools;
}

std::vector<int> failed_turns(const std::vector<const TurnFacts*>& turns) {
  std::vector<int> failed;
  for (const TurnFacts* t : turns) {
    if (t->outcome == Outcome::Failed) failed.push_back(t->number);
  }
  return failed;
}

// factoid: the failures of one tool.
Maybe tool_failures(const std::vector<ToolCalls>& tools) {
  for (const ToolCalls& tc : tools) {
    const std::vector<int> failed = failed_turns(tc.calls);
    if (is_listable(failed)) {
      return make("factoid",
                  "How many times did tool " + in_quotes(tc.tool) + " fail, and at which turns?",
                  count_answer(failed), failed);
    }
  }
  return std::nullopt;
}

// factoid: every failure, when they are not all one tool's (tool_failures asks that).
Maybe all_failures(const Analysis& a) {
  std::vector<const TurnFacts*> all;
  for (const TurnFacts& t : a.turns) all.push_back(&t);
  const std::vector<int> failed = failed_turns(all);
  if (!is_listable(failed)) return std::nullopt;
  std::vector<std::string_view> tools;
  for (const TurnFacts& t : a.turns) {
    if (t.outcome == Outcome::Failed) tools.push_back(t.tool);
  }
  const bool one_tool = std::all_of(tools.begin(), tools.end(), [&](std::string_view x) {
    return x == tools.front() && !x.empty();
  });
  if (one_tool) return std::nullopt;
  const bool all_tool_calls =
      std::none_of(tools.begin(), tools.end(), [](std::string_view x) { return x.empty(); });
  return make("factoid",
              all_tool_calls ? "How many tool calls failed, and at which turns?"
                             : "How many turns failed, and which ones?",
              count_answer(failed), failed);
}

// reasoning: after a failure, how many calls it took the tool to succeed.
Maybe retry_until_success(const std::vector<ToolCalls>& tools, CancelPoll& poll) {
  for (const ToolCalls& tc : tools) {
    const auto& calls = tc.calls;
    for (std::size_t k = 0; k < calls.size(); ++k) {
      poll.item();
      if (calls[k]->outcome != Outcome::Failed) continue;
      std::size_t m = k + 1;
      while (m < calls.size() && calls[m]->outcome == Outcome::Failed) ++m;
      if (m == calls.size() || calls[m]->outcome != Outcome::Ok ||
          calls[m]->number - calls[k]->number < 2) {
        // Later failures of this run end at the same m, closer to it: none
        // can do better, and trying each would be quadratic.
        k = m - 1;
        continue;
      }
      std::vector<int> cited;
      for (std::size_t i = k; i <= m; ++i) cited.push_back(calls[i]->number);
      const std::vector<int> again(cited.begin() + 1, cited.end() - 1);
      const std::size_t retries = m - k;
      std::string answer =
          std::to_string(retries) + (retries == 1 ? " more call: it " : " more calls: it ");
      if (!again.empty()) answer += "failed again at " + turns_phrase(again) + " and ";
      answer += "succeeded at " + turn_phrase(calls[m]->number) + ".";
      return make("reasoning",
                  "Tool " + in_quotes(tc.tool) + " failed at " + turn_phrase(calls[k]->number) +
                      ". How many more calls to " + in_quotes(tc.tool) +
                      " did it take to succeed, and at which turn did it succeed?",
                  std::move(answer), std::move(cited));
    }
  }
  return std::nullopt;
}

// A top-level scalar argument as written in the compact JSON, or empty when
// it cannot be quoted literally.
std::string literal_argument(std::string_view json_text, const std::string& key,
                             const ordered_json& value) {
  std::string literal;
  if (value.is_string()) {
    literal = value.get<std::string>();
    if (!is_quotable(literal)) return {};
  } else if (value.is_number() || value.is_boolean()) {
    literal = value.dump();
  } else {
    return {};
  }
  const std::string written =
      in_quotes(key) + ":" + (value.is_string() ? in_quotes(literal) : literal);
  return json_text.find(written) == std::string_view::npos ? std::string() : literal;
}

// The arguments object, or null (not an object, not JSON, or nested too deep
// to handle without recursion limits).
ordered_json parse_object(std::string_view json_text, CancelPoll& poll) {
  ordered_json doc;
  if (read_json(json_text, doc, poll) != JsonRead::Ok || !doc.is_object()) return ordered_json();
  return doc;
}

// reasoning: what a tool's next call changed in its arguments, preferring a
// change made after a failure (a retry that fixed something).
Maybe argument_change(const std::vector<ToolCalls>& tools, CancelPoll& poll) {
  Maybe found;
  for (const ToolCalls& tc : tools) {
    for (std::size_t k = 0; k + 1 < tc.calls.size(); ++k) {
      const TurnFacts& before = *tc.calls[k];
      const TurnFacts& after = *tc.calls[k + 1];
      if (after.number - before.number < 2 || before.arguments.empty() || after.arguments.empty())
        continue;
      poll.item();
      if (found && before.outcome != Outcome::Failed) continue;
      const ordered_json old_args = parse_object(before.arguments, poll);
      const ordered_json new_args = parse_object(after.arguments, poll);
      std::size_t compared = 0;
      for (const auto& [key, old_value] : old_args.items()) {
        if (++compared > kMaxComparedArguments) break;
        poll.work(before.arguments.size() + after.arguments.size());
        const auto it = new_args.find(key);
        if (!is_quotable(key) || it == new_args.end()) continue;
        const std::string was = literal_argument(before.arguments, key, old_value);
        const std::string now = literal_argument(after.arguments, key, *it);
        if (was.empty() || now.empty() || was == now) continue;
        const bool failed = before.outcome == Outcome::Failed;
        Candidate c =
            make("reasoning",
                 "The call to tool " + in_quotes(tc.tool) + " at " + turn_phrase(before.number) +
                     (failed ? " failed with " : " had ") + in_quotes(key) + " set to " +
                     in_quotes(was) + ". What " + in_quotes(key) + " did the next call to " +
                     in_quotes(tc.tool) + " use, and at which turn?",
                 in_quotes(now) + " at " + turn_phrase(after.number) + ".",
                 {before.number, after.number});
        if (failed) return c;
        if (!found) found = std::move(c);
        break;
      }
    }
  }
  return found;
}

// ---- content: distinctive tokens of free text --------------------------------

// A lookup table: tokenizing scans every byte of the content.
constexpr std::array<bool, 256> kTokenDelimiters = [] {
  std::array<bool, 256> table{};
  for (char c : std::string_view(" \t\n\r\"'`()[]{}<>,;|*"))
    table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool is_token_delimiter(char c) { return kTokenDelimiters[static_cast<unsigned char>(c)]; }

// Identifiers, paths, URLs, numbers with units: they name one thing.
bool is_marked(std::string_view token) {
  return std::any_of(token.begin(), token.end(),
                     [](char c) { return is_digit(c) || c == '_' || c == '/' || c == '.'; });
}

// The token without trailing punctuation if a question can name it without
// ambiguity: a marked token, or else a long word; empty otherwise.
std::string_view distinctive(std::string_view token) {
  while (!token.empty() && std::string_view(".:!?-").find(token.back()) != std::string_view::npos) {
    token.remove_suffix(1);
  }
  if (token.size() < 6 || !is_quotable(token) ||
      std::none_of(token.begin(), token.end(), ascii::is_alpha)) {
    return {};
  }
  return is_marked(token) || token.size() >= 10 ? token : std::string_view();
}

class ContentIndex {
 public:
  ContentIndex(const Analysis& a, CancelPoll& poll) : a_(a), poll_(poll) {
    std::vector<std::string_view> order;  // tokens by first appearance
    for (const TurnFacts& t : a.turns) {
      for (std::string_view text : t.texts) {
        poll.work(text.size());
        std::size_t i = 0;
        while (i < text.size()) {
          while (i < text.size() && is_token_delimiter(text[i])) ++i;
          const std::size_t start = i;
          while (i < text.size() && !is_token_delimiter(text[i])) ++i;
          const std::string_view token = distinctive(text.substr(start, i - start));
          if (!token.empty()) note(token, t.number, order);
        }
      }
    }
    // Tokens in many turns (a category, a tool name) say nothing specific.
    std::copy_if(order.begin(), order.end(), std::back_inserter(rare_),
                 [&](std::string_view token) { return stats_.at(token).turns <= kMaxRareTurns; });
  }

  // factoid: the turns that mention a token found in a few non-adjacent
  // turns, marked tokens before long words.
  Maybe mentions() const {
    std::size_t checks = 0;
    for (const bool marked : {true, false}) {
      for (std::string_view token : rare_) {
        const Stat& s = stats_.at(token);
        if (is_marked(token) != marked || s.turns < 2 || s.last - s.first < 2) continue;
        if (++checks > kMaxChecks) return std::nullopt;
        // Substrings count too: the answer must list every turn that has it.
        const std::vector<int> turns = turns_containing(token, kMaxRareTurns + 1);
        if (turns.size() > kMaxRareTurns || !spans_non_adjacent(turns)) continue;
        return make("factoid", "In which turns does " + in_quotes(token) + " appear?",
                    "At " + turns_phrase(turns) + ".", turns);
      }
    }
    return std::nullopt;
  }

  // temporal: which of two rare tokens the trajectory mentions first.
  Maybe first_mention() const {
    if (rare_.empty()) return std::nullopt;
    const std::string_view early = rare_.front();
    const int early_turn = turns_containing(early, 1).front();
    std::size_t checks = 0;
    for (std::string_view token : rare_) {
      if (stats_.at(token).first - early_turn < 2) continue;
      if (++checks > kMaxChecks) break;
      const int turn = turns_containing(token, 1).front();
      if (turn - early_turn < 2) continue;
      const auto [a, b] = std::minmax(early, token);
      return make(
          "temporal",
          "Which appears first in the trajectory: " + in_quotes(a) + " or " + in_quotes(b) + "?",
          in_quotes(early) + " at " + turn_phrase(early_turn) + ", before " + in_quotes(token) +
              " at " + turn_phrase(turn) + ".",
          {early_turn, turn});
    }
    return std::nullopt;
  }

 private:
  struct Stat {
    int first = 0;
    int last = 0;
    std::size_t turns = 0;
  };

  static constexpr std::size_t kMaxRareTurns = 5;
  static constexpr std::size_t kMaxChecks = 16;  // each check scans the whole text

  void note(std::string_view token, int turn, std::vector<std::string_view>& order) {
    const auto [it, added] = stats_.try_emplace(token);
    if (added) order.push_back(token);
    Stat& s = it->second;
    if (s.turns > 0 && s.last == turn) return;
    if (s.turns == 0) s.first = turn;
    s.last = turn;
    ++s.turns;
  }

  // The first `limit` turns whose text contains `token`.
  std::vector<int> turns_containing(std::string_view token, std::size_t limit) const {
    std::vector<int> turns;
    for (const TurnFacts& t : a_.turns) {
      poll_.item();
      if (turns.size() == limit) break;
      if (std::any_of(t.texts.begin(), t.texts.end(), [&](std::string_view text) {
            return text.find(token) != std::string_view::npos;
          })) {
        turns.push_back(t.number);
      }
    }
    return turns;
  }

  const Analysis& a_;
  CancelPoll& poll_;
  std::unordered_map<std::string_view, Stat> stats_;
  std::vector<std::string_view> rare_;  // tokens in few turns, by first appearance
};

// ---- choosing the pairs ------------------------------------------------------

std::size_t type_index(const char* qa_type) {
  const auto it = std::find_if(std::begin(kQaTypes), std::end(kQaTypes),
                               [&](const char* t) { return std::string_view(t) == qa_type; });
  return static_cast<std::size_t>(it - std::begin(kQaTypes));
}

}  // namespace

std::string offline_compile(const Trajectory& t, int max_questions, CancelCheck cancel) {
  CancelPoll poll(cancel);
  const Analysis a = analyze(t, poll);
  const std::vector<Dimension> dims = dimensions(t, a, poll);
  const std::vector<ToolCalls> tools = calls_by_tool(a, poll);

  // Candidates per qa type, best first.
  std::vector<Candidate> by_type[std::size(kQaTypes)];
  auto add = [&](Maybe c) {
    if (c) by_type[type_index(c->qa_type)].push_back(std::move(*c));
  };
  add(tool_failures(tools));
  add(all_failures(a));
  add(retry_until_success(tools, poll));
  add(argument_change(tools, poll));
  for (const Dimension& d : dims) {
    add(first_appearance(d));
    add(window_listing(d, poll));
    add(label_count(d));
    add(busiest_label(d, poll));
  }
  for (const Dimension& d : dims) add(last_appearance(d));

  std::size_t total = 0;
  for (const auto& list : by_type) total += list.size();
  const bool type_missing = std::any_of(std::begin(by_type), std::end(by_type),
                                        [](const auto& list) { return list.empty(); });
  if (type_missing || total < static_cast<std::size_t>(std::max(max_questions, 0))) {
    // Structure alone falls short (a free-text log): use the content too.
    const ContentIndex content(a, poll);
    add(content.mentions());
    add(content.first_mention());
  }

  // Round robin over the types, so a few questions still cover all four.
  ordered_json pairs = ordered_json::array();
  for (std::size_t round = 0; static_cast<int>(pairs.size()) < max_questions; ++round) {
    bool any = false;
    for (const auto& list : by_type) {
      if (round >= list.size() || static_cast<int>(pairs.size()) >= max_questions) continue;
      const Candidate& c = list[round];
      pairs.push_back({{"question", c.question},
                       {"answer", c.answer},
                       {"supporting_turns", c.turns},
                       {"qa_type", c.qa_type}});
      any = true;
    }
    if (!any) break;
  }
  // Replacing bytes that are not UTF-8 (a non-UTF-8 database) beats throwing.
  return ordered_json{{"pairs", pairs}}.dump(-1, ' ', false,
                                             ordered_json::error_handler_t::replace);
}

}  // namespace trajc
