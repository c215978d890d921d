// QA pairs: their shape, the reasons a candidate is rejected, the JSON schema
// models answer in, and the validation every reply (model or offline) passes.
//
// Must never: depend on a provider, or accept a pair whose answer does not
// rest on two non-adjacent turns of the trajectory.
#pragma once
#include "trajc/core_guard.hpp"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trajc/cancel.hpp"
#include "trajc/defaults.hpp"

namespace trajc {

inline constexpr const char* kQaTypes[] = {"factoid", "reasoning", "composition", "temporal"};
bool is_qa_type(const std::string& s);

struct QaPair {
  std::string question;
  std::string answer;
  std::vector<int> supporting_turns;  // sorted, distinct
  std::string qa_type;
  std::string raw_json;               // the model's object for this pair, compact
};

// Rejection reasons, the keys of Validation::rejected and of compile_log.
namespace reject {
inline constexpr const char* kMalformed = "malformed";             // not an object / wrong field types
inline constexpr const char* kTooFewTurns = "too_few_turns";       // < 2 distinct supporting turns
inline constexpr const char* kTurnOutOfRange = "turn_out_of_range";
inline constexpr const char* kAdjacentOnly = "adjacent_turns";     // no two cited turns non-adjacent
inline constexpr const char* kEmptyText = "empty_question_or_answer";
inline constexpr const char* kUnknownType = "unknown_qa_type";
inline constexpr const char* kDuplicate = "duplicate_question";
inline constexpr const char* kOverLimit = "over_question_limit";   // more than max_questions pairs
inline constexpr const char* kUngrounded = "ungrounded";           // literal verification failed
inline constexpr const char* kNearDuplicate = "near_duplicate";    // like an earlier pair of the session
inline constexpr const char* kUnsupported = "unsupported";         // the model verifier's verdict
}  // namespace reject

// The number of rejections in a reason -> count map.
int rejected_total(const std::map<std::string, int>& rejected);

struct Validation {
  std::vector<QaPair> kept;
  std::map<std::string, int> rejected;  // reason -> count
  int rejected_total() const;
};

// JSON schema of the reply: {"pairs": [{question, answer, supporting_turns, qa_type}]}.
const nlohmann::json& qa_schema();
// The JSON document inside a model's text: tolerates markdown fences and prose
// around it. Throws Error(kInvalidJson) for empty, non-JSON or truncated text.
nlohmann::json extract_json(const std::string& text, CancelCheck cancel = nullptr);
// Keeps the grounded pairs of {"pairs":[...]} (or a bare array) for a
// trajectory of turn_count turns; counts every rejection by reason.
Validation validate_pairs(const nlohmann::json& doc, int turn_count,
                          int max_questions = defaults::kMaxQuestions, CancelCheck cancel = nullptr);

}  // namespace trajc
