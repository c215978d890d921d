// Model calls with requests in flight at once: the one engine behind
// compiling (BatchRunner, compile.hpp) and eval (EvalRunner, eval.hpp).
//
// A call is a prompt for a model endpoint and the format its reply must
// take; the engine sends it, retries 429 / 5xx / connection errors with
// backoff (Retry-After honoured), keeps to the concurrency, the rate limit
// and the cost budget, falls back from a refused JSON schema to JSON mode,
// and hands back each call's reply or error. What a reply means is the
// caller's business.
//
// Must never: interpret a reply's text, throw for one call's failure (it
// becomes that call's error; only cancel and internal errors throw), hold a
// slot for a call it could not start, or let an API key into an error.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trajc/cost.hpp"
#include "trajc/defaults.hpp"
#include "trajc/http.hpp"
#include "trajc/provider.hpp"

namespace trajc {

// Where one call goes and what it costs there.
struct ModelEndpoint {
  Provider provider = Provider::Gemini;
  std::string model;
  std::string api_key;   // never logged, never in errors
  std::string base_url;  // empty = vendor default
  Prices prices;
};

// How every call of a run is sent.
struct CallLimits {
  long timeout_ms = defaults::kTimeoutMs.value;
  int max_retries = defaults::kMaxRetries.value;
  int concurrency = defaults::kConcurrency.value;
  int max_requests_per_minute = defaults::kMaxRequestsPerMinute.value;  // 0 = unlimited
  double max_cost_usd = defaults::kMaxCostUsd.value;                    // 0 = unlimited
  std::size_t max_response_bytes = defaults::kMaxResponseBytes;
  long retry_base_delay_ms = defaults::kRetryBaseDelayMs;
};

// One finished call.
struct CallResult {
  std::uint64_t id = 0;
  bool ok = false;       // a 2xx whose body parsed: reply is valid
  ModelReply reply;      // text, tokens, truncated
  double cost_usd = 0;   // reported usage x prices (0 when no reply came)
  int http_status = 0;   // the last response's; 0 = none
  int attempts = 0;
  std::string error;     // when !ok; redacted
};

class ModelCalls {
 public:
  ModelCalls(CallLimits limits, CancelCheck cancel);
  ~ModelCalls();
  ModelCalls(const ModelCalls&) = delete;
  ModelCalls& operator=(const ModelCalls&) = delete;

  enum class Admission { Start, Wait, OverBudget };
  // Wait when every slot is busy (or the rate limiter / a 429 cooldown says
  // so); OverBudget when spent + in-flight estimates + this one would pass
  // max_cost_usd.
  Admission admit(double estimate_usd) const;
  // The budget part of admit alone: whether spent + in-flight estimates +
  // this one stay within max_cost_usd (always, when it is 0).
  bool within_budget(double estimate_usd) const;
  // Sends a call now (the caller chose its id, unique among active calls).
  void start(std::uint64_t id, const ModelEndpoint& endpoint, std::string prompt,
             ReplyFormat format, double estimate_usd);
  // Drives transfers (retries included) for up to max_wait_ms; returns the
  // calls that finished. Throws Error(kQueryCanceled) on cancel.
  std::vector<CallResult> wait(long max_wait_ms);
  std::size_t active() const;  // started and not yet returned
  int concurrency() const;
  double spent_usd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trajc
