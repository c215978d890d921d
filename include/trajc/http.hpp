#pragma once
#include "trajc/core_guard.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trajc/cancel.hpp"
#include "trajc/provider.hpp"

namespace trajc {

// --- retry policy (pure) ---------------------------------------------------
struct RetryPolicy {
  int max_retries = 3;
  long base_delay_ms = 500;
  long max_delay_ms = 30000;
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

// --- token bucket (pure) ---------------------------------------------------
// max_per_minute requests per minute across a batch; 0 = unlimited.
class RateLimiter {
 public:
  explicit RateLimiter(int max_per_minute);
  // Milliseconds until a request may start at `now` (0 = now).
  long wait_ms(std::chrono::steady_clock::time_point now) const;
  void take(std::chrono::steady_clock::time_point now);
  // A 429's Retry-After pauses every new request until then.
  void cool_down_until(std::chrono::steady_clock::time_point until);

 private:
  void refill(std::chrono::steady_clock::time_point now) const;
  int per_minute_;
  mutable double tokens_;
  mutable std::chrono::steady_clock::time_point last_;
  std::chrono::steady_clock::time_point cooldown_until_{};
};

// --- transfers on one thread (libcurl multi) ---------------------------------
struct HttpLimits {
  long connect_timeout_ms = 10000;
  long total_timeout_ms = 120000;
  std::size_t max_response_bytes = 16u << 20;
};

struct HttpResult {
  std::uint64_t tag = 0;
  int status = 0;            // 0 = no HTTP response (see error)
  std::string body;
  std::optional<std::string> retry_after;  // raw header value
  // curl's message when status == 0, or "response larger than N bytes" (the
  // status is then kept: such an answer is not retried).
  std::string error;
};

// Many requests in flight from one thread. Not copyable; owns the curl handles.
class HttpMulti {
 public:
  HttpMulti(HttpLimits limits, CancelCheck cancel);
  ~HttpMulti();
  HttpMulti(const HttpMulti&) = delete;
  HttpMulti& operator=(const HttpMulti&) = delete;

  void add(std::uint64_t tag, const HttpRequest& req);
  // Drives transfers for up to max_wait_ms and returns the finished ones.
  // Throws Error(kQueryCanceled) as soon as cancel() returns true (checked at
  // least every 100 ms), after aborting every transfer.
  std::vector<HttpResult> poll(long max_wait_ms);
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// curl_global_init, once per process (from _PG_init or main).
void http_global_init();

}  // namespace trajc
