// The three vendors' wire formats: request building, reply parsing, errors.
//
// Must never: send a request, put the key into anything but a request header
// (error text is redacted), or trust a reply's shape without checking it.
#include "trajc/provider.hpp"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trajc/ascii.hpp"
#include "trajc/defaults.hpp"
#include "trajc/error.hpp"
#include "trajc/json_guard.hpp"
#include "trajc/model_verify.hpp"
#include "trajc/qa.hpp"
#include "trajc/safe_text.hpp"

namespace trajc {

using nlohmann::json;

namespace {

// Enough for defaults::kMaxQuestions QA pairs with room to spare, and within
// every current Claude model's output limit (Anthropic requires the field).
constexpr long kAnthropicMaxTokens = 4096;
constexpr const char* kAnthropicVersion = "2023-06-01";
// How much of a non-JSON error body an error message quotes.
constexpr std::size_t kErrorSnippetChars = 300;

std::string base_or_default(Provider p, const std::string& base_url) {
  std::string base = base_url.empty() ? default_base_url(p) : base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// Percent-encodes what may not appear as is in a URL path segment (after
// check_model_name, only bytes such as non-ASCII ones are left to encode).
std::string encode_segment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (ascii::is_alnum(static_cast<char>(c)) || std::string_view("-._~:@!$&'()*+,;=").find(c) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Gemini model names come as "gemini-x" or as a resource name "models/gemini-x".
constexpr std::string_view kGeminiCollections[] = {"models/", "tunedModels/"};

std::string_view gemini_collection(const std::string& model) {
  for (std::string_view c : kGeminiCollections) {
    if (model.compare(0, c.size(), c) == 0) return c;
  }
  return {};
}

// A name that stays one path segment: curl resolves "." and ".." segments,
// and '/', '?', '#', '%' or '\\' would change the path or the query.
bool is_one_segment(std::string_view name) {
  if (name.empty() || name == "." || name.find("..") != std::string_view::npos) return false;
  return std::none_of(name.begin(), name.end(), [](char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7F || std::string_view("/?#%\\").find(ch) != std::string_view::npos;
  });
}

// Text a vendor sent, quoted in an error: valid, NUL-free, bounded.
std::string quoted_detail(const std::string& prefix, const std::string& detail) {
  return safe_text(prefix + detail, kMaxErrorBytes);
}

// Gemini's responseSchema is an OpenAPI 3.0 subset: upper-case type names,
// "nullable" instead of a null type, and unknown keywords (additionalProperties,
// $schema, ...) are rejected, so only the keywords it documents are kept.
json to_gemini_schema(const json& schema) {
  static const char* kKept[] = {"format",    "title",     "description", "nullable",  "enum",
                                "maxItems",  "minItems",  "required",    "minLength", "maxLength",
                                "pattern",   "minimum",   "maximum",     "minProperties",
                                "maxProperties", "propertyOrdering"};
  json out = json::object();
  if (!schema.is_object()) return out;
  for (const char* key : kKept) {
    if (schema.contains(key)) out[key] = schema[key];
  }
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) {
      out["type"] = ascii::upper(t->get<std::string>());
    } else if (t->is_array()) {  // ["string", "null"]
      for (const auto& alt : *t) {
        if (alt == "null") out["nullable"] = true;
        else if (alt.is_string()) out["type"] = ascii::upper(alt.get<std::string>());
      }
    }
  }
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    json converted = json::object();
    for (const auto& [name, sub] : props->items()) converted[name] = to_gemini_schema(sub);
    out["properties"] = std::move(converted);
  }
  if (auto items = schema.find("items"); items != schema.end()) out["items"] = to_gemini_schema(*items);
  if (auto any = schema.find("anyOf"); any != schema.end() && any->is_array()) {
    json converted = json::array();
    for (const auto& sub : *any) converted.push_back(to_gemini_schema(sub));
    out["anyOf"] = std::move(converted);
  }
  return out;
}

// OpenAI's strict mode only accepts schemas whose every object lists all its
// properties as required and forbids additional ones; anything else is sent
// non-strict rather than rejected.
bool strict_compatible(const json& schema) {
  if (!schema.is_object()) return true;
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    auto extra = schema.find("additionalProperties");
    if (extra == schema.end() || *extra != false) return false;
    auto req = schema.find("required");
    if (req == schema.end() || !req->is_array()) return false;
    for (const auto& [name, sub] : props->items()) {
      if (std::find(req->begin(), req->end(), name) == req->end()) return false;
      if (!strict_compatible(sub)) return false;
    }
  }
  if (auto items = schema.find("items"); items != schema.end() && !strict_compatible(*items)) return false;
  return true;
}

