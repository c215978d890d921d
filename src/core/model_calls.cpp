// The call engine (model_calls.hpp): one thread, libcurl multi underneath,
// retries with backoff, a token-bucket rate limit and a cost budget.
//
// Must never: throw for one call's failure, hold a slot for a call it could
// not start, or keep the key in an error text.
#include "trajc/model_calls.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <new>
#include <optional>
#include <random>

#include "trajc/error.hpp"
#include "trajc/rate_limiter.hpp"
#include "trajc/retry.hpp"

namespace trajc {

namespace {
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

long ms_until(steady::time_point when, steady::time_point now) {
  return std::max<long>(0, std::chrono::duration_cast<milliseconds>(when - now).count());
}
}  // namespace

struct ModelCalls::Impl {
  // One call between start() and its result being returned.
  struct Job {
    ModelEndpoint endpoint;
    std::string prompt;
    ReplyFormat format = ReplyFormat::QaPairs;
    CallResult result;
    double estimate_usd = 0;
    bool json_schema = true;  // structured output requested (QaPairs, Verdicts)
    int retries = 0;          // retries spent out of max_retries
    std::optional<steady::time_point> retry_at;  // set while waiting to resend
  };

  CallLimits limits;
  CancelCheck cancel;
  RetryPolicy retry;
  HttpMulti http;
  RateLimiter limiter;
  std::map<std::uint64_t, Job> jobs;  // in flight or waiting to retry
  std::vector<CallResult> ready;      // finished, not yet returned by wait()
  double spent = 0;
  // Once an OpenAI-compatible server refused a schema, later calls of this
  // run go straight to JSON mode instead of failing once each.
  bool json_mode_only = false;
  std::mt19937_64 rng{static_cast<std::uint64_t>(steady::now().time_since_epoch().count())};

  Impl(CallLimits l, CancelCheck cancel)
      : limits(l),
        cancel(cancel),
        retry{limits.max_retries, limits.retry_base_delay_ms, RetryPolicy{}.max_delay_ms},
        http(HttpLimits{std::min(defaults::kConnectTimeoutMs, limits.timeout_ms),
                        limits.timeout_ms, limits.max_response_bytes},
             cancel),
        limiter(limits.max_requests_per_minute) {}

  void send(std::uint64_t id, Job& job) {
    const ModelEndpoint& e = job.endpoint;
    http.add(id, build_request(e.provider, e.base_url, e.model, e.api_key, job.prompt,
                               job.json_schema, job.format));
    limiter.take(steady::now());
    job.result.attempts++;
    job.retry_at.reset();
  }

  void send_due_retries() {
    for (auto& [id, job] : jobs) {
      const auto now = steady::now();
      if (job.retry_at && *job.retry_at <= now && limiter.wait_ms(now) == 0) send(id, job);
    }
  }

  // Milliseconds until a waiting retry may be sent, if any waits.
  std::optional<long> next_retry_ms() const {
    std::optional<long> next;
    const auto now = steady::now();
    for (const auto& [id, job] : jobs) {
      if (!job.retry_at) continue;
      const long ms = std::max(ms_until(*job.retry_at, now), limiter.wait_ms(now));
      next = next ? std::min(*next, ms) : ms;
    }
    return next;
  }

  void finish(std::map<std::uint64_t, Job>::iterator it) {
    CallResult& r = it->second.result;
    r.error = redact(r.error, it->second.endpoint.api_key);
    spent += r.cost_usd;
    ready.push_back(std::move(r));
    jobs.erase(it);
  }

  void fail(std::map<std::uint64_t, Job>::iterator it, const std::string& error) {
    it->second.result.ok = false;
    it->second.result.error = error;
    finish(it);
  }

  void schedule_retry(Job& job, const HttpResult& r) {
    job.retries++;
    const std::optional<long> retry_after =
        r.retry_after ? parse_retry_after(*r.retry_after, std::chrono::system_clock::now())
                      : std::nullopt;
    const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto now = steady::now();
    job.retry_at = now + milliseconds(retry_delay_ms(retry, job.retries, retry_after, jitter));
    // The vendor throttles the whole key, not this one call.
    if (r.status == 429 && retry_after)
      limiter.cool_down_until(now + milliseconds(std::min(*retry_after, retry.max_delay_ms)));
  }

