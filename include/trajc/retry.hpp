// When to send a failed request again: which failures are retried, how long
// to back off, and what a Retry-After header asks for. Pure functions.
//
// Must never: sleep, read a clock of its own or draw randomness (the caller
// passes `now` and the jitter), or know about curl or vendors.
#pragma once
#include "trajc/core_guard.hpp"

#include <chrono>
#include <optional>
#include <string>

#include "trajc/defaults.hpp"

namespace trajc {

struct RetryPolicy {
  int max_retries = defaults::kMaxRetries.value;
  long base_delay_ms = defaults::kRetryBaseDelayMs;
  long max_delay_ms = defaults::kRetryMaxDelayMs;
};

// 429, 5xx and connection errors (status 0) are retried.
bool is_retryable(int http_status);
// Delay before retry number `attempt` (1-based): exponential with full jitter
// drawn from `jitter` in [0,1), but never less than Retry-After when given.
long retry_delay_ms(const RetryPolicy& p, int attempt, std::optional<long> retry_after_ms,
                    double jitter);
// Retry-After header value: delta-seconds or an HTTP date, as milliseconds from now.
std::optional<long> parse_retry_after(const std::string& value,
                                      std::chrono::system_clock::time_point now);

}  // namespace trajc