json parse_body(Provider p, const std::string& body, CancelPoll& poll) {
  json doc;
  const JsonRead read = read_json(body, doc, poll);
  if (read == JsonRead::TooDeep) {
    throw Error(sqlstate::kExternal, std::string(provider_name(p)) + " reply is nested deeper than " +
                                         std::to_string(kMaxJsonDepth) + " levels");
  }
  if (read != JsonRead::Ok || !doc.is_object()) {
    throw Error(sqlstate::kExternal, std::string(provider_name(p)) + " reply is not a JSON object");
  }
  return doc;
}

// No real call counts more tokens; the cap keeps sums and costs in range.
constexpr long kMaxTokenCount = 1000000000000L;

// A token count: a non-negative integer, else none (0).
long count(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_unsigned()) return 0;  // JSON's non-negative integers
  return static_cast<long>(std::min<json::number_unsigned_t>(it->get<json::number_unsigned_t>(), kMaxTokenCount));
}

// True only for a boolean true: a field of another type says nothing.
bool flag(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string string_at(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

[[noreturn]] void bad_shape(Provider p, const std::string& what) {
  throw Error(sqlstate::kExternal, std::string("unexpected ") + provider_name(p) + " reply: " + what);
}

ModelReply parse_gemini(const json& doc) {
  ModelReply r;
  if (auto usage = doc.find("usageMetadata"); usage != doc.end() && usage->is_object()) {
    r.tokens_in = count(*usage, "promptTokenCount");
    r.tokens_out = count(*usage, "candidatesTokenCount") + count(*usage, "thoughtsTokenCount");
  }
  auto cands = doc.find("candidates");
  if (cands == doc.end() || !cands->is_array() || cands->empty()) {
    if (auto fb = doc.find("promptFeedback"); fb != doc.end() && fb->is_object()) {
      throw Error(sqlstate::kExternal, quoted_detail("gemini blocked the prompt: ", string_at(*fb, "blockReason")));
    }
    bad_shape(Provider::Gemini, "no candidates");
  }
  const json& cand = cands->front();
  if (!cand.is_object()) bad_shape(Provider::Gemini, "candidate is not an object");
  r.truncated = string_at(cand, "finishReason") == "MAX_TOKENS";
  // A candidate stopped early may have no content at all: that is empty text.
  if (auto content = cand.find("content"); content != cand.end() && content->is_object()) {
    if (auto parts = content->find("parts"); parts != content->end() && parts->is_array()) {
      for (const auto& part : *parts) {
        // Thought summaries are the model's reasoning, not its answer.
        if (!part.is_object() || flag(part, "thought")) continue;
        r.text += string_at(part, "text");
      }
    }
  }
  return r;
}

ModelReply parse_openai(const json& doc) {
  ModelReply r;
  if (auto usage = doc.find("usage"); usage != doc.end() && usage->is_object()) {
    r.tokens_in = count(*usage, "prompt_tokens");
    r.tokens_out = count(*usage, "completion_tokens");  // includes reasoning tokens
  }
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty() || !choices->front().is_object()) {
    bad_shape(Provider::OpenAI, "no choices");
  }
  const json& choice = choices->front();
  r.truncated = string_at(choice, "finish_reason") == "length";
  auto msg = choice.find("message");
  if (msg == choice.end() || !msg->is_object()) bad_shape(Provider::OpenAI, "choice has no message");
  if (std::string refusal = string_at(*msg, "refusal"); !refusal.empty()) {
    throw Error(sqlstate::kExternal, quoted_detail("openai model refused: ", refusal));
  }
  r.text = string_at(*msg, "content");
  return r;
}

ModelReply parse_anthropic(const json& doc) {
  ModelReply r;
  if (auto usage = doc.find("usage"); usage != doc.end() && usage->is_object()) {
    r.tokens_in = count(*usage, "input_tokens");
    r.tokens_out = count(*usage, "output_tokens");
  }
  r.truncated = string_at(doc, "stop_reason") == "max_tokens";
  auto content = doc.find("content");
  if (content == doc.end() || !content->is_array()) bad_shape(Provider::Anthropic, "no content");
  for (const auto& block : *content) {
    if (block.is_object() && string_at(block, "type") == "text") r.text += string_at(block, "text");
  }
  return r;
}

void require_network_provider(Provider p) {
  if (p == Provider::Offline) {
    throw Error(sqlstate::kInternal, "the offline provider makes no HTTP request");
  }
}

}  // namespace

