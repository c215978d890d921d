// Eval prompts, the judge's verdict, the match grader and the EvalRunner
// (see eval.hpp). The candidate's prompt never holds a pair's answer or
// supporting turns; one pair's failure is that pair's ungraded outcome.
#include "trajc/eval.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "trajc/error.hpp"
#include "trajc/text_fold.hpp"

namespace trajc {
namespace {

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_article(const std::string& w) { return w == "a" || w == "an" || w == "the"; }

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Each qa_type's extra rule for the judge.
const char* judge_rule(const std::string& qa_type) {
  if (qa_type == "temporal")
    return " The order of events and any turn numbers in the correct answer must match.";
  if (qa_type == "composition")
    return " Every item the correct answer lists must be in the response, in any order.";
  if (qa_type == "reasoning")
    return " Another explanation is fine if it reaches the same conclusion.";
  return " Counts, names and values must match exactly.";
}

}  // namespace

std::vector<std::string> answer_tokens(std::string_view raw) {
  // Typographic quotes, dashes and spaces first become ASCII, as the pair
  // checks fold them (text_fold.hpp): a model's “x” is the log's "x".
  std::string folded;
  append_folded(folded, raw, true);
  const std::string_view text = folded;
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (!current.empty() && !is_article(current)) tokens.push_back(current);
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    const bool between_digits =
        i > 0 && i + 1 < text.size() && is_digit(text[i - 1]) && is_digit(text[i + 1]);
    if (static_cast<unsigned char>(c) >= 0x80 || is_ascii_alnum(c)) {
      current += ascii_lower(c);
    } else if (between_digits && c == '.') {
      current += c;
    } else if (between_digits && c == ',') {
      // thousands separator: dropped, the number stays one token
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

std::string normalize_answer(std::string_view text) {
  std::string out;
  for (const auto& t : answer_tokens(text)) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

double token_f1(std::string_view candidate, std::string_view reference) {
  const auto cand = answer_tokens(candidate), ref = answer_tokens(reference);
  if (cand.empty() || ref.empty()) return 0;
  std::map<std::string, int> counts;
  for (const auto& t : ref) counts[t]++;
  int overlap = 0;
  for (const auto& t : cand)
    if (counts[t]-- > 0) overlap++;
  if (overlap == 0) return 0;
  const double p = static_cast<double>(overlap) / cand.size();
  const double r = static_cast<double>(overlap) / ref.size();
  return 2 * p * r / (p + r);
}

bool is_no_answer(std::string_view candidate) {
  static const char* const kNoAnswers[] = {"", "unknown", "i don t know", "i do not know",
                                           "no answer", "not enough information",
                                           "cannot be determined"};
  const std::string n = normalize_answer(candidate);
  return std::find(std::begin(kNoAnswers), std::end(kNoAnswers), n) != std::end(kNoAnswers);
}

Grade grade_match(std::string_view candidate, std::string_view reference) {
  Grade g;
  const std::string cand = normalize_answer(candidate), ref = normalize_answer(reference);
  if (is_no_answer(candidate)) {
    g.reason = "no answer";
    return g;
  }
  if (!ref.empty() && (" " + cand + " ").find(" " + ref + " ") != std::string::npos) {
    g.correct = true;
    g.score = 1;
    g.reason = "contains the reference";
    return g;
  }
  g.score = token_f1(candidate, reference);
  g.correct = g.score >= kMatchF1Threshold;
  g.reason = std::string("token F1 ") + (g.correct ? ">= " : "< ") + "0.5";
  return g;
}

std::string build_answer_prompt(const Trajectory& t, const std::string& question,
                                const PromptOptions& opt) {
  std::string prompt =
      "You answer a question about one session of a multi-agent system, from its audit log: "
      "one turn per row, numbered in time order. Use only the turns below, no outside "
      "knowledge. Reply with the answer alone, as short as a complete answer allows; "
      "name turns by their numbers when the question asks where or when. Long values may "
      "be shortened and middle turns left out, as marked; turn numbers are the original "
      "ones. If the turns do not hold the answer, reply exactly: unknown\n";
  prompt += "\nSession: " + t.session_id + "\nTurns: " + std::to_string(t.turns.size()) + "\n\n";
  prompt += render_trajectory(t, opt);
  prompt += "\n\nQuestion: " + question + "\n";
  return prompt;
}

std::string build_judge_prompt(const std::string& qa_type, const std::string& question,
                               const std::string& reference, const std::string& response) {
  return std::string(
             "I will give you a question about an agent session, its correct answer, and a "
             "response from a model. Answer yes if the response contains the correct answer "
             "or says the same thing, also when it shows the steps that lead to it. Answer no "
             "if it is wrong, gives only part of what the correct answer requires, or does not "
             "answer.") +
         judge_rule(qa_type) + "\n\nQuestion: " + question + "\n\nCorrect Answer: " + reference +
         "\n\nModel Response: " + response +
         "\n\nIs the model response correct? Answer yes or no only.";
}

JudgeVerdict parse_judge_reply(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && !is_ascii_alnum(text[i])) i++;  // markdown, quotes, spaces
  std::string word;
  while (i < text.size() && is_ascii_alnum(text[i])) word += ascii_lower(text[i++]);
  JudgeVerdict v;
  v.understood = word == "yes" || word == "no";
  v.yes = word == "yes";
  return v;
}

std::string clean_answer(std::string_view reply) {
  std::string_view s = trim(reply);
  if (s.size() >= 6 && s.substr(0, 3) == "```" && s.substr(s.size() - 3) == "```") {
    s = s.substr(3, s.size() - 6);
    const auto nl = s.find('\n');  // a language tag after the fence
    if (nl != std::string_view::npos && s.substr(0, nl).find(' ') == std::string_view::npos)
      s = s.substr(nl + 1);
    s = trim(s);
  }
  for (std::string_view prefix : {"Answer:", "answer:", "ANSWER:"}) {
    if (s.substr(0, prefix.size()) == prefix) {
      s = trim(s.substr(prefix.size()));
      break;
    }
  }
  return std::string(s);
}

namespace {

// The trajectory as the pair was compiled from: its first turn_count turns.
const Trajectory& as_compiled(const Trajectory& t, int turn_count, Trajectory& scratch) {
  if (turn_count <= 0 || t.turns.size() <= static_cast<std::size_t>(turn_count)) return t;
  scratch.session_id = t.session_id;
  scratch.agent = t.agent;
  scratch.turns.assign(t.turns.begin(), t.turns.begin() + turn_count);
  return scratch;
}

long tokens_of(const std::string& prompt) {
  return static_cast<long>((prompt.size() + 3) / 4);  // ~4 bytes a token
}

}  // namespace

Estimate estimate_eval(const Trajectory& t, const EvalItem& item, const EvalSettings& s) {
  Trajectory scratch;
  const std::string prompt =
      build_answer_prompt(as_compiled(t, item.turn_count, scratch), item.question, s.prompt);
  Estimate e;
  e.tokens_in = tokens_of(prompt);
  e.cost_usd = call_cost_usd(s.candidate.prices, e.tokens_in, s.expected_answer_tokens);
  if (s.use_judge) {
    // The judge sees the question, the reference and an answer of about the
    // expected length.
    const long judge_in =
        tokens_of(build_judge_prompt(item.qa_type, item.question, item.reference, "")) +
        s.expected_answer_tokens;
    e.tokens_in += judge_in;
    e.cost_usd += call_cost_usd(s.judge.prices, judge_in, s.expected_answer_tokens);
  }
  return e;
}

struct EvalRunner::Impl {
  struct Pending {
    EvalItem item;
    EvalOutcome outcome;
    bool judging = false;
  };
  struct QueuedJudge {
    std::uint64_t id;
    std::string prompt;
    double estimate_usd;
  };

  EvalSettings settings;
  ModelCalls calls;
  std::map<std::uint64_t, Pending> pending;  // by the id of its call in flight
  std::deque<QueuedJudge> judges;            // answered, waiting for a slot
  std::vector<EvalOutcome> ready;            // graded without a judge call, or failed
  std::uint64_t next_id = 1;

  Impl(EvalSettings s, CancelCheck cancel) : settings(std::move(s)), calls(settings.limits, cancel) {
    // A bad model name is the run's error, before any pair starts.
    check_model_name(settings.candidate.provider, settings.candidate.model);
    if (settings.use_judge) check_model_name(settings.judge.provider, settings.judge.model);
  }

  void done(std::uint64_t id) {
    auto it = pending.find(id);
    ready.push_back(std::move(it->second.outcome));
    pending.erase(it);
  }

  void on_candidate(Pending& p, std::uint64_t id, const CallResult& r) {
    EvalOutcome& o = p.outcome;
    o.tokens_in = r.reply.tokens_in;
    o.tokens_out = r.reply.tokens_out;
    o.cost_usd = r.cost_usd;
    if (!r.ok) {
      o.reason = "candidate call failed: " + r.error;
      return done(id);
    }
    o.has_answer = true;
    o.answer = clean_answer(r.reply.text);
    if (is_no_answer(o.answer)) {
      o.graded = true;
      o.reason = "no answer";
      return done(id);
    }
    if (!settings.use_judge) {
      const Grade g = grade_match(o.answer, p.item.reference);
      o.graded = true;
      o.correct = g.correct;
      o.score = g.score;
      o.reason = "match: " + g.reason;
      return done(id);
    }
    // Same id, next call: the judge's.
    std::string prompt = build_judge_prompt(p.item.qa_type, p.item.question, p.item.reference, o.answer);
    const double estimate = call_cost_usd(settings.judge.prices, tokens_of(prompt), settings.expected_answer_tokens);
    p.judging = true;
    judges.push_back({id, std::move(prompt), estimate});
  }

  void on_judge(Pending& p, std::uint64_t id, const CallResult& r) {
    EvalOutcome& o = p.outcome;
    o.judge_tokens_in = r.reply.tokens_in;
    o.judge_tokens_out = r.reply.tokens_out;
    o.judge_cost_usd = r.cost_usd;
    if (!r.ok) {
      o.reason = "judge call failed: " + r.error;
      return done(id);
    }
    const JudgeVerdict v = parse_judge_reply(r.reply.text);
    if (!v.understood) {
      std::string said = r.reply.text.substr(0, 80);
      o.reason = "judge reply was neither yes nor no: " + said;
      return done(id);
    }
    o.graded = true;
    o.correct = v.yes;
    o.score = v.yes ? 1 : 0;
    o.reason = std::string("judge ") + settings.judge.model + ": " + (v.yes ? "yes" : "no");
    done(id);
  }

  // Queued judge calls start as slots, rate and budget allow; over budget
  // they end ungraded.
  void start_judges() {
    while (!judges.empty()) {
      const QueuedJudge& q = judges.front();
      const auto admission = calls.admit(q.estimate_usd);
      if (admission == Admission::Wait) return;
      if (admission == Admission::OverBudget) {
        pending.at(q.id).outcome.reason = "not graded: trajc.max_cost_usd reached before the judge";
        done(q.id);
      } else {
        calls.start(q.id, settings.judge, q.prompt, ReplyFormat::Text, q.estimate_usd);
      }
      judges.pop_front();
    }
  }
};

EvalRunner::EvalRunner(EvalSettings s, CancelCheck cancel)
    : impl_(std::make_unique<Impl>(std::move(s), cancel)) {}

EvalRunner::~EvalRunner() = default;

EvalRunner::Admission EvalRunner::admit(const Estimate& e) const {
  const Impl& m = *impl_;
  if (!m.judges.empty()) return Admission::Wait;
  if (active() >= static_cast<std::size_t>(m.calls.concurrency())) return Admission::Wait;
  return m.calls.admit(e.cost_usd);
}

void EvalRunner::start(const Trajectory& t, const EvalItem& item, const Estimate& e) {
  Impl& m = *impl_;
  if (m.settings.candidate.provider == Provider::Offline)
    throw Error(sqlstate::kInvalidParameter, "the offline provider cannot answer questions");
  Trajectory scratch;
  std::string prompt = build_answer_prompt(as_compiled(t, item.turn_count, scratch), item.question,
                                           m.settings.prompt);
  const std::uint64_t id = m.next_id++;
  Impl::Pending p;
  p.item = item;
  p.outcome.pair_id = item.pair_id;
  m.pending.emplace(id, std::move(p));
  try {
    // The whole pair's estimate stands while its candidate call is in
    // flight, so the budget keeps room for its judge.
    m.calls.start(id, m.settings.candidate, std::move(prompt), ReplyFormat::Text, e.cost_usd);
  } catch (...) {
    m.pending.erase(id);  // never started: must not hold a slot
    throw;
  }
}

std::vector<EvalOutcome> EvalRunner::wait(long max_wait_ms) {
  Impl& m = *impl_;
  m.start_judges();
  if (m.ready.empty()) {
    for (const CallResult& r : m.calls.wait(max_wait_ms)) {
      Impl::Pending& p = m.pending.at(r.id);
      if (p.judging)
        m.on_judge(p, r.id, r);
      else
        m.on_candidate(p, r.id, r);
    }
    m.start_judges();
  }
  std::vector<EvalOutcome> out;
  out.swap(m.ready);
  return out;
}

std::size_t EvalRunner::active() const {
  return impl_->calls.active() + impl_->judges.size() + impl_->ready.size();
}

double EvalRunner::spent_usd() const { return impl_->calls.spent_usd(); }

}  // namespace trajc
