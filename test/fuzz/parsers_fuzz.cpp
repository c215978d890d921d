// libFuzzer target over every parser of untrusted input: the reply finder
// and validation, the three vendor envelopes, vendor error bodies with
// redaction and safe text, Retry-After and HTTP dates, the offline
// compiler on logs generated from the input, and the model verifier's verdicts. The first byte picks the
// parser. Besides ASan/UBSan it checks what the core promises: only
// trajc::Error escapes, and text it returns is valid, NUL-free, bounded and
// free of the key. Run by scripts/test.sh (part `fuzz`) for a fixed number of
// inputs from the seeds in test/fuzz/corpus/.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "trajc/error.hpp"
#include "trajc/model_verify.hpp"
#include "trajc/retry.hpp"
#include "trajc/offline.hpp"
#include "trajc/provider.hpp"
#include "trajc/qa.hpp"
#include "trajc/safe_text.hpp"
#include "trajc/verify.hpp"

namespace {

using namespace trajc;

const std::string kKey = "sk-fuzz_KEY-0123456789";

void require(bool ok) {
  if (!ok) std::abort();  // a broken promise is a crash libFuzzer reports
}

bool safe(const std::string& s, std::size_t max_bytes) {
  return s.size() <= max_bytes && s.find('\0') == std::string::npos && safe_text(s) == s &&
         s.find(kKey) == std::string::npos;
}

// Finder and validation, as the batch runner chains them.
void pairs_document(const std::string& text, int turn_count) {
  try {
    const Validation v = validate_pairs(extract_json(text), turn_count);
    for (const QaPair& p : v.kept) {
      require(p.supporting_turns.size() >= 2 && p.supporting_turns.front() >= 1 &&
              p.supporting_turns.back() <= turn_count);
      require(nlohmann::json::accept(p.raw_json));
    }
  } catch (const Error&) {
  }
}

void envelope(Provider p, const std::string& body) {
  try {
    const ModelReply r = parse_reply(p, body);
    require(r.tokens_in >= 0 && r.tokens_out >= 0);
    pairs_document(r.text, 12);
  } catch (const Error& e) {
    require(std::string(e.what()).size() <= kMaxErrorBytes + 64);
  }
}

void error_body(const std::string& body) {
  for (Provider p : {Provider::Gemini, Provider::OpenAI, Provider::Anthropic}) {
    require(safe(vendor_error_message(p, 401, body, kKey), kMaxErrorBytes));
    rejects_json_schema(p, 400, body);
  }
  require(redact(body + kKey, kKey).find(kKey) == std::string::npos);
  require(safe(safe_text(redact(body, kKey), 1000), 1000));
}

void retry_after(const std::string& value) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));  // 2026-01-01
  if (const auto ms = parse_retry_after(value, now)) require(*ms >= 0 && *ms <= 86400L * 1000);
  const long delay = retry_delay_ms(RetryPolicy{}, static_cast<int>(value.size()) - 3, parse_retry_after(value, now),
                                    value.empty() ? 0.5 : static_cast<unsigned char>(value[0]) / 256.0);
  require(delay >= 0 && delay <= RetryPolicy{}.max_delay_ms);
}

// A log from the input: lines are turns, tabs separate fields, "name=value";
// a value that is JSON is flagged as a json column would be.
void offline(const std::string& input) {
  Trajectory t;
  t.session_id = "fuzz-" + std::to_string(input.size());  // the wording varies by session
  std::size_t line_start = 0;
  while (line_start <= input.size() && t.turns.size() < 400) {
    std::size_t line_end = input.find('\n', line_start);
    if (line_end == std::string::npos) line_end = input.size();
    Turn turn;
    turn.number = static_cast<int>(t.turns.size()) + 1;
    // Times that differ between turns, so durations are asked too.
    const int s = static_cast<int>(t.turns.size()) * 7 % 86400;
    const auto two = [](int v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
    turn.at = "2026-01-01T" + two(s / 3600) + ":" + two(s / 60 % 60) + ":" + two(s % 60) + ".000000Z";
    std::size_t field_start = line_start;
    while (field_start <= line_end) {
      std::size_t field_end = input.find('\t', field_start);
      if (field_end == std::string::npos || field_end > line_end) field_end = line_end;
      const std::string field = input.substr(field_start, field_end - field_start);
      const std::size_t eq = field.find('=');
      Field f;
      f.name = eq == std::string::npos ? "content" : field.substr(0, eq);
      f.value = eq == std::string::npos ? field : field.substr(eq + 1);
      f.is_json = !f.value.empty() && (f.value[0] == '{' || f.value[0] == '[') && nlohmann::json::accept(f.value);
      if (f.name == "agent") turn.agent = f.value;
      turn.fields.push_back(std::move(f));
      field_start = field_end + 1;
    }
    t.turns.push_back(std::move(turn));
    line_start = line_end + 1;
  }
  try {
    const std::string reply = offline_compile(t, 5);
    require(nlohmann::json::accept(reply));
    const Validation v = validate_pairs(extract_json(reply), static_cast<int>(t.turns.size()));
    // The offline compiler's promise: every pair it writes is literally grounded.
    for (const QaPair& p : v.kept) require(verify_literal(p, t).grounded);
  } catch (const Error&) {
  }
}

// The verifier's reply for 1..4 pairs: one verdict per pair, or an Error.
void verdicts(const std::string& text) {
  for (std::size_t count = 1; count <= 4; ++count) {
    try {
      const std::vector<Verdict> v = parse_verdicts(text, count);
      require(v.size() == count);
      for (const Verdict& x : v) {
        require(safe_text(x.reason) == x.reason && x.reason.find('\0') == std::string::npos);
        require(verdict_keeps(x) == verdict_rejection(x).empty());
      }
    } catch (const Error& e) {
      require(std::string(e.what()).size() <= kMaxErrorBytes + 64);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: pairs_document(input, 12); break;
    case 1: envelope(Provider::Gemini, input); break;
    case 2: envelope(Provider::OpenAI, input); break;
    case 3: envelope(Provider::Anthropic, input); break;
    case 4: error_body(input); break;
    case 5: retry_after(input); break;
    case 6: offline(input); break;
    case 7: verdicts(input); break;
  }
  return 0;
}