Provider parse_provider(const std::string& name) {
  const std::string n = ascii::lower(name);
  for (Provider p : kProviders) {
    if (n == provider_name(p)) return p;
  }
  throw Error(sqlstate::kInvalidParameter,
              "unknown provider \"" + name + "\" (expected gemini, openai, anthropic or offline)");
}

const char* provider_name(Provider p) {
  switch (p) {
    case Provider::Gemini: return "gemini";
    case Provider::OpenAI: return "openai";
    case Provider::Anthropic: return "anthropic";
    case Provider::Offline: return "offline";
  }
  return "unknown";
}

Provider default_provider() {
  static const Provider p = parse_provider(defaults::kProvider);
  return p;
}

std::string default_base_url(Provider p) {
  switch (p) {
    case Provider::Gemini: return "https://generativelanguage.googleapis.com";
    case Provider::OpenAI: return "https://api.openai.com";
    case Provider::Anthropic: return "https://api.anthropic.com";
    case Provider::Offline: return "";
  }
  return "";
}

// "" for offline, which needs no key.
const char* api_key_env_var(Provider p) {
  switch (p) {
    case Provider::Gemini: return "GEMINI_API_KEY";
    case Provider::OpenAI: return "OPENAI_API_KEY";
    case Provider::Anthropic: return "ANTHROPIC_API_KEY";
    case Provider::Offline: return "";
  }
  return "";
}

namespace {

// Whether text is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF), as JSON text must be.
bool is_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    if (c < 0xC2 || c > 0xF4 || end - p <= n) return false;
    const unsigned char c1 = p[1];
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F))
      return false;
    for (int i = 1; i <= n; ++i)
      if ((p[i] & 0xC0) != 0x80) return false;
    p += n + 1;
  }
  return true;
}

// Appends s as a JSON string (quotes included); s must be valid UTF-8, which
// is copied as is. Runs of plain bytes are appended at once.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s, run, std::string::npos);
  out += '"';
}

// The body as JSON text, with the prompt in `slot`. nlohmann's dump decodes
// and re-encodes every character of the prompt, which was the largest single
// cost of a compile in the backend; so the body is dumped with a marker in the
// slot and the prompt, escaped by append_json_string, replaces it. When that
// cannot be done safely (the prompt is not valid UTF-8, or the marker shows
// up anywhere else, say in a model name) the plain dump does it all.
std::string dump_with_prompt(json& body, json& slot, const std::string& prompt) {
  const std::string marker = "\x01trajc prompt\x01";
  slot = marker;
  std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string dumped = json(marker).dump();
  const std::size_t at = text.find(dumped);
  if (at == std::string::npos || text.find(dumped, at + 1) != std::string::npos || !is_utf8(prompt)) {
    slot = prompt;
    // Invalid UTF-8 in the log must not make the request unbuildable.
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(text.size() + prompt.size() + prompt.size() / 16);
  out.append(text, 0, at);
  append_json_string(out, prompt);
  out.append(text, at + dumped.size(), std::string::npos);
  return out;
}

}  // namespace

void check_model_name(Provider p, const std::string& model) {
  // OpenAI and Anthropic take the model in the body, where any name is safe
  // (and OpenAI-compatible servers name models "org/model").
  if (p != Provider::Gemini) return;
  if (!is_one_segment(std::string_view(model).substr(gemini_collection(model).size()))) {
    throw Error(sqlstate::kInvalidParameter,
                "invalid gemini model name: it must be one URL path segment, optionally after "
                "\"models/\" (no \"/\", \"..\", \"?\", \"#\", \"%\", \"\\\", spaces or control characters)");
  }
}

std::string request_body(Provider p, const std::string& model, const std::string& prompt, bool json_schema,
                         ReplyFormat reply) {
  require_network_provider(p);
  // The JSON formats' schema and name; none for free text.
  const json* schema = reply == ReplyFormat::QaPairs    ? &qa_schema()
                       : reply == ReplyFormat::Verdicts ? &verdict_schema()
                                                        : nullptr;
  const char* schema_name = reply == ReplyFormat::Verdicts ? "verdicts" : "qa_pairs";
  json body;
  json* slot = nullptr;  // where the prompt goes
  switch (p) {
    case Provider::Gemini: {
      body = {{"contents", json::array({{{"role", "user"}, {"parts", json::array({{{"text", ""}}})}}})}};
      if (schema) {
        json config = {{"responseMimeType", "application/json"}};
        if (json_schema) config["responseSchema"] = to_gemini_schema(*schema);
        body["generationConfig"] = std::move(config);
      }
      slot = &body["contents"][0]["parts"][0]["text"];
      break;
    }
    case Provider::OpenAI: {
      json format = {{"type", "json_object"}};
      if (json_schema && schema) {
        json spec = {{"name", schema_name}, {"schema", *schema}};
        if (strict_compatible(*schema)) spec["strict"] = true;
        format = {{"type", "json_schema"}, {"json_schema", std::move(spec)}};
      }
      body = {{"model", model},
              {"messages", json::array({{{"role", "user"}, {"content", ""}}})}};
      if (schema) body["response_format"] = std::move(format);
      slot = &body["messages"][0]["content"];
      break;
    }
    case Provider::Anthropic: {
      // No structured-output mode here: the prompt asks for JSON and
      // extract_json tolerates fences and prose around it.
      body = {{"model", model},
              {"max_tokens", kAnthropicMaxTokens},
              {"messages", json::array({{{"role", "user"}, {"content", ""}}})}};
      slot = &body["messages"][0]["content"];
      break;
    }
    case Provider::Offline: break;  // rejected above
  }
  return dump_with_prompt(body, *slot, prompt);
}

