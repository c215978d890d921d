// Session compiles with concurrency, retries, rate and cost limits: the
// BatchRunner turns each session into a call of the shared engine
// (model_calls.hpp) and each finished call into the session's outcome.
//
// Must never: throw for one session's failure (it becomes that session's
// Failed outcome; only cancel and internal errors throw), hold a slot for a
// session it could not start, or keep the key in an outcome's error text.
#include "trajc/compile.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>
#include <optional>

#include "trajc/error.hpp"
#include "trajc/offline.hpp"
#include "trajc/model_calls.hpp"
#include "trajc/model_verify.hpp"
#include "trajc/redact.hpp"
#include "trajc/safe_text.hpp"

namespace trajc {

namespace {
using std::chrono::milliseconds;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int turn_count(const Trajectory& t) { return static_cast<int>(t.turns.size()); }

CompileOutcome new_outcome(const Trajectory& t, const std::string& hash) {
  CompileOutcome o;
  o.session_id = t.session_id;
  o.trajectory_hash = hash;
  o.agent = t.agent;
  o.turn_count = turn_count(t);
  o.started_unix_ms = unix_ms_now();
  return o;
}

bool is_cancel(const Error& e) { return e.code() == sqlstate::kQueryCanceled; }

// Runs one session's handling of a reply. Whatever it throws but a cancel
// (a vendor's odd JSON, a library's type_error, memory for one huge reply)
// fails this session only: the batch and its other sessions go on.
template <class Fn>
void for_this_session_only(CompileOutcome& o, Fn&& handle) {
  try {
    handle();
    return;
  } catch (const Error& e) {
    if (is_cancel(e)) throw;
    o.error = e.what();
  } catch (const std::bad_alloc&) {
    o.error = "out of memory while handling the reply";
  } catch (const std::exception& e) {
    o.error = std::string("unexpected error while handling the reply: ") + e.what();
  } catch (...) {
    o.error = "unexpected error while handling the reply";
  }
  o.status = Status::Failed;
  o.pairs.clear();
  o.quality.clear();
}

// Validates a model's text into kept and rejected pairs, checks the kept
// ones against `seen` (the trajectory as the model saw it) and sets the status.
void judge_text(CompileOutcome& o, const std::string& text, bool truncated, int max_questions,
                const Trajectory* seen, const QualitySettings& quality, CancelCheck cancel) {
  nlohmann::json doc;
  try {
    doc = extract_json(text, cancel);
  } catch (const Error& e) {
    if (is_cancel(e)) throw;
    o.status = Status::Failed;
    o.error = truncated ? "reply truncated at the model's output token limit" : e.what();
    return;
  }
  Validation v = validate_pairs(doc, o.turn_count, max_questions, cancel);
  o.quality = check_quality(v, *seen, quality);
  o.pairs = std::move(v.kept);
  o.rejected = std::move(v.rejected);
  o.status = o.pairs.empty() ? Status::Empty : Status::Ok;
}

// The last step of every outcome: every text that came from a response is
// redacted and made safe to store (valid UTF-8, no NUL, errors bounded).
void seal(CompileOutcome& o, const std::string& secret) {
  o.finished_unix_ms = unix_ms_now();
  o.error = safe_text(redact(std::move(o.error), secret), kMaxErrorBytes);
  for (QaPair& p : o.pairs) {
    for (std::string* text : {&p.question, &p.answer, &p.raw_json}) *text = safe_text(redact(std::move(*text), secret));
  }
}

// The whole call is paid for, whatever survives validation.
void pay_and_judge(CompileOutcome& o, const ModelReply& reply, double cost_usd, int max_questions,
                   const Trajectory* seen, const QualitySettings& quality, CancelCheck cancel) {
  o.tokens_in += reply.tokens_in;
  o.tokens_out += reply.tokens_out;
  o.cost_usd += cost_usd;
  judge_text(o, reply.text, reply.truncated, max_questions, seen, quality, cancel);
}
}  // namespace

Trajectory seen_by_model(const Trajectory& t, bool redact_pii, CompileOutcome& o) {
  Trajectory seen = t;
  if (!redact_pii) return seen;
  PiiRedactor redactor;  // one per session: one placeholder per value
  redactor.redact(seen);
  o.redacted = true;
  o.redactions = redactor.counts();
  return seen;
}

void judge_reply(CompileOutcome& o, const ModelReply& reply, double cost_usd, int max_questions,
                 const Trajectory* seen, const QualitySettings& quality, const std::string& secret,
                 CancelCheck cancel) {
  static const Trajectory unseen;
  QualitySettings q = quality;
  if (seen == nullptr) q.verify = VerifyMode::Off;  // nothing to check against: unverified, not ungrounded
  for_this_session_only(o, [&] {
    pay_and_judge(o, reply, cost_usd, max_questions, seen ? seen : &unseen, q, cancel);
  });
  seal(o, secret);
}

std::string source_model(const CompileSettings& s) {
  return s.provider == Provider::Offline ? "offline" : s.model;
}

std::string rejected_reasons_json(const std::map<std::string, int>& rejected) {
  return nlohmann::json(rejected).dump();
}

std::string redactions_json(const std::map<std::string, int>& redactions) {
  return nlohmann::json(redactions).dump();
}

std::string supporting_turns_json(const std::vector<int>& turns) { return nlohmann::json(turns).dump(); }

namespace {
long tokens_of(std::size_t bytes) { return static_cast<long>((bytes + 3) / 4); }  // ~4 bytes a token

// A verifier call on a prompt of `prompt_bytes` asking about `pairs` pairs:
// the reservation admission makes and the estimate the call starts with.
Estimate verifier_call(std::size_t prompt_bytes, std::size_t pairs, const Prices& prices) {
  Estimate e;
  e.tokens_in = tokens_of(prompt_bytes);
  e.cost_usd = call_cost_usd(prices, e.tokens_in, static_cast<long>(pairs) * kVerdictTokens);
  return e;
}

// The session's estimate, its compile call measured on the prompt it sends.
Estimate estimate_session(const std::string& prompt, const Trajectory& t, const CompileSettings& s) {
  Estimate e = estimate_verifier(t, s);
  const long in = tokens_of(prompt.size());
  e.tokens_in += in;
  e.cost_usd += call_cost_usd(s.prices, in, s.expected_output_tokens);
  return e;
}
}  // namespace

Estimate estimate_verifier(const Trajectory& t, const CompileSettings& s) {
  if (s.quality.verify != VerifyMode::Model || s.provider == Provider::Offline) return {};
  const int pairs = std::max(0, s.prompt.max_questions);
  // The pairs' texts come from the compile reply: as long as its expected output.
  const auto qa_bytes = static_cast<std::size_t>(std::max(0L, s.expected_output_tokens)) * 4;
  return verifier_call(verifier_prompt_bound(t, pairs, qa_bytes), static_cast<std::size_t>(pairs),
                       s.verifier.prices);
}

void prepare_request(const Trajectory& t, const CompileSettings& s, Prepared& out) {
  out.prompt.clear();
  out.estimate = {};
  if (s.provider == Provider::Offline) return;
  build_prompt_into(out.prompt, t, s.prompt);
  out.estimate = estimate_session(out.prompt, t, s);
}

Estimate estimate_compile(const Trajectory& t, const CompileSettings& s) {
  if (s.provider == Provider::Offline) return {};
  return estimate_session(build_prompt(t, s.prompt), t, s);
}

struct BatchRunner::Impl {
  // One session whose call is in flight: its compile call, or (verifying)
  // its verifier call.
  struct Pending {
    CompileOutcome outcome;
    Trajectory seen;  // as the prompt shows it (redacted): replies are verified against it
    bool verifying = false;
  };

