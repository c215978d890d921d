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

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trajc/cancel.hpp"
#include "trajc/model_calls.hpp"
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

// What a verdict is expected to take in the verifier's reply (the pair's
// number, three booleans and a one-sentence reason), for estimates.
inline constexpr long kVerdictTokens = 64;
// An upper bound of build_verifier_prompt's size for a session of `t` before
// its pairs are known: `max_pairs` pairs, each citing every turn of `t` (each
// cut as the prompt cuts it), their questions and answers together
// `qa_bytes` long. Admission reserves the verifier call on it.
std::size_t verifier_prompt_bound(const Trajectory& t, int max_pairs, std::size_t qa_bytes);

// One verdict per item, in item order. Throws Error(kInvalidJson) when the
// text holds no JSON, and Error(kExternal) when it does not give exactly one
// verdict with boolean fields for every pair number 1..count.
std::vector<Verdict> parse_verdicts(const std::string& text, std::size_t count,
                                    CancelCheck cancel = nullptr);

// --- trajc_verify(): re-checking stored pairs --------------------------------

// A stored pair and the hash of the trajectory it was compiled from.
struct StoredPair {
  std::string pair_id;
  std::string trajectory_hash;
  QaPair pair;
};

// What trajc_verify() returns for one pair.
inline constexpr const char* kSupported = "supported";
struct PairVerdict {
  std::string pair_id;
  std::string verdict;  // kSupported, reject::kUnsupported or reject::kUngrounded
  std::string reason;
};

// One session's re-check, once its verifier reply is in (or not needed).
struct SessionVerdicts {
  std::string session_id;
  std::vector<PairVerdict> verdicts;  // every pair decided; none when the call failed
  std::string error;                  // the verifier call failed: its pairs are undecided
  long tokens_in = 0, tokens_out = 0;
  double cost_usd = 0;
};

// Re-checks stored pairs session by session, with the verifier calls in
// flight at once on ModelCalls: a pair whose trajectory hash no longer
// matches the log, or whose answer the cited turns do not literally give, is
// ungrounded at once; the others of a session go to the verifier in one call.
class Reverifier {
 public:
  Reverifier(ModelEndpoint verifier, CallLimits limits, bool redact_pii, CancelCheck cancel);
  ~Reverifier();
  Reverifier(const Reverifier&) = delete;
  Reverifier& operator=(const Reverifier&) = delete;

  // Whether a session may start now (ModelCalls::admit with a typical estimate).
  ModelCalls::Admission admit() const;
  // `log` is the session as the audit log has it now (unredacted: its hash
  // is compared); a session needing no call is returned by the next wait().
  void start(const Trajectory& log, std::vector<StoredPair> pairs);
  // Drives the calls for up to max_wait_ms; returns the sessions decided.
  // Throws Error(kQueryCanceled) on cancel.
  std::vector<SessionVerdicts> wait(long max_wait_ms);
  std::size_t active() const;
  double spent_usd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trajc