std::string gemini_model_path(const std::string& model) {
  check_model_name(Provider::Gemini, model);
  const std::string_view collection = gemini_collection(model);
  return std::string(collection.empty() ? "models/" : collection) +
         encode_segment(model.substr(collection.size()));
}

std::vector<std::string> auth_headers(Provider p, const std::string& api_key) {
  switch (p) {
    case Provider::Gemini: return {"x-goog-api-key: " + api_key};
    case Provider::OpenAI: return {"Authorization: Bearer " + api_key};
    case Provider::Anthropic:
      return {"x-api-key: " + api_key, std::string("anthropic-version: ") + kAnthropicVersion};
    case Provider::Offline: break;
  }
  return {};
}

std::string api_base_url(Provider p, const std::string& base_url) { return base_or_default(p, base_url); }

HttpRequest build_request(Provider p, const std::string& base_url, const std::string& model,
                          const std::string& api_key, const std::string& prompt, bool json_schema,
                          ReplyFormat reply) {
  require_network_provider(p);
  check_model_name(p, model);
  const std::string base = base_or_default(p, base_url);
  HttpRequest req;
  switch (p) {
    case Provider::Gemini: req.url = base + "/v1beta/" + gemini_model_path(model) + ":generateContent"; break;
    case Provider::OpenAI: req.url = base + "/v1/chat/completions"; break;
    case Provider::Anthropic: req.url = base + "/v1/messages"; break;
    case Provider::Offline: break;  // rejected above
  }
  req.headers = {"Content-Type: application/json", "Accept: application/json"};
  for (std::string& h : auth_headers(p, api_key)) req.headers.push_back(std::move(h));
  req.body = request_body(p, model, prompt, json_schema, reply);
  return req;
}

ModelReply parse_reply(Provider p, const std::string& body, CancelCheck cancel) {
  require_network_provider(p);
  CancelPoll poll(cancel);
  const json doc = parse_body(p, body, poll);
  switch (p) {
    case Provider::Gemini: return parse_gemini(doc);
    case Provider::OpenAI: return parse_openai(doc);
    case Provider::Anthropic: return parse_anthropic(doc);
    case Provider::Offline: break;
  }
  bad_shape(p, "unknown provider");
}

std::string vendor_error_message(Provider p, int http_status, const std::string& body,
                                 const std::string& secret) {
  std::string detail;
  // All three vendors nest the message as {"error": {"message": ...}}; a
  // body too deep to read is quoted like one that is not JSON.
  json doc;
  CancelPoll no_cancel(nullptr);  // bounded by the response size limit
  if (read_json(body, doc, no_cancel) == JsonRead::Ok && doc.is_object()) {
    if (auto err = doc.find("error"); err != doc.end()) {
      if (err->is_object()) detail = string_at(*err, "message");
      else if (err->is_string()) detail = err->get<std::string>();
    }
  }
  if (detail.empty()) {
    // Redact before cutting, so a cut cannot leave part of the key behind.
    detail = redact(body, secret);
    if (detail.size() > kErrorSnippetChars) detail = detail.substr(0, kErrorSnippetChars) + "...";
    for (char& c : detail) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
  }
  std::string msg = std::string(provider_name(p)) + " HTTP " + std::to_string(http_status);
  if (!detail.empty()) msg += ": " + detail;
  return safe_text(redact(std::move(msg), secret), kMaxErrorBytes);
}

bool rejects_json_schema(Provider p, int http_status, const std::string& body) {
  if (p != Provider::OpenAI || http_status != 400) return false;
  // Servers word it differently ("json_schema is not supported", "Invalid
  // schema for response_format", "'response_format.type' must be ..."), but a
  // 400 naming response_format is about it, and JSON mode is a cheap retry.
  const std::string b = ascii::lower(body);
  return b.find("response_format") != std::string::npos || b.find("json_schema") != std::string::npos;
}

