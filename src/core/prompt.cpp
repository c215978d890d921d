// Rendering a trajectory into a prompt: sizes every turn first, then keeps
// what fits the budget (long values' middles elided, then middle turns), and
// says in the prompt what was left out.
//
// Must never: cut inside a UTF-8 character (the prompt travels as JSON), or
// render a turn it then throws away (linear in the trajectory's size).
#include "trajc/prompt.hpp"

#include <limits>
#include <string_view>
#include <vector>

#include "trajc/error.hpp"

namespace trajc {
namespace {

constexpr std::string_view kTurnSeparator = "\n\n";
constexpr std::size_t kWholeValues = std::numeric_limits<std::size_t>::max();

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Writes turn text, or only measures it when `out` is null, so sizing and
// rendering share one layout. Sizes count bytes, like budget_chars.
struct Writer {
  std::string* out;
  std::size_t max_value;  // values longer than this have their middle elided
  std::size_t size = 0;   // as written
  std::size_t whole = 0;  // as it would be with every value whole
  bool elided = false;

  void put(std::string_view s) {
    size += s.size();
    whole += s.size();
    if (out) out->append(s);
  }

  // Keeps the head and tail of a long value (cut at UTF-8 character
  // boundaries: the prompt travels as JSON) and says how much was cut.
  void put_value(std::string_view v) {
    if (v.size() <= max_value) {
      put(v);
      return;
    }
    std::size_t head = max_value / 2;
    while (head > 0 && is_utf8_continuation(v[head])) --head;
    std::size_t tail = v.size() - max_value / 2;
    while (tail < v.size() && is_utf8_continuation(v[tail])) ++tail;
    const std::string marker = " [... " + std::to_string(tail - head) + " chars elided ...] ";
    size += head + marker.size() + (v.size() - tail);
    whole += v.size();
    elided = true;
    if (out) {
      out->append(v.substr(0, head));
      out->append(marker);
      out->append(v.substr(tail));
    }
  }
};

// `scratch` is the caller's, reused from turn to turn: sizing and rendering
// then allocate nothing per turn.
void write_turn(Writer& w, const Turn& turn, std::string& scratch) {
  scratch.clear();
  append_turn_heading(scratch, turn.number, turn.at, turn.agent);
  w.put(scratch);
  for (const Field& f : turn.fields) {
    w.put("\n");
    w.put(f.name);
    w.put(": ");
    w.put_value(display_value(f, scratch));
  }
}

std::string omission_line(int first, int last) {
  const std::string turns = first == last
                                ? "turn " + std::to_string(first)
                                : "turns " + std::to_string(first) + "-" + std::to_string(last);
  return "[... " + turns + " omitted to fit the prompt budget ...]";
}

// What the budget keeps: the first `front` and the last `back` turns, values
// cut past `max_value`.
struct Plan {
  std::size_t max_value = kWholeValues;
  std::size_t front = 0;
  std::size_t back = 0;
  std::size_t size = 0;  // upper bound of the rendered text
  bool values_elided = false;
  int omitted_first = 0;  // 0 = no turn omitted
  int omitted_last = 0;
};

struct TurnSize {
  std::size_t size = 0;  // with long values elided
  bool has_long_value = false;
};

// Takes turns alternately from both ends while they fit, so the start (the
// task) and the end (the outcome) both survive. The first and the last turn
// are always kept: a question needs at least two turns.
void select_turns(const std::vector<TurnSize>& sizes, std::size_t budget, Plan& plan) {
  const std::size_t n = sizes.size();
  // Turn numbers only grow, so the widest line bounds the real one.
  std::size_t used =
      omission_line(static_cast<int>(n), static_cast<int>(n)).size() + kTurnSeparator.size();
  auto fits = [&](std::size_t i) { return used + sizes[i].size + kTurnSeparator.size() <= budget; };
  auto take = [&](std::size_t i) {
    used += sizes[i].size + kTurnSeparator.size();
    plan.values_elided = plan.values_elided || sizes[i].has_long_value;
  };
  take(0);
  plan.front = 1;
  plan.back = 0;
  if (n > 1) {
    take(n - 1);
    plan.back = 1;
  }
  bool front_open = true;
  bool back_open = true;
  while (plan.front + plan.back < n && (front_open || back_open)) {
    if (front_open) {
      front_open = fits(plan.front);
      if (front_open) take(plan.front++);
    }
    if (back_open && plan.front + plan.back < n) {
      back_open = fits(n - 1 - plan.back);
      if (back_open) take(n - 1 - plan.back++);
    }
  }
  plan.size = used;
}

// Sizes every turn first (whole, and with long values elided), so that only
// what is kept gets rendered: linear in the trajectory, whatever its size.
Plan make_plan(const Trajectory& t, const PromptOptions& opt) {
  const std::size_t n = t.turns.size();
  std::vector<TurnSize> sizes(n);
  std::size_t whole_total = 0;
  std::size_t elided_total = 0;
  bool any_long_value = false;
  std::string scratch;
  for (std::size_t i = 0; i < n; ++i) {
    Writer w{nullptr, opt.max_value_chars};
    write_turn(w, t.turns[i], scratch);
    sizes[i] = {w.size, w.elided};
    any_long_value = any_long_value || w.elided;
    whole_total += w.whole + kTurnSeparator.size();
    elided_total += w.size + kTurnSeparator.size();
  }
  Plan plan;
  plan.front = n;
  plan.size = whole_total;
  // Each turn was counted with a separator; the text has one less.
  if (whole_total <= opt.budget_chars + kTurnSeparator.size()) return plan;
  plan.max_value = opt.max_value_chars;
  plan.size = elided_total;
  plan.values_elided = any_long_value;
  if (elided_total <= opt.budget_chars + kTurnSeparator.size()) return plan;
  plan.values_elided = false;
  select_turns(sizes, opt.budget_chars, plan);
  if (plan.front + plan.back < n) {
    plan.omitted_first = t.turns[plan.front].number;
    plan.omitted_last = t.turns[n - 1 - plan.back].number;
  }
  return plan;
}

void render_into(std::string& out, const Trajectory& t, const Plan& plan) {
  const std::size_t n = t.turns.size();
  const std::size_t start = out.size();
  Writer w{&out, plan.max_value};
  std::string scratch;
  auto write = [&](std::size_t i) {
    if (out.size() > start) w.put(kTurnSeparator);
    write_turn(w, t.turns[i], scratch);
  };
  for (std::size_t i = 0; i < plan.front; ++i) write(i);
  if (plan.omitted_first > 0) {
    w.put(kTurnSeparator);
    w.put(omission_line(plan.omitted_first, plan.omitted_last));
  }
  for (std::size_t i = n - plan.back; i < n; ++i) write(i);
}

std::string instructions(const PromptOptions& opt, const Plan& plan) {
  std::string s =
      "You write question-answer pairs that test memory of a long agent trajectory. "
      "The trajectory below is an audit log: one turn per row, numbered in time order.\n\n"
      "Write between 1 and " +
      std::to_string(opt.max_questions) +
      " questions. Every question must need information from at least two NON-ADJACENT "
      "turns (turn numbers differing by at least 2): no single turn, and no pair of "
      "neighbouring turns, may answer it alone. Answers must be short, precise and fully "
      "supported by the turns you cite; use no outside knowledge. Each question must "
      "stand on its own, naming the agents, tools or values it asks about. Cite in "
      "supporting_turns every turn the answer relies on. Vary qa_type:\n"
      "- factoid: a fact that combines turns (a count, a value, a name)\n"
      "- reasoning: an inference that connects turns (a cause, a retry, a change)\n"
      "- composition: several items gathered across turns into one answer\n"
      "- temporal: the order, timing or change of events\n";
  if (plan.values_elided || plan.omitted_first > 0) {
    s += "\nTo fit the prompt, ";
    if (plan.values_elided)
      s += "the middle of some long values was cut (\"[... N chars elided ...]\")";
    if (plan.values_elided && plan.omitted_first > 0) s += " and ";
    if (plan.omitted_first > 0) {
      s += "turns " + std::to_string(plan.omitted_first) + " to " +
           std::to_string(plan.omitted_last) + " were left out";
    }
    s += ". Ask only about what is shown; turn numbers are the original ones.\n";
  }
  s += "\nReply with JSON only, no prose and no markdown, in exactly this shape:\n"
       "{\"pairs\":[{\"question\":\"...\",\"answer\":\"...\",\"supporting_turns\":[3,9],"
       "\"qa_type\":\"temporal\"}]}\n"
       "qa_type is one of factoid, reasoning, composition, temporal.\n";
  return s;
}

}  // namespace

void append_turn_heading(std::string& out, int number, std::string_view at,
                         std::string_view agent) {
  out += "### Turn ";
  out += std::to_string(number);
  out += " (";
  out += at;
  if (!agent.empty()) {
    out += ", ";
    out += agent;
  }
  out += ')';
}

std::string render_trajectory(const Trajectory& t, const PromptOptions& opt) {
  const Plan plan = make_plan(t, opt);
  std::string out;
  out.reserve(plan.size);
  render_into(out, t, plan);
  return out;
}

std::string build_prompt(const Trajectory& t, const PromptOptions& opt) {
  if (opt.max_questions < 1) {
    throw Error(sqlstate::kInvalidParameter, "max_questions must be at least 1");
  }
  const Plan plan = make_plan(t, opt);
  std::string prompt = instructions(opt, plan);
  prompt += "\nSession: " + t.session_id + "\nTurns: " + std::to_string(t.turns.size()) + "\n\n";
  prompt.reserve(prompt.size() + plan.size);
  render_into(prompt, t, plan);
  return prompt;
}

}  // namespace trajc
