// Eval: asking a candidate model the pairs' questions and grading its
// answers. Prompts for the candidate and the judge, the judge's verdict, the
// `match` grader with its normalization, and the EvalRunner that drives both
// models' calls through the shared engine (model_calls.hpp).
//
// Must never: put a pair's answer or supporting turns into the candidate's
// prompt (the candidate sees the trajectory and the question only), read
// settings or the database, or throw for one pair's failure (it becomes
// that pair's ungraded outcome).
#pragma once
#include "trajc/core_guard.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trajc/compile.hpp"
#include "trajc/defaults.hpp"
#include "trajc/model_calls.hpp"
#include "trajc/prompt.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

// --- match grader ----------------------------------------------------------
// normalize_answer, written down (the grader's whole definition):
//  0. Typographic quotes, dashes, non-breaking spaces and the ellipsis are
//     folded to ASCII first (text_fold.hpp, as the pair checks do).
//  1. ASCII letters are lower-cased; other UTF-8 text is kept as it is.
//  2. A ',' between two digits is dropped (1,000 -> 1000); a '.' between two
//     digits is kept (3.5).
//  3. Every other ASCII character that is not a letter or a digit (spaces,
//     punctuation, quotes, brackets, symbols) separates tokens.
//  4. The articles "a", "an" and "the" are dropped.
//  5. The tokens are joined by single spaces.
std::string normalize_answer(std::string_view text);
std::vector<std::string> answer_tokens(std::string_view text);

// SQuAD-style token F1 of the candidate against the reference: with
// overlap = the multiset intersection of their tokens, P = overlap / |cand|,
// R = overlap / |ref|, F1 = 2PR / (P + R); 0 when either has no token.
double token_f1(std::string_view candidate, std::string_view reference);

struct Grade {
  bool correct = false;
  double score = 0;    // 1 when contained, else the token F1
  std::string reason;  // why, for eval_answers.judge_reason
};

// Correct when the normalized reference occurs in the normalized candidate
// on token boundaries, or when token F1 >= kMatchF1Threshold.
inline constexpr double kMatchF1Threshold = 0.5;
Grade grade_match(std::string_view candidate, std::string_view reference);

// True for an answer that answers nothing: empty after normalization, or
// what the candidate prompt asks for then ("unknown") and its usual variants.
bool is_no_answer(std::string_view candidate);

// --- prompts -----------------------------------------------------------------
// The candidate's prompt: instructions, `Session: <id>`, the trajectory
// rendered exactly as for compiling (render_trajectory, same budget), then
// `Question: <question>` as the last line.
std::string build_answer_prompt(const Trajectory& t, const std::string& question,
                                const PromptOptions& opt);
// The judge's prompt, in the style of LongMemEval's answer checks: the
// question, the reference answer and the response; "yes or no only". The
// qa_type adds its own rule (order for temporal, every item for composition).
std::string build_judge_prompt(const std::string& qa_type, const std::string& question,
                               const std::string& reference, const std::string& response);

struct JudgeVerdict {
  bool understood = false;  // the reply began with yes or no
  bool yes = false;
};
// The first word of the reply, markdown and punctuation around it ignored:
// "yes" or "no" (any case). Anything else is not understood.
JudgeVerdict parse_judge_reply(std::string_view text);

// The candidate's answer from its reply: trimmed, surrounding markdown
// fences and an "Answer:" prefix removed.
std::string clean_answer(std::string_view reply);

// --- the runner ---------------------------------------------------------------
// Everything an eval run needs, snapshotted from settings before the C++ phase.
struct EvalSettings {
  ModelEndpoint candidate;
  bool use_judge = false;  // grader judge; else match
  ModelEndpoint judge;
  CallLimits limits;
  PromptOptions prompt;    // the compile prompt's budget
  long expected_answer_tokens = defaults::kExpectedAnswerTokens;  // for estimates
};

// One pair to ask.
struct EvalItem {
  std::string pair_id;
  std::string question;
  std::string reference;  // the pair's answer: for grading only, never sent to the candidate
  std::string qa_type;
  int turn_count = 0;     // the trajectory as compiled: later turns are not shown
};

// What eval_answers records for one pair.
struct EvalOutcome {
  std::string pair_id;
  bool has_answer = false;  // a reply came: answer is valid
  std::string answer;
  bool graded = false;      // correct and score are valid
  bool correct = false;
  double score = 0;
  std::string reason;       // how it was graded, or why it was not
  long tokens_in = 0, tokens_out = 0;
  double cost_usd = 0;      // the candidate's call
  long judge_tokens_in = 0, judge_tokens_out = 0;
  double judge_cost_usd = 0;
};

// Tokens and cost of one pair: the candidate's prompt, and the judge's.
Estimate estimate_eval(const Trajectory& t, const EvalItem& item, const EvalSettings& s);

// Asks pairs with up to `concurrency` calls in flight on the calling thread:
// the candidate, then (grader judge) the judge. The caller loads
// trajectories and stores outcomes between calls, as for BatchRunner.
class EvalRunner {
 public:
  EvalRunner(EvalSettings s, CancelCheck cancel);
  ~EvalRunner();
  EvalRunner(const EvalRunner&) = delete;
  EvalRunner& operator=(const EvalRunner&) = delete;

  using Admission = ModelCalls::Admission;
  // As ModelCalls::admit; Wait too while judge calls queue for a slot
  // (pairs already answered are graded first).
  Admission admit(const Estimate& e) const;
  void start(const Trajectory& t, const EvalItem& item, const Estimate& e);
  // Drives calls for up to max_wait_ms; returns the pairs that finished.
  // Throws Error(kQueryCanceled) on cancel.
  std::vector<EvalOutcome> wait(long max_wait_ms);
  std::size_t active() const;  // started and not yet returned
  double spent_usd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trajc
