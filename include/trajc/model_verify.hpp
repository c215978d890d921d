// Model verification (trajc.verify = 'model'): the verifier's prompt for one
// session's pairs (each with only its cited turns, its question and its
// answer), the JSON schema of its verdicts, and the strict parser of its
// reply. Pure text work: sending the call is ModelCalls' job.
//
// Must never: show the verifier anything but the cited turns of each pair,
// accept a reply that does not give exactly one well-typed verdict per pair,
// or keep a pair whose verdict is not a full pass (see verdict_keeps).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trajc/cancel.hpp"
#include "trajc/qa.hpp"
#include "trajc/trajectory.hpp"
#include "trajc/verify.hpp"

namespace trajc {

// A line every verifier prompt carries, so a test server can tell it apart.
inline constexpr const char* kVerifierMark = "You are verifying question-answer pairs";
// The most of one cited turn's text the verifier is shown (a cut is marked).
inline constexpr std::size_t kMaxVerifiedTurnChars = 8000;

// One pair as the verifier sees it.
struct VerifyItem {
  std::string question;
  std::string answer;
  std::vector<CitedTurn> cited;
};

// The verifier's judgement of one pair.
struct Verdict {
  bool supported = false;               // the cited turns support the whole answer
  bool needs_multiple_turns = false;    // answering needs more than one cited turn
  bool answerable_without_log = true;   // general knowledge or the question gives it away
  std::string reason;                   // the verifier's words (safe text, bounded)
};

// A kept pair passes all three: fully supported, needing more than one of its
// turns, and not answerable without the log. Anything else is `unsupported`.
bool verdict_keeps(const Verdict& v);
// Why a verdict rejects a pair (empty when it keeps it), for trajc_verify().
std::string verdict_rejection(const Verdict& v);

// Each pair with its cited turns of `t` (the trajectory as the compile model
// saw it, i.e. redacted when trajc.redact = 'pii').
std::vector<VerifyItem> verify_items(const std::vector<QaPair>& pairs, const Trajectory& t);

// {"verdicts": [{pair, supported, needs_multiple_turns, answerable_without_log, reason}]}.
const nlohmann::json& verdict_schema();

// The prompt for one session's items, numbered 1..n in order.
std::string build_verifier_prompt(const std::string& session_id, const std::vector<VerifyItem>& items);

// One verdict per item, in item order. Throws Error(kInvalidJson) when the
// text holds no JSON, and Error(kExternal) when it does not give exactly one
// verdict with boolean fields for every pair number 1..count.
std::vector<Verdict> parse_verdicts(const std::string& text, std::size_t count,
                                    CancelCheck cancel = nullptr);

}  // namespace trajc
