// A token bucket that paces the requests of one batch: at most N a minute,
// and a pause for everyone after a 429 with Retry-After.
//
// Must never: sleep or read the clock itself (the caller passes `now` and
// waits), or know about HTTP.
#pragma once
#include "trajc/core_guard.hpp"

#include <chrono>

namespace trajc {

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

}  // namespace trajc