  CompileSettings settings;
  CancelCheck cancel;
  ModelEndpoint endpoint;
  ModelCalls calls;
  std::map<std::uint64_t, Pending> pending;  // by call id
  std::vector<CompileOutcome> ready;         // offline outcomes, not yet returned by wait()
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
        cancel(cancel),
        endpoint{settings.provider, settings.model, settings.api_key, settings.base_url,
                 settings.prices},
        calls(limits_of(settings), cancel) {
    // A bad model name is the run's error, before any session starts.
    check_model_name(settings.provider, settings.model);
    if (verifies()) {
      if (settings.provider == Provider::Offline)
        throw Error(sqlstate::kInvalidParameter,
                    "trajc.verify = 'model' needs a model provider, not offline");
      check_model_name(settings.verifier.provider, settings.verifier.model);
    }
  }

  bool verifies() const { return settings.quality.verify == VerifyMode::Model; }

  // A finished call moves its session on: the compile reply is judged (the
  // whole call is paid for, whatever survives validation) and then, when
  // pairs were kept and the run verifies with a model, the verifier is
  // called; otherwise, and after the verifier's reply, the outcome is final.
  std::optional<CompileOutcome> on_call(const CallResult& r) {
    auto it = pending.find(r.id);
    Pending p = std::move(it->second);
    pending.erase(it);
    CompileOutcome& o = p.outcome;
    if (p.verifying) {
      take_verdicts(o, r);
    } else {
      o.http_status = r.http_status;
      o.attempts = r.attempts;
      if (r.ok) {
        for_this_session_only(o, [&] {
          pay_and_judge(o, r.reply, r.cost_usd, settings.prompt.max_questions, &p.seen,
                        settings.quality, cancel);
        });
      } else {
        o.status = Status::Failed;
        o.error = r.error;
      }
      if (verifies() && o.status == Status::Ok && start_verifier(p)) return std::nullopt;
    }
    seal(o, settings.api_key);
    return std::move(o);
  }

