// The compile API: settings snapshot, one session's outcome, estimates, and
// the runner that compiles many sessions with requests in flight at once.
//
// The caller (the Postgres boundary, or a test) loads trajectories and
// stores outcomes between calls; the runner only builds prompts, talks HTTP
// with retries, rate and cost limits, and validates replies.
//
// Must never: read settings or the database itself, block longer than
// wait()'s max_wait_ms, start threads, or let the API key into an outcome.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "trajc/cost.hpp"
#include "trajc/defaults.hpp"
#include "trajc/http.hpp"
#include "trajc/model_calls.hpp"
#include "trajc/prompt.hpp"
#include "trajc/provider.hpp"
#include "trajc/qa.hpp"
#include "trajc/quality.hpp"
#include "trajc/status.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

// Everything a compile needs, snapshotted from settings before the C++ phase.
struct CompileSettings {
  Provider provider = default_provider();
  std::string model;             // resolved (tier map or trajc.model)
  std::string api_key;           // never logged, never in errors
  std::string base_url;          // empty = vendor default
  Prices prices;
  long timeout_ms = defaults::kTimeoutMs.value;
  int max_retries = defaults::kMaxRetries.value;
  int concurrency = defaults::kConcurrency.value;
  int max_requests_per_minute = defaults::kMaxRequestsPerMinute.value;  // 0 = unlimited
  double max_cost_usd = defaults::kMaxCostUsd.value;                    // 0 = unlimited
  PromptOptions prompt;
  std::size_t max_response_bytes = defaults::kMaxResponseBytes;
  long expected_output_tokens = defaults::kExpectedOutputTokens;  // for estimates
  long retry_base_delay_ms = defaults::kRetryBaseDelayMs;  // first retry's backoff ceiling; doubles per retry
  QualitySettings quality;  // literal verification, in-session near-duplicates
  // quality.verify = Model: the verifier's model (same provider, key and base
  // URL as the compile; its own model and prices), called once per session
  // whose reply kept pairs. Its tokens and cost are the session's.
  ModelEndpoint verifier;
  bool redact_pii = false;  // trajc.redact = 'pii': placeholders before any prompt is built
};

// What qa_pairs.source_model records for these settings: the model, or "offline".
std::string source_model(const CompileSettings& s);

// One session's compile attempt: what compile_log and qa_pairs record.
struct CompileOutcome {
  std::string session_id;
  std::string trajectory_hash;
  std::string agent;
  int turn_count = 0;
  Status status = Status::Failed;       // Ok, Empty or Failed (never Skipped)
  std::vector<QaPair> pairs;            // kept pairs
  std::vector<PairQuality> quality;     // one per kept pair: verified_by, fingerprint
  std::map<std::string, int> rejected;  // reason -> count
  bool redacted = false;                // the trajectory was redacted before the prompt
  std::map<std::string, int> redactions;  // kind -> replacements (when redacted)
  long tokens_in = 0, tokens_out = 0;
  double cost_usd = 0;                  // the whole call
  int http_status = 0;
  int attempts = 0;
  std::string error;                    // redacted
  std::int64_t started_unix_ms = 0, finished_unix_ms = 0;
};

// The trajectory as a prompt shows it: `t` itself, or with redact_pii a copy
// PII-redacted by one redactor of its own (so the same rows always get the
// same placeholders: a batch's collect rebuilds what its submit sent), the
// counts then recorded in o.redacted / o.redactions.
Trajectory seen_by_model(const Trajectory& t, bool redact_pii, CompileOutcome& o);

// A model's reply into a session's outcome, as every compile reads one: the
// call is paid for (its tokens, and cost_usd, which the caller prices: list
// prices online, the batch discount in batch mode), then its text is
// validated into kept and rejected pairs, the kept ones checked against
// `seen` (the trajectory as the prompt showed it; nullptr = not at hand, and
// then no literal verification: verified_by stays empty) and the status set.
// Errors are redacted of `secret`. The online runner and batch collection
// share it. Any error but a cancel fails this session only; every text is
// then redacted and made safe to store.
void judge_reply(CompileOutcome& o, const ModelReply& reply, double cost_usd, int max_questions,
                 const Trajectory* seen, const QualitySettings& quality, const std::string& secret,
                 CancelCheck cancel = nullptr);

