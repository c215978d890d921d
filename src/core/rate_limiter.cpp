// The token bucket that paces a batch's requests, and the 429 cool-down.
//
// Must never: sleep or read the clock (the caller passes `now`), or let a
// burst exceed one second's worth of requests.
#include "trajc/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace trajc {

using steady = std::chrono::steady_clock;

namespace {
// The bucket holds one second's worth of requests (at least one): a batch
// starts without a stall, yet no minute sees much more than the limit.
double bucket_capacity(int per_minute) { return std::max(1.0, per_minute / 60.0); }
}  // namespace

RateLimiter::RateLimiter(int max_per_minute)
    : per_minute_(std::max(0, max_per_minute)), tokens_(bucket_capacity(per_minute_)), last_{} {}

void RateLimiter::refill(steady::time_point now) const {
  if (last_ == steady::time_point{}) {  // first use: the bucket starts full
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - last_).count();
  tokens_ = std::min(bucket_capacity(per_minute_), tokens_ + elapsed_ms * per_minute_ / 60000.0);
  last_ = now;
}

long RateLimiter::wait_ms(steady::time_point now) const {
  long wait = 0;
  if (now < cooldown_until_) {
    wait = static_cast<long>(std::ceil(std::chrono::duration<double, std::milli>(cooldown_until_ - now).count()));
  }
  if (per_minute_ > 0) {
    refill(now);
    if (tokens_ < 1.0) {
      wait = std::max(wait, static_cast<long>(std::ceil((1.0 - tokens_) * 60000.0 / per_minute_)));
    }
  }
  return wait;
}

void RateLimiter::take(steady::time_point now) {
  if (per_minute_ == 0) return;
  refill(now);
  tokens_ -= 1.0;
}

void RateLimiter::cool_down_until(steady::time_point until) {
  cooldown_until_ = std::max(cooldown_until_, until);
}

}  // namespace trajc