  void on_result(const HttpResult& r) {
    auto it = jobs.find(r.tag);
    if (it == jobs.end()) return;
    Job& job = it->second;
    const Provider provider = job.endpoint.provider;
    job.result.http_status = r.status;
    if (r.error.empty() && r.status >= 200 && r.status < 300) {
      on_reply(it, r.body);
      return;
    }
    if (job.format != ReplyFormat::Text && job.json_schema &&
        rejects_json_schema(provider, r.status, r.body)) {
      json_mode_only = true;
      job.json_schema = false;
      job.retry_at = steady::now();  // at once, not counted as a retry
      return;
    }
    // A response that came but was refused (too large) would come again.
    const bool retryable = r.error.empty() ? is_retryable(r.status) : r.status == 0;
    if (retryable && job.retries < retry.max_retries) {
      schedule_retry(job, r);
      return;
    }
    if (!r.error.empty())
      fail(it, std::string(provider_name(provider)) + " request failed: " + r.error);
    else
      fail(it, vendor_error_message(provider, r.status, r.body, job.endpoint.api_key));
  }

  void on_reply(std::map<std::uint64_t, Job>::iterator it, const std::string& body) {
    Job& job = it->second;
    // Whatever parsing throws but a cancel (a vendor's odd JSON, a library's
    // type_error, memory for one huge reply) fails this call only.
    try {
      job.result.reply = parse_reply(job.endpoint.provider, body, cancel);
    } catch (const Error& e) {
      if (e.code() == sqlstate::kQueryCanceled) throw;
      return fail(it, e.what());
    } catch (const std::bad_alloc&) {
      return fail(it, "out of memory while reading the reply");
    } catch (const std::exception& e) {
      return fail(it, std::string("unexpected error while reading the reply: ") + e.what());
    }
    // The whole call is paid for, whatever the caller makes of its text.
    job.result.cost_usd =
        call_cost_usd(job.endpoint.prices, job.result.reply.tokens_in, job.result.reply.tokens_out);
    job.result.ok = true;
    finish(it);
  }

  double in_flight_estimates() const {
    double sum = 0;
    for (const auto& [id, job] : jobs) sum += job.estimate_usd;
    return sum;
  }
};

ModelCalls::ModelCalls(CallLimits limits, CancelCheck cancel)
    : impl_(std::make_unique<Impl>(limits, cancel)) {}

ModelCalls::~ModelCalls() = default;

ModelCalls::Admission ModelCalls::admit(double estimate_usd) const {
  const Impl& m = *impl_;
  if (active() >= static_cast<std::size_t>(concurrency())) return Admission::Wait;
  if (!within_budget(estimate_usd)) return Admission::OverBudget;
  if (m.limiter.wait_ms(steady::now()) > 0) return Admission::Wait;
  return Admission::Start;
}

bool ModelCalls::within_budget(double estimate_usd) const {
  const Impl& m = *impl_;
  return m.limits.max_cost_usd <= 0 ||
         m.spent + m.in_flight_estimates() + estimate_usd <= m.limits.max_cost_usd;
}

void ModelCalls::start(std::uint64_t id, const ModelEndpoint& endpoint, std::string prompt,
                       ReplyFormat format, double estimate_usd) {
  Impl& m = *impl_;
  Impl::Job job;
  job.endpoint = endpoint;
  job.prompt = std::move(prompt);
  job.format = format;
  job.result.id = id;
  job.estimate_usd = estimate_usd;
  job.json_schema = !m.json_mode_only;
  auto [it, inserted] = m.jobs.emplace(id, std::move(job));
  if (!inserted) throw Error(sqlstate::kInternal, "model call id used twice");
  try {
    m.send(id, it->second);
  } catch (...) {
    m.jobs.erase(it);  // never started: must not hold a slot
    throw;
  }
}

std::vector<CallResult> ModelCalls::wait(long max_wait_ms) {
  Impl& m = *impl_;
  const auto deadline = steady::now() + milliseconds(std::max(0L, max_wait_ms));
  auto take_ready = [&] {
    std::vector<CallResult> out;
    out.swap(m.ready);
    return out;
  };
  for (;;) {
    m.send_due_retries();
    if (!m.ready.empty()) return take_ready();
    const auto now = steady::now();
    long slice = ms_until(deadline, now);
    if (m.jobs.empty()) {
      // Nothing in flight: wait only for the rate limiter (or a 429
      // cooldown) to let the caller start again.
      const long blocked = m.limiter.wait_ms(now);
      if (blocked == 0) return {};
      slice = std::min(slice, blocked);
    } else if (auto next = m.next_retry_ms()) {
      slice = std::min(slice, *next);
    }
    for (const HttpResult& r : m.http.poll(slice)) m.on_result(r);
    if (!m.ready.empty()) return take_ready();
    if (steady::now() >= deadline) return {};
  }
}

std::size_t ModelCalls::active() const { return impl_->jobs.size() + impl_->ready.size(); }

int ModelCalls::concurrency() const { return std::max(1, impl_->limits.concurrency); }

double ModelCalls::spent_usd() const { return impl_->spent; }

}  // namespace trajc
