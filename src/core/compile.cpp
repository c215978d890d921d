// Session compiles with concurrency, retries, rate and cost limits: the
// BatchRunner drives every session's request to an outcome on one thread.
//
// Must never: throw for one session's failure (it becomes that session's
// Failed outcome; only cancel and internal errors throw), hold a slot for a
// session it could not start, or keep the key in an outcome's error text.
#include "trajc/compile.hpp"

#include <algorithm>
#include <optional>
#include <random>

#include "trajc/error.hpp"
#include "trajc/offline.hpp"
#include "trajc/rate_limiter.hpp"
#include "trajc/retry.hpp"

namespace trajc {

namespace {
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

long ms_until(steady::time_point when, steady::time_point now) {
  return std::max<long>(0, std::chrono::duration_cast<milliseconds>(when - now).count());
}

int turn_count(const Trajectory& t) { return static_cast<int>(t.turns.size()); }

CompileOutcome new_outcome(const Trajectory& t) {
  CompileOutcome o;
  o.session_id = t.session_id;
  o.trajectory_hash = trajectory_hash(t);
  o.agent = t.agent;
  o.turn_count = turn_count(t);
  o.started_unix_ms = unix_ms_now();
  return o;
}

// Validates a model's text into kept and rejected pairs and sets the status.
void judge_text(CompileOutcome& o, const std::string& text, bool truncated, int max_questions) {
  nlohmann::json doc;
  try {
    doc = extract_json(text);
  } catch (const Error& e) {
    o.status = Status::Failed;
    o.error = truncated ? "reply truncated at the model's output token limit" : e.what();
    return;
  }
  Validation v = validate_pairs(doc, o.turn_count, max_questions);
  o.pairs = std::move(v.kept);
  o.rejected = std::move(v.rejected);
  o.status = o.pairs.empty() ? Status::Empty : Status::Ok;
}
}  // namespace

std::string source_model(const CompileSettings& s) {
  return s.provider == Provider::Offline ? "offline" : s.model;
}

std::string rejected_reasons_json(const std::map<std::string, int>& rejected) {
  return nlohmann::json(rejected).dump();
}

std::string supporting_turns_json(const std::vector<int>& turns) { return nlohmann::json(turns).dump(); }

Estimate estimate_compile(const Trajectory& t, const CompileSettings& s) {
  if (s.provider == Provider::Offline) return {};
  Estimate e;
  e.tokens_in = static_cast<long>((build_prompt(t, s.prompt).size() + 3) / 4);  // ~4 bytes a token
  e.cost_usd = call_cost_usd(s.prices, e.tokens_in, s.expected_output_tokens);
  return e;
}

struct BatchRunner::Impl {
  // One session between start() and its outcome being returned.
  struct Job {
    CompileOutcome outcome;
    std::string prompt;
    double estimate_usd = 0;
    bool json_schema = true;        // structured output requested
    int retries = 0;                // retries spent out of max_retries
    std::optional<steady::time_point> retry_at;  // set while waiting to resend
  };

  CompileSettings settings;
  RetryPolicy retry;
  HttpMulti http;
  RateLimiter limiter;
  std::map<std::uint64_t, Job> jobs;  // in flight or waiting to retry
  std::vector<CompileOutcome> ready;  // finished, not yet returned by wait()
  std::uint64_t next_tag = 1;
  double spent = 0;
  // Once an OpenAI-compatible server refused a schema, later requests of this
  // batch go straight to JSON mode instead of failing once each.
  bool json_mode_only = false;
  std::mt19937_64 rng{static_cast<std::uint64_t>(steady::now().time_since_epoch().count())};

  Impl(CompileSettings s, CancelCheck cancel)
      : settings(std::move(s)),
        retry{settings.max_retries, settings.retry_base_delay_ms, RetryPolicy{}.max_delay_ms},
        http(HttpLimits{std::min(defaults::kConnectTimeoutMs, settings.timeout_ms), settings.timeout_ms,
                        settings.max_response_bytes},
             cancel),
        limiter(settings.max_requests_per_minute) {}

  void send(std::uint64_t tag, Job& job) {
    http.add(tag, build_request(settings.provider, settings.base_url, settings.model, settings.api_key,
                                job.prompt, job.json_schema));
    limiter.take(steady::now());
    job.outcome.attempts++;
    job.retry_at.reset();
  }

  void send_due_retries() {
    for (auto& [tag, job] : jobs) {
      const auto now = steady::now();
      if (job.retry_at && *job.retry_at <= now && limiter.wait_ms(now) == 0) send(tag, job);
    }
  }

  // Milliseconds until a waiting retry may be sent, if any waits.
  std::optional<long> next_retry_ms() const {
    std::optional<long> next;
    const auto now = steady::now();
    for (const auto& [tag, job] : jobs) {
      if (!job.retry_at) continue;
      const long ms = std::max(ms_until(*job.retry_at, now), limiter.wait_ms(now));
      next = next ? std::min(*next, ms) : ms;
    }
    return next;
  }

  void finish(std::map<std::uint64_t, Job>::iterator it) {
    CompileOutcome& o = it->second.outcome;
    o.finished_unix_ms = unix_ms_now();
    spent += o.cost_usd;
    ready.push_back(std::move(o));
    jobs.erase(it);
  }

