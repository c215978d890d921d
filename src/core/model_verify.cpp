// See model_verify.hpp. The prompt shows each pair with only the turns it
// cites; the parser is strict because a verdict decides whether a pair is
// stored: a reply that is not exactly one verdict per pair fails the session
// (nothing stored) rather than keep or drop pairs on a guess.
//
// Must never: read a verdict field loosely ("true" as a string, a missing
// field as false), or let a pair's number index outside the items.
#include "trajc/model_verify.hpp"

#include "trajc/error.hpp"
#include "trajc/provider.hpp"
#include "trajc/redact.hpp"
#include "trajc/safe_text.hpp"

namespace trajc {

using nlohmann::json;

namespace {

// A verdict's reason is shown to a user (trajc_verify): bounded like an error.
constexpr std::size_t kMaxReasonBytes = 500;

// The mark a cut turn ends with (verifier_prompt_bound measures it too).
std::string cut_mark(std::size_t cut, std::size_t size) {
  return "\n[... turn cut at " + std::to_string(cut) + " of " + std::to_string(size) + " bytes]";
}

// The turn's text, cut at a character boundary when it is very long: the
// verifier needs what the turn says, not megabytes of a tool's output.
std::string bounded_turn(const std::string& text) {
  if (text.size() <= kMaxVerifiedTurnChars) return text;
  std::size_t cut = kMaxVerifiedTurnChars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + cut_mark(cut, text.size());
}

// The most bounded_turn(text) can be for a text of `size` bytes.
std::size_t bounded_turn_size(std::size_t size) {
  if (size <= kMaxVerifiedTurnChars) return size;
  return kMaxVerifiedTurnChars + cut_mark(kMaxVerifiedTurnChars, size).size();
}

// What build_verifier_prompt writes around pair `number`'s own texts.
std::string pair_header(std::size_t number) { return "\n## Pair " + std::to_string(number) + "\n"; }
constexpr std::size_t kPairLabels = sizeof("Question: \nAnswer: \nCited turns:\n") - 1;

[[noreturn]] void bad_verdicts(const std::string& why) {
  throw Error(sqlstate::kExternal, "the verifier's reply is not usable: " + why);
}

bool boolean_field(const json& v, const char* name, std::size_t number) {
  auto it = v.find(name);
  if (it == v.end() || !it->is_boolean())
    bad_verdicts("verdict " + std::to_string(number) + " has no boolean \"" + name + "\"");
  return it->get<bool>();
}

}  // namespace

bool verdict_keeps(const Verdict& v) {
  return v.supported && v.needs_multiple_turns && !v.answerable_without_log;
}

std::string verdict_rejection(const Verdict& v) {
  std::string why;
  auto add = [&](const char* part) { why += (why.empty() ? "" : "; ") + std::string(part); };
  if (!v.supported) add("the cited turns do not fully support the answer");
  if (!v.needs_multiple_turns) add("one cited turn suffices");
  if (v.answerable_without_log) add("answerable without the log");
  if (!why.empty() && !v.reason.empty()) why += " (verifier: " + v.reason + ")";
  return why;
}

std::vector<VerifyItem> verify_items(const std::vector<QaPair>& pairs, const Trajectory& t) {
  std::vector<VerifyItem> items;
  items.reserve(pairs.size());
  for (const QaPair& p : pairs) items.push_back({p.question, p.answer, cited_turns(t, p.supporting_turns)});
  return items;
}

const json& verdict_schema() {
  // Every object lists all its properties as required and forbids others,
  // so OpenAI takes it in strict mode; Gemini's subset accepts it too.
  static const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "verdicts": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "pair": {"type": "integer"},
            "supported": {"type": "boolean"},
            "needs_multiple_turns": {"type": "boolean"},
            "answerable_without_log": {"type": "boolean"},
            "reason": {"type": "string"}
          },
          "required": ["pair", "supported", "needs_multiple_turns", "answerable_without_log", "reason"],
          "additionalProperties": false
        }
      }
    },
    "required": ["verdicts"],
    "additionalProperties": false
  })");
  return schema;
}

