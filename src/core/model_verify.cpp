// See model_verify.hpp. The prompt shows each pair with only the turns it
// cites; the parser is strict because a verdict decides whether a pair is
// stored: a reply that is not exactly one verdict per pair fails the session
// (nothing stored) rather than keep or drop pairs on a guess.
//
// Must never: read a verdict field loosely ("true" as a string, a missing
// field as false), or let a pair's number index outside the items.
#include "trajc/model_verify.hpp"

#include "trajc/error.hpp"
#include "trajc/safe_text.hpp"

namespace trajc {

using nlohmann::json;

namespace {

// A verdict's reason is shown to a user (trajc_verify): bounded like an error.
constexpr std::size_t kMaxReasonBytes = 500;

// The turn's text, cut at a character boundary when it is very long: the
// verifier needs what the turn says, not megabytes of a tool's output.
std::string bounded_turn(const std::string& text) {
  if (text.size() <= kMaxVerifiedTurnChars) return text;
  std::size_t cut = kMaxVerifiedTurnChars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\n[... turn cut at " + std::to_string(cut) + " of " +
         std::to_string(text.size()) + " bytes]";
}

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
    out += "\n## Pair " + std::to_string(i + 1) + "\n";
    out += "Question: " + item.question + "\n";
    out += "Answer: " + item.answer + "\n";
    out += "Cited turns:\n";
    for (const CitedTurn& turn : item.cited) out += bounded_turn(turn.text) + "\n";
  }
  return out;
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

}  // namespace trajc
