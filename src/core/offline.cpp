// The offline compiler: deterministic QA pairs built from the trajectory
// alone, in the JSON shape a model replies with, so they pass the same
// validation (qa.cpp).
//
// Must never: reach the network, use randomness or the clock (the same
// trajectory always gives the same pairs: wordings vary only with a hash of
// the session id), grow faster than linearly in the log, or write an answer
// that cannot be checked literally against the turns it cites (verify.cpp).
#include "trajc/offline.hpp"
#include "trajc/text_fold.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
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
// arguments, the request and the last turn, handoffs, numeric keys (cost,
// duration) and timestamps, and distinctive tokens of the content (values a
// turn gives and a later one reuses). Every answer quotes values and turn
// numbers taken from the turns it cites, or numbers the verifier derives from
// them (a count, a key's sum, the time between two cited turns), in shapes like:
//   "V" at turn i, before "W" at turn j.     (value V appears at turn i)
//   "V" (turns 3 and 7); "W" (turn 5).
//   3, at turns 2, 5 and 8.                  (a count and its turns)
//   "V", 3 times (turns 2, 5 and 8).
//   "A", at turn 48.  /  At turn 40, by "A".  /  0.0123 in all, over turns 3 and 9.
//   5.5 minutes, from turn 1 to turn 48.
// Questions have several wordings each (picked per session, see Variety), so
// a data set made of many sessions does not teach one template.

namespace trajc {
namespace {

using nlohmann::ordered_json;

constexpr std::size_t kMaxLabelChars = 60;
constexpr std::size_t kMaxListedTurns = 8;  // longer lists make poor answers
// From this many turns on a run is long: its pairs should span it (issue 17).
constexpr std::size_t kLongRun = 40;
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

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): the reply's JSON replaces anything else, and an answer quoting
// the replacement would no longer match its turn.
bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // cut short
    if (b(i + 1) < lo || b(i + 1) > hi) return false;
    for (std::size_t k = 2; k <= n; ++k) {
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) return false;
    }
    i += n + 1;
  }
  return true;
}