std::string build_verifier_prompt(const std::string& session_id, const std::vector<VerifyItem>& items) {
  std::string out;
  out += kVerifierMark;
  out +=
      " compiled from an AI agent's session log.\n"
      "Each pair below shows its question, its answer and only the log turns it cites.\n"
      "For every pair decide, using nothing but those turns:\n"
      "- supported: true only if the cited turns support every part of the answer;\n"
      "- needs_multiple_turns: true only if answering needs more than one of the cited turns;\n"
      "- answerable_without_log: true if the question can be answered correctly without this\n"
      "  log (general knowledge, or the question gives the answer away).\n"
      "Reply with JSON only, one verdict per pair, in this shape:\n"
      "{\"verdicts\": [{\"pair\": 1, \"supported\": true, \"needs_multiple_turns\": true,"
      " \"answerable_without_log\": false, \"reason\": \"one short sentence\"}]}\n\n";
  out += "Session: " + session_id + "\n";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const VerifyItem& item = items[i];
    out += pair_header(i + 1);
    out += "Question: " + item.question + "\n";
    out += "Answer: " + item.answer + "\n";
    out += "Cited turns:\n";
    for (const CitedTurn& turn : item.cited) out += bounded_turn(turn.text) + "\n";
  }
  return out;
}

std::size_t verifier_prompt_bound(const Trajectory& t, int max_pairs, std::size_t qa_bytes) {
  // Each turn line as build_verifier_prompt writes it, cut and newline included.
  std::size_t every_turn = 0;
  for (const Turn& turn : t.turns) every_turn += bounded_turn_size(cited_turn_text(turn).size()) + 1;
  std::size_t bytes = build_verifier_prompt(t.session_id, {}).size() + qa_bytes;
  for (int i = 1; i <= max_pairs; ++i)
    bytes += pair_header(static_cast<std::size_t>(i)).size() + kPairLabels + every_turn;
  return bytes;
}

std::vector<Verdict> parse_verdicts(const std::string& text, std::size_t count, CancelCheck cancel) {
  const json doc = extract_json(text, cancel);
  const json* list = &doc;
  if (doc.is_object()) {
    auto it = doc.find("verdicts");
    if (it == doc.end()) bad_verdicts("no \"verdicts\" array");
    list = &*it;
  }
  if (!list->is_array()) bad_verdicts("\"verdicts\" is not an array");
  if (list->size() != count)
    bad_verdicts(std::to_string(list->size()) + " verdicts for " + std::to_string(count) + " pairs");
  std::vector<Verdict> out(count);
  std::vector<bool> seen(count, false);
  for (const json& v : *list) {
    if (!v.is_object()) bad_verdicts("a verdict is not an object");
    auto pair = v.find("pair");
    if (pair == v.end() || !pair->is_number_integer())
      bad_verdicts("a verdict has no integer \"pair\"");
    const long long number = pair->get<long long>();
    if (number < 1 || static_cast<unsigned long long>(number) > count)
      bad_verdicts("a verdict names pair " + std::to_string(number) + " of " + std::to_string(count));
    const std::size_t i = static_cast<std::size_t>(number) - 1;
    if (seen[i]) bad_verdicts("pair " + std::to_string(number) + " has two verdicts");
    seen[i] = true;
    Verdict& out_v = out[i];
    out_v.supported = boolean_field(v, "supported", i + 1);
    out_v.needs_multiple_turns = boolean_field(v, "needs_multiple_turns", i + 1);
    out_v.answerable_without_log = boolean_field(v, "answerable_without_log", i + 1);
    // The reason only explains: a missing or odd one does not void the verdict.
    if (auto r = v.find("reason"); r != v.end() && r->is_string())
      out_v.reason = safe_text(r->get<std::string>(), kMaxReasonBytes);
  }
  return out;
}

namespace {

std::string literal_reason(const Grounding& g) {
  std::string why = "the cited turns do not give";
  for (std::size_t i = 0; i < g.missing.size(); ++i) why += (i ? ", " : " ") + g.missing[i];
  return why;
}

}  // namespace

struct Reverifier::Impl {
  // A session whose verifier call is in flight: its result so far (the
  // pairs decided without the model) and the pairs waiting for verdicts.
  struct Pending {
    SessionVerdicts result;
    std::vector<std::string> asked;  // pair ids, in the prompt's order
  };

  ModelEndpoint verifier;
  bool redact_pii;
  CancelCheck cancel;
  ModelCalls calls;
  std::map<std::uint64_t, Pending> pending;
  std::vector<SessionVerdicts> ready;
  std::uint64_t next_id = 1;

  Impl(ModelEndpoint v, CallLimits limits, bool redact, CancelCheck c)
      : verifier(std::move(v)), redact_pii(redact), cancel(c), calls(limits, c) {
    if (verifier.provider == Provider::Offline)
      throw Error(sqlstate::kInvalidParameter, "the verifier needs a model provider, not offline");
    check_model_name(verifier.provider, verifier.model);
  }