// compile_log.rejected_reasons: {"reason": count, ...}.
std::string rejected_reasons_json(const std::map<std::string, int>& rejected);
// compile_log.redactions: {"email": 2, ...}.
std::string redactions_json(const std::map<std::string, int>& redactions);
// qa_pairs.supporting_turns: [3, 9, ...].
std::string supporting_turns_json(const std::vector<int>& turns);

// What trajc.max_cost_usd reserves for a session and stops on: a session
// not started is skipped with this text; one whose verifier call would pass
// the budget fails with "verifier: " and this text (nothing stored), so the
// next run compiles it again.
inline constexpr const char* kOverBudget = "not started: trajc.max_cost_usd reached";

// A session's estimate: its compile call and, with quality.verify = Model,
// an upper bound of its verifier call (estimate_verifier), both included.
struct Estimate {
  long tokens_in = 0;
  double cost_usd = 0;
};
Estimate estimate_compile(const Trajectory& t, const CompileSettings& s);
// The verifier call's part of a session's estimate (zero unless
// quality.verify = Model), at the verifier's prices: its prompt at most
// verifier_prompt_bound (max_questions pairs, each citing every turn, their
// texts as long as the expected compile output), kVerdictTokens a pair out.
Estimate estimate_verifier(const Trajectory& t, const CompileSettings& s);

// A session ready to start, rendered once: its hash (set by the caller, who
// needs it first to decide whether to compile at all), the prompt its request
// carries, and the estimate measured on that same prompt.
struct Prepared {
  std::string trajectory_hash;
  std::string prompt;  // empty for the offline compiler, which sends nothing
  Estimate estimate;
};
// Renders the prompt (none offline) into out.prompt and estimates from it.
void prepare_request(const Trajectory& t, const CompileSettings& s, Prepared& out);

// Runs session compiles with up to `concurrency` requests in flight on the
// calling thread. The caller loads trajectories and stores outcomes between
// calls (SPI stays on its own path); this object only redacts, builds
// prompts, talks HTTP with retries, rate and cost limits, and validates and
// verifies replies. With quality.verify = Model a session whose reply kept
// pairs makes a second call, to the verifier, before wait() returns it: its
// outcome is final only then, and a failed verifier call fails it. Its
// estimate (the session's, verifier included) is held in flight until the
// compile reply is in; the verifier call is then sent only if it fits the
// budget, else the session fails ("verifier: " + kOverBudget).
class BatchRunner {
 public:
  BatchRunner(CompileSettings s, CancelCheck cancel);
  ~BatchRunner();
  BatchRunner(const BatchRunner&) = delete;
  BatchRunner& operator=(const BatchRunner&) = delete;

  using Admission = ModelCalls::Admission;
  // Whether a session with this estimate may start now: Wait when every slot
  // is busy (or the rate limiter / a 429 cooldown says so), OverBudget when
  // spent + in-flight estimates + this one would pass max_cost_usd.
  Admission admit(const Estimate& e) const;
  // Starts a compile (offline completes at once, returned by the next wait()),
  // sending the prepared prompt (moved out of p) as it is.
  void start(const Trajectory& t, Prepared& p);
  // The same, preparing the session first (hash and prompt) with estimate e.
  void start(const Trajectory& t, const Estimate& e);
  // Drives transfers (retries included) for up to max_wait_ms; returns the
  // sessions that finished. Throws Error(kQueryCanceled) on cancel.
  std::vector<CompileOutcome> wait(long max_wait_ms);
  std::size_t active() const;   // started and not yet returned
  double spent_usd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trajc