namespace {

// One piece of text as a server may have written it: a JSON escape (\u002d,
// \/, after any number of backslashes, since JSON quoted in JSON doubles
// them), a percent-encoded byte (%2D), or plain bytes.
struct Piece {
  std::size_t length = 1;   // source bytes
  const char* bytes;        // what they stand for
  std::size_t count = 1;
  bool plain = true;        // bytes are the source bytes themselves
  char buffer[4];
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool hex_at(std::string_view s, std::size_t i, int digits, unsigned& value) {
  if (i + digits > s.size()) return false;
  value = 0;
  for (int k = 0; k < digits; ++k) {
    const int d = hex_digit(s[i + k]);
    if (d < 0) return false;
    value = value * 16 + static_cast<unsigned>(d);
  }
  return true;
}

std::size_t utf8_encode(unsigned cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  out[0] = static_cast<char>(0xE0 | (cp >> 12));
  out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[2] = static_cast<char>(0x80 | (cp & 0x3F));
  return 3;
}

Piece piece_at(std::string_view s, std::size_t i) {
  Piece p;
  p.bytes = s.data() + i;
  unsigned value = 0;
  if (s[i] == '%' && hex_at(s, i + 1, 2, value)) {
    p.buffer[0] = static_cast<char>(value);
    p.bytes = p.buffer;
    p.length = 3;
    p.plain = false;
    return p;
  }
  if (s[i] != '\\') return p;
  std::size_t j = i;
  while (j < s.size() && s[j] == '\\') ++j;
  const std::size_t slashes = j - i;
  static constexpr std::string_view kEscaped = "\"/bfnrt", kMeant = "\"/\b\f\n\r\t";
  if (j < s.size() && s[j] == 'u' && hex_at(s, j + 1, 4, value) && (value < 0xD800 || value > 0xDFFF)) {
    p.count = utf8_encode(value, p.buffer);
    p.length = slashes + 5;
  } else if (j < s.size() && kEscaped.find(s[j]) != std::string_view::npos) {
    p.buffer[0] = kMeant[kEscaped.find(s[j])];
    p.length = slashes + 1;
  } else {
    p.count = p.length = slashes;  // plain backslashes, taken at once
    return p;
  }
  p.bytes = p.buffer;
  p.plain = false;
  return p;
}

// KMP failure function: fail[k] = length of the longest proper border of secret[0..k].
std::vector<std::size_t> borders(const std::string& secret) {
  std::vector<std::size_t> fail(secret.size(), 0);
  for (std::size_t k = 1, m = 0; k < secret.size(); ++k) {
    while (m > 0 && secret[k] != secret[m]) m = fail[m - 1];
    if (secret[k] == secret[m]) ++m;
    fail[k] = m;
  }
  return fail;
}

}  // namespace

std::string redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  static const std::string kMark = "[redacted]";
  // One pass over the decoded text (KMP), so a key written in any mix of
  // plain, escaped and percent-encoded characters is found; each decoded
  // byte remembers where its piece starts, to cut the source there.
  const std::vector<std::size_t> fail = borders(secret);
  std::vector<std::size_t> starts(secret.size());  // ring: source start of the last bytes
  std::string out;
  std::size_t copied = 0;   // text[0, copied) is settled in out
  std::size_t matched = 0;  // bytes of secret matched
  std::size_t seen = 0;     // decoded bytes so far
  for (std::size_t i = 0; i < text.size();) {
    const Piece p = piece_at(text, i);
    for (std::size_t k = 0; k < p.count; ++k, ++seen) {
      const char c = p.bytes[k];
      starts[seen % secret.size()] = p.plain ? i + k : i;
      while (matched > 0 && secret[matched] != c) matched = fail[matched - 1];
      if (secret[matched] == c) ++matched;
      if (matched < secret.size()) continue;
      const std::size_t begin = starts[(seen + 1) % secret.size()];  // seen - size + 1
      out.append(text, copied, begin - copied);
      out += kMark;
      copied = p.plain ? i + k + 1 : i + p.length;
      matched = 0;
      if (!p.plain) break;  // the rest of this piece went with the key
    }
    i += p.length;
  }
  out.append(text, copied, std::string::npos);
  // Plain occurrences a decoded piece overlapped ("%de" + "adbeef..." for a
  // key "deadbeef...") are still there as written: take them too.
  for (std::size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + kMark.size())) {
    out.replace(pos, secret.size(), kMark);
  }
  return out;
}

}  // namespace trajc