  void take(Pending& p, const CallResult& r) {
    SessionVerdicts& s = p.result;
    s.tokens_in += r.reply.tokens_in;
    s.tokens_out += r.reply.tokens_out;
    s.cost_usd += r.cost_usd;
    if (!r.ok) {
      s.error = r.error;
      s.verdicts.clear();
      return;
    }
    std::vector<Verdict> verdicts;
    try {
      verdicts = parse_verdicts(r.reply.text, p.asked.size(), cancel);
    } catch (const Error& e) {
      if (e.code() == sqlstate::kQueryCanceled) throw;
      s.error = e.what();
      s.verdicts.clear();
      return;
    }
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
      const bool keeps = verdict_keeps(verdicts[i]);
      s.verdicts.push_back({p.asked[i], keeps ? kSupported : reject::kUnsupported,
                            keeps ? verdicts[i].reason : verdict_rejection(verdicts[i])});
    }
  }
};

Reverifier::Reverifier(ModelEndpoint verifier, CallLimits limits, bool redact_pii, CancelCheck cancel)
    : impl_(std::make_unique<Impl>(std::move(verifier), limits, redact_pii, cancel)) {}

Reverifier::~Reverifier() = default;

ModelCalls::Admission Reverifier::admit() const {
  // A verifier call is small: a few cited turns and short verdicts.
  const double estimate = call_cost_usd(impl_->verifier.prices, 2000, 200);
  return impl_->calls.admit(estimate);
}

void Reverifier::start(const Trajectory& log, std::vector<StoredPair> pairs) {
  Impl& m = *impl_;
  Impl::Pending p;
  p.result.session_id = log.session_id;
  const std::string hash = trajectory_hash(log);
  // The pairs were compiled from the trajectory as the model saw it:
  // redacted when trajc.redact is 'pii' (the same placeholders, the same log).
  Trajectory seen = log;
  if (m.redact_pii) PiiRedactor().redact(seen);
  std::vector<QaPair> asked;
  for (StoredPair& sp : pairs) {
    if (log.turns.empty()) {
      p.result.verdicts.push_back({sp.pair_id, reject::kUngrounded, "the session is no longer in the audit log"});
      continue;
    }
    if (sp.trajectory_hash != hash) {
      p.result.verdicts.push_back({sp.pair_id, reject::kUngrounded,
                                   "the session's log changed since the pair was compiled (trajectory hash " +
                                       sp.trajectory_hash + ", now " + hash + ")"});
      continue;
    }
    const Grounding g = verify_literal(sp.pair, seen);
    if (!g.grounded) {
      p.result.verdicts.push_back({sp.pair_id, reject::kUngrounded, safe_text(literal_reason(g), kMaxErrorBytes)});
      continue;
    }
    p.asked.push_back(sp.pair_id);
    asked.push_back(std::move(sp.pair));
  }
  if (asked.empty()) {
    m.ready.push_back(std::move(p.result));
    return;
  }
  std::string prompt = build_verifier_prompt(log.session_id, verify_items(asked, seen));
  const double estimate = call_cost_usd(m.verifier.prices, static_cast<long>((prompt.size() + 3) / 4), 200);
  const std::uint64_t id = m.next_id++;
  auto [slot, inserted] = m.pending.emplace(id, std::move(p));
  try {
    m.calls.start(id, m.verifier, std::move(prompt), ReplyFormat::Verdicts, estimate);
  } catch (...) {
    m.pending.erase(slot);  // never started: must not hold a slot
    throw;
  }
}

std::vector<SessionVerdicts> Reverifier::wait(long max_wait_ms) {
  Impl& m = *impl_;
  std::vector<SessionVerdicts> out;
  out.swap(m.ready);
  if (!out.empty()) return out;
  for (const CallResult& r : m.calls.wait(max_wait_ms)) {
    auto it = m.pending.find(r.id);
    Impl::Pending p = std::move(it->second);
    m.pending.erase(it);
    m.take(p, r);
    p.result.error = safe_text(redact(std::move(p.result.error), m.verifier.api_key), kMaxErrorBytes);
    for (PairVerdict& v : p.result.verdicts) v.reason = redact(std::move(v.reason), m.verifier.api_key);
    out.push_back(std::move(p.result));
  }
  return out;
}

std::size_t Reverifier::active() const { return impl_->calls.active() + impl_->ready.size(); }

double Reverifier::spent_usd() const { return impl_->calls.spent_usd(); }

}  // namespace trajc