  void fail(std::map<std::uint64_t, Job>::iterator it, const std::string& error) {
    it->second.outcome.status = Status::Failed;
    it->second.outcome.error = redact(error, settings.api_key);
    finish(it);
  }

  void schedule_retry(Job& job, const HttpResult& r) {
    job.retries++;
    const std::optional<long> retry_after =
        r.retry_after ? parse_retry_after(*r.retry_after, std::chrono::system_clock::now()) : std::nullopt;
    const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto now = steady::now();
    job.retry_at = now + milliseconds(retry_delay_ms(retry, job.retries, retry_after, jitter));
    // The vendor throttles the whole key, not this one session.
    if (r.status == 429 && retry_after) {
      limiter.cool_down_until(now + milliseconds(std::min(*retry_after, retry.max_delay_ms)));
    }
  }

  void on_result(const HttpResult& r) {
    auto it = jobs.find(r.tag);
    if (it == jobs.end()) return;
    Job& job = it->second;
    job.outcome.http_status = r.status;
    if (r.error.empty() && r.status >= 200 && r.status < 300) {
      on_reply(it, r.body);
      return;
    }
    if (job.json_schema && rejects_json_schema(settings.provider, r.status, r.body)) {
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
    if (!r.error.empty()) {
      fail(it, std::string(provider_name(settings.provider)) + " request failed: " + r.error);
    } else {
      fail(it, vendor_error_message(settings.provider, r.status, r.body, settings.api_key));
    }
  }

  void on_reply(std::map<std::uint64_t, Job>::iterator it, const std::string& body) {
    CompileOutcome& o = it->second.outcome;
    ModelReply reply;
    try {
      reply = parse_reply(settings.provider, body);
    } catch (const Error& e) {
      fail(it, e.what());
      return;
    }
    // The whole call is paid for, whatever survives validation.
    o.tokens_in += reply.tokens_in;
    o.tokens_out += reply.tokens_out;
    o.cost_usd += call_cost_usd(settings.prices, reply.tokens_in, reply.tokens_out);
    judge_text(o, reply.text, reply.truncated, settings.prompt.max_questions);
    o.error = redact(o.error, settings.api_key);
    finish(it);
  }

  double in_flight_estimates() const {
    double sum = 0;
    for (const auto& [tag, job] : jobs) sum += job.estimate_usd;
    return sum;
  }

  std::vector<CompileOutcome> take_ready() {
    std::vector<CompileOutcome> out;
    out.swap(ready);
    return out;
  }
};

BatchRunner::BatchRunner(CompileSettings s, CancelCheck cancel)
    : impl_(std::make_unique<Impl>(std::move(s), cancel)) {}

BatchRunner::~BatchRunner() = default;

BatchRunner::Admission BatchRunner::admit(const Estimate& e) const {
  const Impl& m = *impl_;
  if (active() >= static_cast<std::size_t>(std::max(1, m.settings.concurrency))) return Admission::Wait;
  if (m.settings.max_cost_usd > 0 && m.spent + m.in_flight_estimates() + e.cost_usd > m.settings.max_cost_usd) {
    return Admission::OverBudget;
  }
  if (m.limiter.wait_ms(steady::now()) > 0) return Admission::Wait;
  return Admission::Start;
}

void BatchRunner::start(const Trajectory& t, const Estimate& e) {
  Impl& m = *impl_;
  CompileOutcome o = new_outcome(t);
  if (m.settings.provider == Provider::Offline) {
    o.attempts = 1;
    judge_text(o, offline_compile(t, m.settings.prompt.max_questions), false, m.settings.prompt.max_questions);
    o.finished_unix_ms = unix_ms_now();
    m.ready.push_back(std::move(o));
    return;
  }
  Impl::Job job;
  job.outcome = std::move(o);
  job.prompt = build_prompt(t, m.settings.prompt);
  job.estimate_usd = e.cost_usd;
  job.json_schema = !m.json_mode_only;
  const std::uint64_t tag = m.next_tag++;
  auto it = m.jobs.emplace(tag, std::move(job)).first;
  try {
    m.send(tag, it->second);
  } catch (...) {
    m.jobs.erase(it);  // never started: must not hold a slot
    throw;
  }
}

std::vector<CompileOutcome> BatchRunner::wait(long max_wait_ms) {
  Impl& m = *impl_;
  const auto deadline = steady::now() + milliseconds(std::max(0L, max_wait_ms));
  for (;;) {
    m.send_due_retries();
    if (!m.ready.empty()) return m.take_ready();
    const auto now = steady::now();
    long slice = ms_until(deadline, now);
    if (m.jobs.empty()) {
      // Nothing in flight: wait only for the rate limiter (or a 429 cooldown)
      // to let the caller start again.
      const long blocked = m.limiter.wait_ms(now);
      if (blocked == 0) return {};
      slice = std::min(slice, blocked);
    } else if (auto next = m.next_retry_ms()) {
      slice = std::min(slice, *next);
    }
    for (const HttpResult& r : m.http.poll(slice)) m.on_result(r);
    if (!m.ready.empty()) return m.take_ready();
    if (steady::now() >= deadline) return {};
  }
}

std::size_t BatchRunner::active() const { return impl_->jobs.size() + impl_->ready.size(); }

double BatchRunner::spent_usd() const { return impl_->spent; }

}  // namespace trajc
