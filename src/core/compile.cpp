// Session compiles with concurrency, retries, rate and cost limits: the
// BatchRunner turns each session into a call of the shared engine
// (model_calls.hpp) and each finished call into the session's outcome.
//
// Must never: throw for one session's failure (it becomes that session's
// Failed outcome; only cancel and internal errors throw), hold a slot for a
// session it could not start, or keep the key in an outcome's error text.
#include "trajc/compile.hpp"

#include <chrono>

#include "trajc/error.hpp"
#include "trajc/model_calls.hpp"
#include "trajc/offline.hpp"

namespace trajc {

namespace {
using std::chrono::milliseconds;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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

}  // namespace

void judge_reply(CompileOutcome& o, const ModelReply& reply, double cost_usd, int max_questions,
                 const std::string& secret) {
  // The whole call is paid for, whatever survives validation.
  o.tokens_in += reply.tokens_in;
  o.tokens_out += reply.tokens_out;
  o.cost_usd += cost_usd;
  nlohmann::json doc;
  try {
    doc = extract_json(reply.text);
  } catch (const Error& e) {
    o.status = Status::Failed;
    o.error = reply.truncated ? "reply truncated at the model's output token limit" : redact(e.what(), secret);
    return;
  }
  Validation v = validate_pairs(doc, o.turn_count, max_questions);
  o.pairs = std::move(v.kept);
  o.rejected = std::move(v.rejected);
  o.status = o.pairs.empty() ? Status::Empty : Status::Ok;
}

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
  CompileSettings settings;
  ModelEndpoint endpoint;
  ModelCalls calls;
  // Sessions whose call is in flight, by call id.
  std::map<std::uint64_t, CompileOutcome> pending;
  std::vector<CompileOutcome> ready;  // offline outcomes, not yet returned by wait()
  std::uint64_t next_id = 1;

  static CallLimits limits_of(const CompileSettings& s) {
    CallLimits l;
    l.timeout_ms = s.timeout_ms;
    l.max_retries = s.max_retries;
    l.concurrency = s.concurrency;
    l.max_requests_per_minute = s.max_requests_per_minute;
    l.max_cost_usd = s.max_cost_usd;
    l.max_response_bytes = s.max_response_bytes;
    l.retry_base_delay_ms = s.retry_base_delay_ms;
    return l;
  }

  Impl(CompileSettings s, CancelCheck cancel)
      : settings(std::move(s)),
        endpoint{settings.provider, settings.model, settings.api_key, settings.base_url,
                 settings.prices},
        calls(limits_of(settings), cancel) {}

  // A finished call becomes its session's outcome: the whole call is paid
  // for, whatever survives validation.
  CompileOutcome outcome_of(CallResult& r) {
    auto it = pending.find(r.id);
    CompileOutcome o = std::move(it->second);
    pending.erase(it);
    o.http_status = r.http_status;
    o.attempts = r.attempts;
    if (r.ok) {
      judge_reply(o, r.reply, r.cost_usd, settings.prompt.max_questions, settings.api_key);
    } else {
      o.cost_usd = r.cost_usd;  // 0: no reply was paid for
      o.status = Status::Failed;
      o.error = r.error;
    }
    o.finished_unix_ms = unix_ms_now();
    return o;
  }
};

BatchRunner::BatchRunner(CompileSettings s, CancelCheck cancel)
    : impl_(std::make_unique<Impl>(std::move(s), cancel)) {}

BatchRunner::~BatchRunner() = default;

BatchRunner::Admission BatchRunner::admit(const Estimate& e) const {
  const Impl& m = *impl_;
  // Offline outcomes waiting to be returned hold their slot too.
  if (active() >= static_cast<std::size_t>(m.calls.concurrency())) return Admission::Wait;
  return m.calls.admit(e.cost_usd);
}

void BatchRunner::start(const Trajectory& t, const Estimate& e) {
  Impl& m = *impl_;
  CompileOutcome o = new_outcome(t);
  if (m.settings.provider == Provider::Offline) {
    o.attempts = 1;
    ModelReply reply;
    reply.text = offline_compile(t, m.settings.prompt.max_questions);
    judge_reply(o, reply, 0, m.settings.prompt.max_questions, "");
    o.finished_unix_ms = unix_ms_now();
    m.ready.push_back(std::move(o));
    return;
  }
  const std::uint64_t id = m.next_id++;
  m.pending.emplace(id, std::move(o));
  try {
    m.calls.start(id, m.endpoint, build_prompt(t, m.settings.prompt), ReplyFormat::QaPairs,
                  e.cost_usd);
  } catch (...) {
    m.pending.erase(id);  // never started: must not hold a slot
    throw;
  }
}

std::vector<CompileOutcome> BatchRunner::wait(long max_wait_ms) {
  Impl& m = *impl_;
  std::vector<CompileOutcome> out;
  out.swap(m.ready);
  if (!out.empty()) return out;
  for (CallResult& r : m.calls.wait(max_wait_ms)) out.push_back(m.outcome_of(r));
  return out;
}

std::size_t BatchRunner::active() const { return impl_->calls.active() + impl_->ready.size(); }

double BatchRunner::spent_usd() const { return impl_->calls.spent_usd(); }

}  // namespace trajc
