// Eval prompts, the judge's verdict and the match grader (see eval.hpp).
// Pure functions: no settings, no I/O; the candidate's prompt never holds a
// pair's answer or supporting turns.
#include "trajc/eval.hpp"

#include <algorithm>
#include <map>

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

std::vector<std::string> answer_tokens(std::string_view text) {
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

}  // namespace trajc