// Text that can be quoted in an answer as is: short, one line, valid UTF-8,
// written the same inside a JSON string as outside it, and holding no
// character the literal verifier reads as a double quote once folded (a
// typographic one such as U+201F would end the quoted value early there).
bool is_quotable(std::string_view s) {
  if (s.empty() || s.size() > kMaxLabelChars) return false;
  if (std::any_of(s.begin(), s.end(), [](char c) {
        return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
      }))
    return false;
  if (!is_utf8(s)) return false;
  std::string folded;
  append_folded(folded, s, false);
  return folded.find('"') == std::string::npos;
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

// ---- variety: the same session always gets the same wording ------------------

// Which of a generator's wordings (and which of its subjects) a session gets,
// from a hash of the session id: questions vary across sessions, so a data
// set does not teach one template, yet a compile stays reproducible. FNV-1a
// and splitmix64, never std::hash (it may differ between builds).
class Variety {
 public:
  explicit Variety(std::string_view session_id) {
    for (unsigned char c : session_id) seed_ = (seed_ ^ c) * 1099511628211ULL;
  }
  // One of n choices (0 when n is 0) for the generator or site `salt`.
  std::size_t pick(std::uint64_t salt, std::size_t n) const {
    return n == 0 ? 0 : static_cast<std::size_t>(mix(seed_ ^ mix(salt + 1)) % n);
  }

 private:
  static std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  std::uint64_t seed_ = 14695981039346656037ULL;
};

// Salts: one per generator, so two generators of one session vary independently.
enum Salt : std::uint64_t {
  kFirstAppearance = 1, kLastAppearance, kWindowListing, kLabelCount, kBusiest, kToolFailures,
  kAllFailures, kRetry, kArgumentChange, kMentions, kFirstMention, kRequestOutcome,
  kHandoffTarget, kHandoffCount, kHandoffChain, kValueReuse, kKeySum, kElapsed, kRoster,
  kArgumentValues, kOrder
};

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
  std::string_view agent;  // quotable, or empty
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
    facts.agent = as_label(turn.agent);
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

  // Varies a session's choices between its dimensions: two dimensions over
  // the same turns would otherwise be asked about the same window.
  std::uint64_t salt() const {
    std::uint64_t h = 1000 + static_cast<std::uint64_t>(kind) * 7919;
    for (unsigned char c : column) h = h * 131 + c;
    return h * 1000;
  }

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
Maybe first_appearance(const Dimension& d, const Variety& v) {
  // First turns only grow, so a label two back is always far enough; the
  // bound keeps odd turn numbering from making this quadratic.
  constexpr std::size_t kLookBack = 8;
  for (std::size_t later = 1; later < d.labels.size(); ++later) {
    for (std::size_t earlier = later; earlier-- > 0 && later - earlier <= kLookBack;) {
      const Label& e = d.labels[earlier];
      const Label& l = d.labels[later];
      if (l.turns.front() - e.turns.front() < 2) continue;
      const auto [a, b] = std::minmax(e.text, l.text);  // the order asked gives nothing away
      const std::string pair = in_quotes(a) + " or " + in_quotes(b);
      const std::string questions[] = {
          "Which " + d.noun() + " " + d.happened(false) + " first: " + pair + "?",
          "Did " + pair + " come first in the run, and at which turns did each first appear?",
          "Of the " + d.nouns() + " " + in_quotes(a) + " and " + in_quotes(b) +
              ", which one shows up earlier, and when?"};
      return make("temporal", questions[v.pick(kFirstAppearance, std::size(questions))],
                  in_quotes(e.text) + " at " + turn_phrase(e.turns.front()) + ", before " +
                      in_quotes(l.text) + " at " + turn_phrase(l.turns.front()) + ".",
                  {e.turns.front(), l.turns.front()});
    }
  }
  return std::nullopt;
}

// temporal: the last label seen and when it first appeared.
Maybe last_appearance(const Dimension& d, const Variety& v) {
  const Label& last = d.labels[d.label_of.back()];
  const int first_turn = last.turns.front();
  const int last_turn = last.turns.back();
  if (last_turn - first_turn < 2) return std::nullopt;
  const std::string questions[] = {
      "Which " + d.noun() + " " + d.happened(false) + " last, at " + turn_phrase(last_turn) +
          ", and at which turn did it first appear?",
      "The last " + d.noun() + " of the run appears at " + turn_phrase(last_turn) +
          ". Which one is it, and when was it first seen?"};
  return make("temporal", questions[v.pick(kLastAppearance, std::size(questions))],
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
Maybe window_listing(const Dimension& d, CancelPoll& poll, const Variety& v) {
  // Where the window starts varies per session: runs of one length would
  // otherwise all be asked about the same turns.
  const std::size_t start = v.pick(kWindowListing + 200 + d.salt(), d.turns.size());
  const auto w = find_window(d, 5, start, poll, [](const Window&) { return true; });
  if (!w) return std::nullopt;
  std::string answer;
  for (const Label& l : w->labels) {
    if (!answer.empty()) answer += "; ";
    answer += in_quotes(l.text) + " (" + turns_phrase(l.turns) + ")";
  }
  const std::string questions[] = {
      "Which " + d.nouns() + " " + d.happened(true) + " " + between(*w) + ", and at which turns?",
      "List the " + d.nouns() + " seen between " + turn_phrase(w->first_turn) + " and " +
          turn_phrase(w->last_turn) + ", each with its turns.",
      "From " + turn_phrase(w->first_turn) + " through " + turn_phrase(w->last_turn) +
          ", which " + d.nouns() + " appear, and where?"};
  return make("composition", questions[v.pick(kWindowListing, std::size(questions))],
              answer + ".", window_turns(*w));
}

std::string count_answer(const std::vector<int>& turns) {
  return std::to_string(turns.size()) + ", at " + turns_phrase(turns) + ".";
}

bool is_listable(const std::vector<int>& turns) {
  return turns.size() <= kMaxListedTurns && spans_non_adjacent(turns);
}

// factoid: how often one label occurs, and where. The label is picked per
// session, and its first turn anchors the question (sessions share labels).
Maybe label_count(const Dimension& d, const Variety& v) {
  const std::size_t n = d.labels.size();
  const std::size_t start = v.pick(kLabelCount, n);
  for (std::size_t k = 0; k < n; ++k) {
    const Label& l = d.labels[(start + k) % n];
    if (!is_listable(l.turns)) continue;
    const std::string first = turn_phrase(l.turns.front());
    const std::string questions[] = {
        "Between " + first + " and " + turn_phrase(l.turns.back()) + ", " +
            lower(d.count_question(l.text).substr(0, 1)) + d.count_question(l.text).substr(1),
        "Counting from " + first + ", where the " + d.noun() + " " + in_quotes(l.text) +
            " first appears, how many turns have it, and which?"};
    return make("factoid", questions[v.pick(kLabelCount + 100, std::size(questions))],
                count_answer(l.turns), l.turns);
  }
  return std::nullopt;
}

// reasoning: the label that dominates a window, which needs every turn of it.
Maybe busiest_label(const Dimension& d, CancelPoll& poll, const Variety& v) {
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
  const auto w = find_window(d, 6, v.pick(kBusiest + 200 + d.salt(), d.turns.size()), poll, unique_top);
  if (!w) return std::nullopt;
  const Label& top = *busiest(*w);
  const std::string questions[] = {
      "Which " + d.noun() + " " + d.happened(false) + " most often " + between(*w) +
          ", and how many times?",
      "Between " + turn_phrase(w->first_turn) + " and " + turn_phrase(w->last_turn) +
          ", which " + d.noun() + " dominates, and at which turns?"};
  return make("reasoning", questions[v.pick(kBusiest, std::size(questions))],
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
Maybe tool_failures(const std::vector<ToolCalls>& tools, const Variety& v) {
  for (const ToolCalls& tc : tools) {
    const std::vector<int> failed = failed_turns(tc.calls);
    if (is_listable(failed)) {
      const std::string questions[] = {
          "How many times did tool " + in_quotes(tc.tool) + " fail, and at which turns?",
          "Tool " + in_quotes(tc.tool) + " first failed at " + turn_phrase(failed.front()) +
              ". How many of its calls failed in all, and at which turns?"};
      return make("factoid", questions[v.pick(kToolFailures, std::size(questions))],
                  count_answer(failed), failed);
    }
  }
  return std::nullopt;
}

// factoid: every failure, when they are not all one tool's (tool_failures asks that).
Maybe all_failures(const Analysis& a, const Variety& v) {
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
  const std::string what = all_tool_calls ? "tool calls" : "turns";
  const std::string span = "the " + std::to_string(a.turns.size()) + " turns of the run";
  const std::string questions[] = {
      "How many " + what + " failed in " + span + ", and at which turns?",
      "Across " + span + ", which " + what + " failed, and how many are they?"};
  return make("factoid", questions[v.pick(kAllFailures, std::size(questions))],
              count_answer(failed), failed);
}

// reasoning: after a failure, how many calls it took the tool to succeed.
Maybe retry_until_success(const std::vector<ToolCalls>& tools, CancelPoll& poll,
                          const Variety& v) {
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
      const std::string tool = in_quotes(tc.tool);
      const std::string at = turn_phrase(calls[k]->number);
      const std::string questions[] = {
          "Tool " + tool + " failed at " + at + ". How many more calls to " + tool +
              " did it take to succeed, and at which turn did it succeed?",
          "After the failed call to " + tool + " at " + at +
              ", how did the retries go until it worked?"};
      return make("reasoning", questions[v.pick(kRetry, std::size(questions))],
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
Maybe argument_change(const std::vector<ToolCalls>& tools, CancelPoll& poll, const Variety& v) {
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
        const std::string tool = in_quotes(tc.tool);
        const std::string questions[] = {
            "The call to tool " + tool + " at " + turn_phrase(before.number) +
                (failed ? " failed with " : " had ") + in_quotes(key) + " set to " +
                in_quotes(was) + ". What " + in_quotes(key) + " did the next call to " + tool +
                " use, and at which turn?",
            "At " + turn_phrase(before.number) + " " + tool + " ran with " + in_quotes(key) +
                " = " + in_quotes(was) + (failed ? " and failed" : "") +
                ". To what was it changed in the following call, and when?"};
        Candidate c =
            make("reasoning", questions[v.pick(kArgumentChange, std::size(questions))],
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

// ---- the run as a whole: request and outcome, handoffs, sums, time ----------

constexpr std::string_view kTextNames[] = {"response", "content", "message",
                                           "text",     "prompt",  "input"};
constexpr std::string_view kActionNames[] = {"action", "event", "type"};
constexpr std::string_view kSumKeys[] = {"cost_usd", "cost", "duration_ms", "latency_ms",
                                         "tokens", "total_tokens"};

// Up to `max_words` opening words of a text's first line, quotable; empty
// when fewer than three such words start it.
std::string opening_words(std::string_view text, std::size_t max_words) {
  text = trim(text);
  text = text.substr(0, text.find('\n'));
  std::string out;
  std::size_t words = 0;
  std::size_t i = 0;
  while (i < text.size() && words < max_words) {
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    // Quotes inside the text ("the paper "X"") would end the quoted topic early.
    std::string word;
    for (char c : text.substr(start, i - start)) {
      if (c != '"' && c != '\\') word += c;
    }
    if (word.empty()) continue;
    if (!is_quotable(word) || out.size() + word.size() >= kMaxLabelChars) break;
    if (!out.empty()) out += ' ';
    out += word;
    ++words;
  }
  while (!out.empty() && std::string_view(".,:;!?-").find(out.back()) != std::string_view::npos) {
    out.pop_back();
  }
  return words >= 3 ? out : std::string();
}

// The turn that states the task: the first whose action is a request, else the first.
const Turn* request_turn(const Trajectory& t) {
  for (const Turn& turn : t.turns) {
    const Field* action = find_field(turn, kActionNames);
    if (action && iequals(trim(action->value), "request")) return &turn;
  }
  return t.turns.empty() ? nullptr : &t.turns.front();
}

// A few words naming the task: the end of its first question (tasks that
// share a preamble differ there), else its opening words.
std::string request_words(const Turn& turn) {
  const Field* field = find_field(turn, kTextNames);
  if (field == nullptr) return {};
  constexpr std::size_t kLookAhead = 4000;  // a question further in is no topic
  const std::string_view text = std::string_view(field->value).substr(0, kLookAhead);
  const std::size_t mark = text.find('?');
  if (mark != std::string_view::npos && mark > 0) {
    const std::size_t start = text.find_last_of(".!?:\n", mark - 1);
    std::string_view sentence = text.substr(start == std::string_view::npos ? 0 : start + 1,
                                            mark - (start == std::string_view::npos ? 0 : start + 1));
    // Its last words: the part that names what is asked.
    std::size_t cut = sentence.size();
    for (int words = 0; cut > 0 && words < 8; ++words) {
      const std::size_t space = sentence.find_last_of(' ', cut - 1);
      if (space == std::string_view::npos) {
        cut = 0;
        break;
      }
      cut = space;
    }
    const std::string words = opening_words(sentence.substr(cut), 8);
    if (!words.empty()) return words;
  }
  return opening_words(text, 8);
}

// reasoning: the first request against the final outcome: who closes the run.
Maybe request_outcome(const Trajectory& t, const Variety& v) {
  const Turn* request = request_turn(t);
  if (request == nullptr) return std::nullopt;
  const Turn& last = t.turns.back();
  const std::string_view closer = as_label(last.agent);
  const std::string words = request_words(*request);
  if (closer.empty() || words.empty() || last.number - request->number < 2) return std::nullopt;
  const std::string asked = in_quotes(words);
  const std::string at = turn_phrase(request->number);
  const std::string questions[] = {
      "The request at " + at + " is about " + asked +
          ". Which agent wrote the final turn of the run, and which turn is it?",
      "Who had the last word on the task " + asked + " (asked at " + at + "), and at which turn?",
      "After the request " + asked + " at " + at +
          ", which agent ended the run, and at what turn?"};
  return make("reasoning", questions[v.pick(kRequestOutcome, std::size(questions))],
              in_quotes(closer) + ", at " + turn_phrase(last.number) + ".",
              {request->number, last.number});
}

// Microseconds since 1970 of an ISO 8601 UTC time "yyyy-mm-ddThh:mm:ss[.ffffff]Z",
// or nothing (then no duration is asked). Never accepts a time the verifier
// would read otherwise: an offset, or a field out of range, gives nothing.
std::optional<std::int64_t> micros_of(std::string_view at) {
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > at.size()) return std::nullopt;
    int v = 0;
    for (std::size_t k = pos; k < pos + n; ++k) {
      if (!is_digit(at[k])) return std::nullopt;
      v = v * 10 + (at[k] - '0');
    }
    return v;
  };
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  const auto h = digits(11, 2), mi = digits(14, 2), s = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || at[4] != '-' || at[7] != '-' ||
      (at[10] != 'T' && at[10] != 't' && at[10] != ' ') || at[13] != ':' || at[16] != ':' ||
      *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 59 ||
      at.find_first_of("+-", 19) != std::string_view::npos) {
    return std::nullopt;
  }
  // Days from the civil date (H. Hinnant's algorithm).
  const int yy = *y - (*mo <= 2);
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (*mo + (*mo > 2 ? -3 : 9)) + 2) / 5 + *d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  std::int64_t micros = ((days * 24 + *h) * 60 + *mi) * 60 + *s;
  micros *= 1000000;
  if (at.size() > 19 && at[19] == '.') {
    std::int64_t frac = 0;
    std::size_t k = 20;
    for (std::size_t n = 0; n < 6; ++n, ++k) {
      frac = frac * 10 + (k < at.size() && is_digit(at[k]) ? at[k] - '0' : 0);
    }
    micros += frac;
  }
  return micros;
}

// "42 seconds" or, from two minutes on, "3.5 minutes": as the verifier rounds.
std::string duration_text(std::int64_t micros) {
  const double secs = static_cast<double>(micros) / 1e6;
  if (secs < 120) return std::to_string(std::llround(secs)) + " seconds";
  const long long tenths = std::llround(secs / 60.0 * 10.0);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " minutes";
}

// temporal: time elapsed between two turns, from their timestamps.
Maybe elapsed(const Turn& from, const Turn& to, std::string question) {
  const auto a = micros_of(from.at), b = micros_of(to.at);
  if (!a || !b || *b - *a < 1000000 || to.number - from.number < 2) return std::nullopt;
  return make("temporal", std::move(question),
              duration_text(*b - *a) + ", from " + turn_phrase(from.number) + " to " +
                  turn_phrase(to.number) + ".",
              {from.number, to.number});
}

const Turn* turn_numbered(const Trajectory& t, int number) {
  if (number >= 1 && static_cast<std::size_t>(number) <= t.turns.size() &&
      t.turns[static_cast<std::size_t>(number) - 1].number == number) {
    return &t.turns[static_cast<std::size_t>(number) - 1];
  }
  return nullptr;  // odd numbering: no duration asked
}

// temporal: how long the run took from its request to its end.
Maybe run_duration(const Trajectory& t, const std::string& topic, const Variety& v) {
  const Turn* request = request_turn(t);
  if (request == nullptr) return std::nullopt;
  const std::string from = turn_phrase(request->number);
  const std::string to = turn_phrase(t.turns.back().number);
  const std::string task = topic.empty() ? "the task" : "the task " + in_quotes(topic);
  const std::string questions[] = {
      "How much time passed between the request at " + from + " and the final " + to + "?",
      "How long did the run on " + task + " take, from " + from + " to its end at " + to + "?",
      "Once " + task + " was given at " + from + ", how long until the last turn?"};
  return elapsed(*request, t.turns.back(), questions[v.pick(kElapsed, std::size(questions))]);
}

// temporal: how long one label stayed in play, from its first to its last turn.
Maybe label_duration(const Trajectory& t, const Dimension& d, const Variety& v) {
  const std::size_t n = d.labels.size();
  const std::size_t start = v.pick(kElapsed + 100, n);
  for (std::size_t k = 0; k < n; ++k) {
    const Label& l = d.labels[(start + k) % n];
    const Turn* first = turn_numbered(t, l.turns.front());
    const Turn* last = turn_numbered(t, l.turns.back());
    if (first == nullptr || last == nullptr || last->number - first->number < 2) continue;
    const std::string questions[] = {
        "How long after its first appearance at " + turn_phrase(first->number) + " was the " +
            d.noun() + " " + in_quotes(l.text) + " seen for the last time, at " +
            turn_phrase(last->number) + "?",
        "The " + d.noun() + " " + in_quotes(l.text) + " appears first at " +
            turn_phrase(first->number) + " and last at " + turn_phrase(last->number) +
            ". How much time lies between the two?"};
    return elapsed(*first, *last, questions[v.pick(kElapsed + 200, std::size(questions))]);
  }
  return std::nullopt;
}

// composition: every label of a dimension with the turn it first appears at.
Maybe roster(const Trajectory& t, const Dimension& d, const std::string& topic,
             const Variety& v) {
  if (d.labels.size() < 2 || d.labels.size() > kMaxListedTurns) return std::nullopt;
  std::string answer;
  std::vector<int> turns;
  for (const Label& l : d.labels) {
    if (!answer.empty()) answer += "; ";
    answer += in_quotes(l.text) + " (" + turn_phrase(l.turns.front()) + ")";
    turns.push_back(l.turns.front());
  }
  if (!spans_non_adjacent(turns)) return std::nullopt;
  const std::string run = topic.empty()
                              ? "the " + std::to_string(t.turns.size()) + "-turn run"
                              : "the run on " + in_quotes(topic);
  const std::string questions[] = {
      "Which " + d.nouns() + " appear in " + run + ", and at which turn does each first appear?",
      "Name every " + d.noun() + " of " + run + " in order of first appearance, with that turn."};
  return make("composition", questions[v.pick(kRoster, std::size(questions))], answer + ".",
              std::move(turns));
}

// Fixed point (micro-units) of a plain decimal with at most 6 fraction
// digits, as the verifier reads it; nothing otherwise.
std::optional<std::int64_t> micro_units(std::string_view s) {
  s = trim(s);
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || frac.size() > 6 ||
      !std::all_of(whole.begin(), whole.end(), is_digit) ||
      !std::all_of(frac.begin(), frac.end(), is_digit)) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  for (char c : whole) v = v * 10 + (c - '0');
  for (std::size_t k = 0; k < 6; ++k) v = v * 10 + (k < frac.size() ? frac[k] - '0' : 0);
  return v;
}

std::string micro_text(std::int64_t v) {
  std::string frac = std::to_string(1000000 + v % 1000000).substr(1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::to_string(v / 1000000) + (frac.empty() ? "" : "." + frac);
}

// composition: a cost or duration summed over one label's turns (the
// verifier derives the sum of a key over the cited turns).
Maybe key_sum(const Trajectory& t, const Dimension& d, const Variety& v) {
  const std::size_t n = d.labels.size();
  const std::size_t start = v.pick(kKeySum, n);
  for (std::size_t k = 0; k < n; ++k) {
    const Label& l = d.labels[(start + k) % n];
    if (!is_listable(l.turns)) continue;
    for (std::string_view key : kSumKeys) {
      std::int64_t sum = 0;
      bool all = true;
      for (int number : l.turns) {
        const Turn* turn = turn_numbered(t, number);
        const std::optional<std::int64_t> value = [&]() -> std::optional<std::int64_t> {
          if (turn == nullptr) return std::nullopt;
          for (const Field& f : turn->fields) {
            if (iequals(f.name, key) && !f.is_json) return micro_units(f.value);
          }
          return std::nullopt;
        }();
        all = all && value.has_value();
        if (!all) break;
        sum += *value;
      }
      if (!all) continue;
      const std::string what = in_quotes(key);
      const std::string who = d.noun() + " " + in_quotes(l.text);
      const std::string questions[] = {
          "What is the total " + what + " of the turns of " + who + ", and which turns are they?",
          "Summed over every turn of " + who + ", how much " + what + " was spent, and where?"};
      return make("composition", questions[v.pick(kKeySum + 100, std::size(questions))],
                  micro_text(sum) + " in all, over " + turns_phrase(l.turns) + ".", l.turns);
    }
  }
  return std::nullopt;
}

// ---- handoffs: who handed the work to whom -----------------------------------

struct Handoff {
  int turn;
  std::string_view target;  // a known agent
};

// The agent a turn hands over to: "Orchestrator (-> WebSurfer)" names it in
// the agent, a handoff call in a "to" argument; only agents of the session count.
std::string_view handoff_target(const TurnFacts& facts, const Trajectory& t, std::size_t i,
                                const std::unordered_set<std::string_view>& agents) {
  std::string_view target;
  const std::string_view agent = trim(t.turns[i].agent);
  if (const std::size_t arrow = agent.find("-> "); arrow != std::string_view::npos) {
    const std::string_view rest = agent.substr(arrow + 3);
    target = trim(rest.substr(0, rest.find(')')));
  } else if (const std::size_t to = facts.arguments.find("\"to\":\"");
             to != std::string_view::npos) {
    const std::string_view rest = facts.arguments.substr(to + 6);
    target = rest.substr(0, rest.find('"'));
  }
  return agents.count(target) ? target : std::string_view();
}

struct Handoffs {
  std::vector<Handoff> list;                                   // in time order
  std::unordered_map<std::string_view, std::vector<int>> acts;  // agent -> its turns
};

Handoffs handoffs(const Trajectory& t, const Analysis& a, CancelPoll& poll) {
  Handoffs h;
  for (const TurnFacts& f : a.turns) {
    if (!f.agent.empty()) h.acts[f.agent].push_back(f.number);
  }
  std::unordered_set<std::string_view> agents;
  for (const auto& entry : h.acts) agents.insert(entry.first);
  for (std::size_t i = 0; i < a.turns.size(); ++i) {
    poll.item();
    const std::string_view target = handoff_target(a.turns[i], t, i, agents);
    if (!target.empty() && target != a.turns[i].agent) h.list.push_back({a.turns[i].number, target});
  }
  return h;
}

// reasoning: who got the work at one handoff, and how long that agent stayed in play.
Maybe handoff_receiver(const Handoffs& h, const Variety& v) {
  const std::size_t n = h.list.size();
  const std::size_t start = v.pick(kHandoffTarget, n);
  for (std::size_t k = 0; k < n; ++k) {
    const Handoff& x = h.list[(start + k) % n];
    const int last = h.acts.at(x.target).back();
    if (last - x.turn < 2) continue;
    const std::string at = turn_phrase(x.turn);
    const std::string questions[] = {
        "At " + at + " the work was handed to another agent. Which one, and at which turn did "
                     "that agent act for the last time?",
        "Who received the handoff made at " + at + ", and when is that agent last seen?"};
    return make("reasoning", questions[v.pick(kHandoffTarget + 100, std::size(questions))],
                in_quotes(x.target) + ", last at " + turn_phrase(last) + ".", {x.turn, last});
  }
  return std::nullopt;
}

// factoid: how often the work was handed to one agent.
Maybe handoff_count(const Handoffs& h, const Variety& v) {
  std::vector<std::string_view> targets;  // in order of first handoff
  std::unordered_map<std::string_view, std::vector<int>> turns;
  for (const Handoff& x : h.list) {
    auto& list = turns[x.target];
    if (list.empty()) targets.push_back(x.target);
    list.push_back(x.turn);
  }
  const std::size_t start = v.pick(kHandoffCount, targets.size());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const std::string_view target = targets[(start + k) % targets.size()];
    const std::vector<int>& list = turns.at(target);
    if (!is_listable(list)) continue;
    const std::string questions[] = {
        "Work was first handed to " + in_quotes(target) + " at " + turn_phrase(list.front()) +
            ". How many handoffs to it were there in all, and at which turns?",
        "Starting at " + turn_phrase(list.front()) + ", how often was " + in_quotes(target) +
            " given the work, and at which turns?"};
    return make("factoid", questions[v.pick(kHandoffCount + 100, std::size(questions))],
                count_answer(list), list);
  }
  return std::nullopt;
}

// composition: the chain of handoffs over a stretch of the run.
Maybe handoff_chain(const Handoffs& h, const Variety& v) {
  constexpr std::size_t kChain = 4;
  const std::size_t n = h.list.size();
  if (n < 2) return std::nullopt;
  const std::size_t begin = v.pick(kHandoffChain, n - 1);
  const std::size_t end = std::min(n, begin + kChain);
  std::string answer;
  std::vector<int> turns;
  for (std::size_t k = begin; k < end; ++k) {
    if (!answer.empty()) answer += k + 1 == end ? ", then " : ", ";
    answer += in_quotes(h.list[k].target) + " at " + turn_phrase(h.list[k].turn);
    turns.push_back(h.list[k].turn);
  }
  if (!spans_non_adjacent(turns)) return std::nullopt;
  const std::string from = turn_phrase(turns.front()), to = turn_phrase(turns.back());
  const std::string questions[] = {
      "To which agents was the work handed from " + from + " to " + to + ", in order?",
      "List the handoffs between " + from + " and " + to + ": who received the work, and when?"};
  return make("composition", questions[v.pick(kHandoffChain + 100, std::size(questions))],
              answer + ".", std::move(turns));
}

// composition: the values one argument took across a tool's calls.
Maybe argument_values(const std::vector<ToolCalls>& tools, CancelPoll& poll, const Variety& v) {
  const std::size_t n = tools.size();
  const std::size_t start = v.pick(kArgumentValues, n);
  for (std::size_t k = 0; k < n; ++k) {
    const ToolCalls& tc = tools[(start + k) % n];
    if (tc.calls.size() < 2 || tc.calls.size() > kMaxListedTurns) continue;
    std::vector<ordered_json> args;
    for (const TurnFacts* call : tc.calls) args.push_back(parse_object(call->arguments, poll));
    if (!args.front().is_object()) continue;
    std::size_t compared = 0;
    for (const auto& [key, first_value] : args.front().items()) {
      if (++compared > kMaxComparedArguments || !is_quotable(key)) break;
      std::vector<Label> values;  // by first use
      bool all = true;
      for (std::size_t c = 0; c < tc.calls.size() && all; ++c) {
        const auto it = args[c].is_object() ? args[c].find(key) : args[c].end();
        const std::string value =
            it == args[c].end() ? std::string() : literal_argument(tc.calls[c]->arguments, key, *it);
        all = !value.empty();
        if (!all) break;
        auto found = std::find_if(values.begin(), values.end(),
                                  [&](const Label& l) { return l.text == value; });
        if (found == values.end()) found = values.insert(values.end(), Label{{}, {}});
        found->turns.push_back(tc.calls[c]->number);
        if (found->text.empty()) {
          // Point into the call's text, which outlives the candidate's building.
          const std::size_t at = tc.calls[c]->arguments.find(value);
          found->text = tc.calls[c]->arguments.substr(at, value.size());
        }
      }
      if (!all || values.size() < 2) continue;
      std::string answer;
      std::vector<int> turns;
      for (const Label& l : values) {
        if (!answer.empty()) answer += "; ";
        answer += in_quotes(l.text) + " (" + turns_phrase(l.turns) + ")";
        turns.insert(turns.end(), l.turns.begin(), l.turns.end());
      }
      std::sort(turns.begin(), turns.end());
      if (!spans_non_adjacent(turns)) continue;
      const std::string questions[] = {
          "Which " + in_quotes(key) + " values did the calls to tool " + in_quotes(tc.tool) +
              " use, and at which turns?",
          "Across its " + std::to_string(tc.calls.size()) + " calls, which values of " +
              in_quotes(key) + " did tool " + in_quotes(tc.tool) + " get, and when?"};
      return make("composition", questions[v.pick(kArgumentValues + 100, std::size(questions))],
                  answer + ".", std::move(turns));
    }
  }
  return std::nullopt;
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

// The verifier's idea of a token boundary: a match must not continue a run of
// digits or of word characters (letters, '_', non-ASCII bytes) on either side,
// so "uild_12" is not in "build_12" and a turn is cited only if it has the token.
enum class Run { None, Digit, Word };
Run run_of(char c) {
  if (is_digit(c)) return Run::Digit;
  if (ascii::is_alpha(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80) return Run::Word;
  return Run::None;
}

bool has_token(std::string_view text, std::string_view token) {
  if (token.empty()) return false;
  const Run first = run_of(token.front());
  const Run last = run_of(token.back());
  for (std::size_t p = text.find(token); p != std::string_view::npos; p = text.find(token, p + 1)) {
    const std::size_t e = p + token.size();
    if ((p == 0 || first == Run::None || run_of(text[p - 1]) != first) &&
        (e == text.size() || last == Run::None || run_of(text[e]) != last)) {
      return true;
    }
  }
  return false;
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
  Maybe mentions(const Variety& v) const {
    std::size_t checks = 0;
    for (const bool marked : {true, false}) {
      for (std::string_view token : rare_) {
        const Stat& s = stats_.at(token);
        if (is_marked(token) != marked || s.turns < 2 || s.last - s.first < 2) continue;
        if (++checks > kMaxChecks) return std::nullopt;
        // Every turn that has it as a token counts: the answer must list them all.
        const std::vector<int> turns = turns_containing(token, kMaxRareTurns + 1);
        if (turns.size() > kMaxRareTurns || !spans_non_adjacent(turns)) continue;
        const std::string questions[] = {
            "In which turns does " + in_quotes(token) + " appear?",
            "Where in the run is " + in_quotes(token) + " mentioned?"};
        return make("factoid", questions[v.pick(kMentions, std::size(questions))],
                    "At " + turns_phrase(turns) + ".", turns);
      }
    }
    return std::nullopt;
  }

  // temporal: which of two rare tokens the trajectory mentions first.
  Maybe first_mention(const Variety& v) const {
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
      const std::string questions[] = {
          "Which appears first in the trajectory: " + in_quotes(a) + " or " + in_quotes(b) + "?",
          "Is " + in_quotes(a) + " or " + in_quotes(b) + " mentioned earlier, and at which turn?"};
      return make(
          "temporal", questions[v.pick(kFirstMention, std::size(questions))],
          in_quotes(early) + " at " + turn_phrase(early_turn) + ", before " + in_quotes(token) +
              " at " + turn_phrase(turn) + ".",
          {early_turn, turn});
    }
    return std::nullopt;
  }

  // temporal: a value (an id, a path, a figure) that a turn gives and a
  // much later turn reuses: where it comes back last, and who brings it back.
  // The widest-spread of the first rare tokens, so long runs get long-range pairs.
  Maybe value_reuse(const Variety& v) const {
    std::string_view best;
    int best_span = 1;
    std::size_t looked = 0;
    for (std::string_view token : rare_) {
      if (++looked > kMaxReuseLooks) break;
      const Stat& s = stats_.at(token);
      if (s.last - s.first > best_span) {
        best = token;
        best_span = s.last - s.first;
      }
    }
    if (best.empty()) return std::nullopt;
    // The first and the last turn that have it as a token at all.
    const int first = turns_containing(best, 1).front();
    const TurnFacts* last = last_turn_containing(best);
    if (last == nullptr || last->number - first < 2) return std::nullopt;
    const std::string value = in_quotes(best);
    const std::string at = turn_phrase(first);
    const std::string questions[] = {
        value + " first appears at " + at +
            ". At which later turn is it mentioned for the last time, and by whom?",
        "Which is the last turn that comes back to " + value + ", first seen at " + at +
            ", and which agent wrote it?",
        "After " + at + " introduced " + value + ", when was it last reused, and by which agent?"};
    std::string answer = "At " + turn_phrase(last->number);
    if (!last->agent.empty()) answer += ", by " + in_quotes(last->agent);
    return make("temporal", questions[v.pick(kValueReuse, std::size(questions))], answer + ".",
                {first, last->number});
  }

 private:
  struct Stat {
    int first = 0;
    int last = 0;
    std::size_t turns = 0;
  };

  static constexpr std::size_t kMaxRareTurns = 5;
  static constexpr std::size_t kMaxChecks = 16;  // each check scans the whole text
  static constexpr std::size_t kMaxReuseLooks = 256;  // looks at counts only

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
            return has_token(text, token);
          })) {
        turns.push_back(t.number);
      }
    }
    return turns;
  }

  // The last turn whose text contains `token`, or null.
  const TurnFacts* last_turn_containing(std::string_view token) const {
    for (auto t = a_.turns.rbegin(); t != a_.turns.rend(); ++t) {
      poll_.item();
      if (std::any_of(t->texts.begin(), t->texts.end(), [&](std::string_view text) {
            return has_token(text, token);
          })) {
        return &*t;
      }
    }
    return nullptr;
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

// The order a type's candidates are taken in: rotated per session, so every
// generator gets its turn across a log; in long runs, pairs whose cited turns
// lie far apart first (a question over a whole run is what a long run is for).
void order_candidates(std::vector<Candidate>& list, std::size_t turn_count, const Variety& v) {
  std::rotate(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(v.pick(kOrder, list.size())),
              list.end());
  if (turn_count < kLongRun) return;
  std::stable_partition(list.begin(), list.end(), [](const Candidate& c) {
    return c.turns.back() - c.turns.front() >= static_cast<int>(kLongRun / 2);
  });
}

}  // namespace

std::string offline_compile(const Trajectory& t, int max_questions, CancelCheck cancel) {
  CancelPoll poll(cancel);
  const Variety v(t.session_id);
  const Analysis a = analyze(t, poll);
  const std::vector<Dimension> dims = dimensions(t, a, poll);
  const std::vector<ToolCalls> tools = calls_by_tool(a, poll);
  const Handoffs passes = handoffs(t, a, poll);
  const ContentIndex content(a, poll);

  const Turn* request = request_turn(t);
  const std::string topic = request ? request_words(*request) : std::string();
  // Short in the prefix: a long shared prefix makes two questions of one
  // session near-duplicates of each other.
  const std::string anchor = opening_words(topic, 5);

  // Candidates per qa type.
  std::vector<Candidate> by_type[std::size(kQaTypes)];
  // A question that quotes nothing of the session (turn numbers only)
  // names the task it is about: runs of one kind would otherwise share it.
  auto add = [&](Maybe c) {
    if (!c) return;
    if (!anchor.empty() && c->question.find('"') == std::string::npos) {
      c->question = "On the task " + in_quotes(anchor) + ": " + lower(c->question.substr(0, 1)) +
                    c->question.substr(1);
    }
    by_type[type_index(c->qa_type)].push_back(std::move(*c));
  };
  add(tool_failures(tools, v));
  add(all_failures(a, v));
  add(retry_until_success(tools, poll, v));
  add(argument_change(tools, poll, v));
  add(argument_values(tools, poll, v));
  if (!t.turns.empty()) {
    add(request_outcome(t, v));
    add(run_duration(t, topic, v));
  }
  add(handoff_receiver(passes, v));
  add(handoff_count(passes, v));
  add(handoff_chain(passes, v));
  bool rostered = false;
  for (const Dimension& d : dims) {
    add(first_appearance(d, v));
    add(window_listing(d, poll, v));
    add(label_count(d, v));
    add(busiest_label(d, poll, v));
    // One roster a session: two differ in one word and are near-duplicates.
    if (!rostered) {
      Maybe r = roster(t, d, topic, v);
      rostered = r.has_value();
      add(std::move(r));
    }
    add(key_sum(t, d, v));
    add(label_duration(t, d, v));
  }
  // One last appearance a session: every dimension ends at the same turns,
  // so two would differ in a word only.
  for (std::size_t k = 0, start = v.pick(kLastAppearance + 100, dims.size()); k < dims.size(); ++k) {
    Maybe last = last_appearance(dims[(start + k) % dims.size()], v);
    if (!last) continue;
    add(std::move(last));
    break;
  }
  add(content.mentions(v));
  add(content.first_mention(v));
  add(content.value_reuse(v));
  for (auto& list : by_type) order_candidates(list, t.turns.size(), v);

  // Round robin over the types, so a few questions still cover all four.
  // The type that starts each round varies per session: the extra pairs of a
  // reply go to every type alike across a log.
  const std::size_t first_type = v.pick(kOrder + 1, std::size(kQaTypes));
  ordered_json pairs = ordered_json::array();
  for (std::size_t round = 0; static_cast<int>(pairs.size()) < max_questions; ++round) {
    bool any = false;
    for (std::size_t k = 0; k < std::size(kQaTypes); ++k) {
      const auto& list = by_type[(first_type + k) % std::size(kQaTypes)];
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
