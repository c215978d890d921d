// The model providers: their names, and the three vendors' wire formats
// (the request for one prompt, the reply's text and token usage, error bodies).
//
// Must never: send anything (http.hpp does), decide on retries, or put the
// API key anywhere but the request headers (errors go through redact()).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <vector>

#include "trajc/cancel.hpp"
#include "trajc/http.hpp"

namespace trajc {

enum class Provider { Gemini, OpenAI, Anthropic, Offline };
inline constexpr Provider kProviders[] = {Provider::Gemini, Provider::OpenAI, Provider::Anthropic,
                                          Provider::Offline};
// The providers reached over the network, each with a key and a base URL.
inline constexpr Provider kNetworkProviders[] = {Provider::Gemini, Provider::OpenAI,
                                                 Provider::Anthropic};

// "gemini" | "openai" | "anthropic" | "offline"; throws Error(kInvalidParameter).
Provider parse_provider(const std::string& name);
const char* provider_name(Provider p);
// The provider named by defaults::kProvider (trajc.provider's boot value).
Provider default_provider();
std::string default_base_url(Provider p);
// Name of the environment variable holding the key when the setting is empty.
const char* api_key_env_var(Provider p);

// What a reply must be: the QA pairs' JSON or the verifier's verdicts'
// (structured output where the vendor has it), or free text (an eval
// candidate's answer, a judge's yes/no).
enum class ReplyFormat { QaPairs, Verdicts, Text };

// The JSON body of one model call for `prompt`: what build_request sends, and
// what a vendor batch job carries for each of its requests. json_schema only
// matters for the JSON formats (QaPairs, Verdicts).
std::string request_body(Provider p, const std::string& model, const std::string& prompt,
                         bool json_schema = true, ReplyFormat reply = ReplyFormat::QaPairs);
// Pieces of a vendor request that batch mode shares with the online call:
// the API root without a trailing '/', the key's headers (anthropic-version
// included), and a Gemini model as an encoded "models/x" path (refused by
// check_model_name when it would leave its segment).
std::string api_base_url(Provider p, const std::string& base_url);
std::vector<std::string> auth_headers(Provider p, const std::string& api_key);
std::string gemini_model_path(const std::string& model);
// Throws Error(kInvalidParameter) when the model name could change the
// request's path beyond its own segment (Gemini puts it in the URL: no "/"
// but a leading "models/", "..", "?", "#", "%", "\\", spaces or control
// characters). OpenAI and Anthropic send it in the body: any name is safe.
void check_model_name(Provider p, const std::string& model);

// The vendor's wire request for one prompt. json_schema=false asks for plain
// JSON mode (OpenAI-compatible servers that reject response_format schemas).
HttpRequest build_request(Provider p, const std::string& base_url, const std::string& model,
                          const std::string& api_key, const std::string& prompt,
                          bool json_schema = true, ReplyFormat reply = ReplyFormat::QaPairs);

struct ModelReply {
  std::string text;       // the model's text output
  long tokens_in = 0;
  long tokens_out = 0;    // includes thinking tokens where reported
  bool truncated = false; // stopped at max tokens
};

// Parses a 2xx body. Throws Error(kExternal) when the body is not the vendor's shape.
ModelReply parse_reply(Provider p, const std::string& body, CancelCheck cancel = nullptr);
// A readable message from a vendor error body (4xx/5xx), with `secret` redacted.
std::string vendor_error_message(Provider p, int http_status, const std::string& body,
                                 const std::string& secret);
// True when a 400 from an OpenAI-compatible server says it does not support
// response_format json_schema, so the request should be retried in JSON mode.
bool rejects_json_schema(Provider p, int http_status, const std::string& body);

// Replaces every occurrence of secret in text by "[redacted]" (no-op if
// empty), also where it is written JSON-escaped (\u002d, \/, with any number
// of backslashes) or percent-encoded (%2D), in any mix with plain characters.
std::string redact(std::string text, const std::string& secret);

}  // namespace trajc