  // Sends the session's kept pairs to the verifier; the session stays
  // pending under the new call. False (the session failed) when it could
  // not be sent, or would pass trajc.max_cost_usd: admission reserved an
  // upper bound of this call with the compile's, so that happens only when
  // the compile reply cost more than its estimate; the session then fails
  // like a budget stop (nothing stored; the next run compiles it again).
  bool start_verifier(Pending& p) {
    bool started = false, over_budget = false;
    for_this_session_only(p.outcome, [&] {
      std::string prompt = build_verifier_prompt(p.outcome.session_id, verify_items(p.outcome.pairs, p.seen));
      const double estimate =
          verifier_call(prompt.size(), p.outcome.pairs.size(), settings.verifier.prices).cost_usd;
      if (!calls.within_budget(estimate)) {
        over_budget = true;
        return;
      }
      const std::uint64_t id = next_id++;
      p.verifying = true;
      auto [slot, inserted] = pending.emplace(id, std::move(p));
      try {
        calls.start(id, settings.verifier, std::move(prompt), ReplyFormat::Verdicts, estimate);
      } catch (...) {
        p = std::move(slot->second);  // never started: back to the caller, no slot held
        pending.erase(slot);
        throw;
      }
      started = true;
    });
    if (over_budget) {
      p.outcome.status = Status::Failed;
      p.outcome.error = std::string("verifier: ") + kOverBudget;
      p.outcome.pairs.clear();
      p.outcome.quality.clear();
    } else if (!started) {
      p.outcome.error = "starting the verifier: " + p.outcome.error;
    }
    return started;
  }

  // The verifier's reply: paid for, then each kept pair stays (verified_by
  // the verifier's model) or is rejected as unsupported. A failed call or an
  // unusable reply fails the session: nothing is stored unverified.
  void take_verdicts(CompileOutcome& o, const CallResult& r) {
    o.tokens_in += r.reply.tokens_in;
    o.tokens_out += r.reply.tokens_out;
    o.cost_usd += r.cost_usd;
    if (!r.ok) {
      o.http_status = r.http_status;  // the row's status and error are the failing call's
      o.status = Status::Failed;
      o.error = "verifier: " + r.error;
      o.pairs.clear();
      o.quality.clear();
      return;
    }
    for_this_session_only(o, [&] {
      const std::vector<Verdict> verdicts = parse_verdicts(r.reply.text, o.pairs.size(), cancel);
      std::vector<QaPair> kept;
      std::vector<PairQuality> quality;
      for (std::size_t i = 0; i < o.pairs.size(); ++i) {
        if (!verdict_keeps(verdicts[i])) {
          ++o.rejected[reject::kUnsupported];
          continue;
        }
        kept.push_back(std::move(o.pairs[i]));
        quality.push_back(std::move(o.quality[i]));
        quality.back().verified_by = settings.verifier.model;
      }
      o.pairs = std::move(kept);
      o.quality = std::move(quality);
      o.status = o.pairs.empty() ? Status::Empty : Status::Ok;
    });
    if (o.status == Status::Failed) o.error = "verifier: " + o.error;
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
  Prepared p;
  p.trajectory_hash = trajectory_hash(t);
  prepare_request(t, impl_->settings, p);
  p.estimate = e;
  start(t, p);
}

void BatchRunner::start(const Trajectory& t, Prepared& p) {
  Impl& m = *impl_;
  Impl::Pending job;
  // The outcome keeps the log's own hash and agent: pairs are stored beside
  // the log, on this server; only what leaves it is redacted.
  job.outcome = new_outcome(t, p.trajectory_hash);
  job.seen = seen_by_model(t, m.settings.redact_pii, job.outcome);
  if (m.settings.provider == Provider::Offline) {
    CompileOutcome& o = job.outcome;
    o.attempts = 1;
    const int max_questions = m.settings.prompt.max_questions;
    for_this_session_only(o, [&] {
      judge_text(o, offline_compile(job.seen, max_questions, m.cancel), false, max_questions,
                 &job.seen, m.settings.quality, m.cancel);
    });
    seal(o, m.settings.api_key);
    m.ready.push_back(std::move(o));
    return;
  }
  // The prepared prompt is the one to send, unless redaction changed the
  // text it shows.
  std::string prompt =
      m.settings.redact_pii ? build_prompt(job.seen, m.settings.prompt) : std::move(p.prompt);
  const std::uint64_t id = m.next_id++;
  m.pending.emplace(id, std::move(job));
  try {
    m.calls.start(id, m.endpoint, std::move(prompt), ReplyFormat::QaPairs, p.estimate.cost_usd);
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
  for (const CallResult& r : m.calls.wait(max_wait_ms)) {
    if (std::optional<CompileOutcome> o = m.on_call(r)) out.push_back(std::move(*o));
  }
  return out;
}

std::size_t BatchRunner::active() const { return impl_->calls.active() + impl_->ready.size(); }

double BatchRunner::spent_usd() const { return impl_->calls.spent_usd(); }

}  // namespace trajc
