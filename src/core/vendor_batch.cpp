// Vendor batch mode: jobs in the vendors' own formats, their lifecycle
// states, and their results matched back to the requests that were sent.
// Must never: put the key into an error or a result, follow an id or URL from
// a reply to anywhere but the configured API root, or recurse over a reply.
#include "trajc/vendor_batch.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trajc/ascii.hpp"
#include "trajc/error.hpp"

namespace trajc {

using nlohmann::json;

namespace {

// Published per-job ceilings, checked 2026-11:
// - Gemini batch mode (ai.google.dev/gemini-api/docs/batch-mode): inline
//   requests suit batches whose total request size stays under 20 MB; larger
//   ones go as a JSONL input file, and a Files API file holds at most 2 GB.
//   No request-count limit is published.
// - OpenAI Batch API (platform.openai.com/docs/api-reference/batch/create):
//   the input file holds up to 50,000 requests and up to 200 MB.
// - Anthropic Message Batches (docs.claude.com .../batch-processing): up to
//   100,000 requests or 256 MB, whichever is reached first.
// Sizes are taken as decimal megabytes, the smaller reading, so a job at our
// ceiling is within theirs however they count.
constexpr std::size_t kMB = 1000 * 1000;
constexpr std::size_t kGeminiInlineBytes = 20 * kMB;
constexpr std::size_t kGeminiFileBytes = 2000 * kMB;
constexpr std::size_t kOpenAIRequests = 50000;
constexpr std::size_t kOpenAIBytes = 200 * kMB;
constexpr std::size_t kAnthropicRequests = 100000;
constexpr std::size_t kAnthropicBytes = 256 * kMB;

constexpr const char* kOpenAIEndpoint = "/v1/chat/completions";
// A job's label (Gemini's display_name, OpenAI's metadata) names it in the
// vendor's console: how an operator finds a job whose id was never recorded.
constexpr std::size_t kMaxLabelChars = 64;
// Replies nest a few levels; anything deeper is not a vendor's reply, and
// bounding it keeps later dumps (which recurse) shallow.
constexpr int kMaxJsonDepth = 64;
// How much of a vendor's text an error keeps.
constexpr std::size_t kMaxErrorChars = 500;
constexpr std::size_t kMaxIdChars = 256;
constexpr long kPollSliceMs = 1000;

// Parses without recursion and refuses documents nested deeper than
// kMaxJsonDepth (the deep part is discarded while parsing, not built).
std::optional<json> parse_bounded(std::string_view text) {
  bool too_deep = false;
  json::parser_callback_t guard = [&too_deep](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  json doc = json::parse(text.begin(), text.end(), guard, /*allow_exceptions=*/false);
  if (too_deep || doc.is_discarded()) return std::nullopt;
  return doc;
}

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* object_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}

// Counts come as JSON numbers, or (Gemini's int64) as decimal strings.
long count_at(const json& obj, const char* key) {
  if (!obj.is_object()) return -1;
  auto it = obj.find(key);
  if (it == obj.end()) return -1;
  if (it->is_number_integer()) return std::max<long>(0, it->get<long>());
  if (it->is_string()) {
    const std::string s = it->get<std::string>();
    if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stol(s);
  }
  return -1;
}

// Redacted first, so a cut cannot leave part of the key; one line.
std::string bounded(std::string text, const std::string& secret) {
  text = redact(std::move(text), secret);
  if (text.size() > kMaxErrorChars) text = text.substr(0, kMaxErrorChars) + "...";
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

bool is_id_char(char c) { return ascii::is_alnum(c) || c == '-' || c == '_' || c == '.'; }

// An id from a reply that becomes part of a URL path: a fixed prefix, then
// only characters that cannot change the path, the query or the host.
bool is_safe_id(const std::string& id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.size() > kMaxIdChars || id.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  const std::string_view rest = std::string_view(id).substr(prefix.size());
  if (rest == "." || rest == "..") return false;
  return std::all_of(rest.begin(), rest.end(), is_id_char);
}

std::string checked_id(Provider p, const std::string& id, std::string_view prefix, const char* what) {
  if (!is_safe_id(id, prefix)) {
    throw Error(sqlstate::kExternal,
                std::string(provider_name(p)) + " returned an unusable " + what + " id");
  }
  return id;
}

std::string quoted(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

// --- serialized pieces of a job -----------------------------------------------

std::string openai_line(const std::string& id, const std::string& body) {
  return "{\"custom_id\":" + quoted(id) + ",\"method\":\"POST\",\"url\":\"" + kOpenAIEndpoint +
         "\",\"body\":" + body + "}\n";
}
std::string gemini_file_line(const std::string& id, const std::string& body) {
  return "{\"key\":" + quoted(id) + ",\"request\":" + body + "}\n";
}
std::string gemini_inline_entry(const std::string& id, const std::string& body) {
  return "{\"request\":" + body + ",\"metadata\":{\"key\":" + quoted(id) + "}}";
}
std::string anthropic_entry(const std::string& id, const std::string& body) {
  return "{\"custom_id\":" + quoted(id) + ",\"params\":" + body + "}";
}

std::string gemini_inline_head(const std::string& label) {
  return "{\"batch\":{\"display_name\":" + quoted(label) + ",\"input_config\":{\"requests\":{\"requests\":[";
}
constexpr std::string_view kGeminiInlineTail = "]}}}}";
constexpr std::string_view kAnthropicHead = "{\"requests\":[";
constexpr std::string_view kAnthropicTail = "]}";

// The sizes a request adds to a job: as a file line, and as an inline entry
// (plus its separating comma when it is not the first).
struct PieceSizes {
  std::size_t file = 0;
  std::size_t inline_entry = 0;
};

PieceSizes piece_sizes(Provider p, const std::string& id, const std::string& body) {
  switch (p) {
    case Provider::OpenAI: return {openai_line(id, body).size(), 0};
    case Provider::Gemini: return {gemini_file_line(id, body).size(), gemini_inline_entry(id, body).size()};
    case Provider::Anthropic: return {0, anthropic_entry(id, body).size()};
    case Provider::Offline: break;
  }
  return {};
}

// A boundary that does not occur in the content (prompts are user text).
std::string multipart_boundary(const std::string& content) {
  std::string boundary = "trajc-batch-boundary-7f3a9c";
  for (int n = 0; content.find(boundary) != std::string::npos; ++n) {
    boundary = "trajc-batch-boundary-7f3a9c-" + std::to_string(n);
  }
  return boundary;
}

// --- reading results ---------------------------------------------------------------

std::string error_text(const json& err) {
  // {"message": ...}, or Anthropic's {"type":"error","error":{"type","message"}}.
  if (const json* inner = object_at(err, "error")) return error_text(*inner);
  std::string msg = string_at(err, "message");
  const std::string type = string_at(err, "type");
  if (msg.empty()) msg = string_at(err, "code");
  if (!type.empty() && type != "error") msg = type + (msg.empty() ? "" : ": " + msg);
  return msg.empty() ? "no error message" : msg;
}

ItemResult succeeded(Provider p, std::string id, const json& reply_doc, const std::string& secret) {
  ItemResult r;
  r.custom_id = std::move(id);
  try {
    r.reply = parse_reply(p, reply_doc.dump(-1, ' ', false, json::error_handler_t::replace));
    r.outcome = ItemOutcome::Succeeded;
  } catch (const Error& e) {
    r.outcome = ItemOutcome::Errored;
    r.error = bounded(e.what(), secret);
  }
  return r;
}

ItemResult errored(std::string id, ItemOutcome outcome, std::string message, int status = 0) {
  ItemResult r;
  r.custom_id = std::move(id);
  r.outcome = outcome;
  r.error = std::move(message);
  r.http_status = status;
  return r;
}

std::optional<ItemResult> openai_item(const json& line, const std::string& secret) {
  const std::string id = string_at(line, "custom_id");
  if (id.empty()) return std::nullopt;
  if (const json* err = object_at(line, "error")) {
    // Requests the window or a cancel cut off are reported here, not as bodies.
    const std::string code = string_at(*err, "code");
    const ItemOutcome o = code == "batch_expired"     ? ItemOutcome::Expired
                          : code == "batch_cancelled" ? ItemOutcome::Cancelled
                                                      : ItemOutcome::Errored;
    return errored(id, o, bounded("openai: " + error_text(*err), secret));
  }
  const json* response = object_at(line, "response");
  if (!response) return errored(id, ItemOutcome::Errored, "openai result has neither response nor error");
  const long status = count_at(*response, "status_code");
  const json* body = object_at(*response, "body");
  if (status >= 200 && status < 300 && body) {
    ItemResult r = succeeded(Provider::OpenAI, id, *body, secret);
    r.http_status = static_cast<int>(status);
    return r;
  }
  const int code = status < 0 || status > 999 ? 0 : static_cast<int>(status);
  const std::string text = body ? body->dump(-1, ' ', false, json::error_handler_t::replace) : "";
  return errored(id, ItemOutcome::Errored, bounded(vendor_error_message(Provider::OpenAI, code, text, secret), secret),
                 code);
}

std::optional<ItemResult> anthropic_item(const json& line, const std::string& secret) {
  const std::string id = string_at(line, "custom_id");
  const json* result = object_at(line, "result");
  if (id.empty() || !result) return std::nullopt;
  const std::string type = string_at(*result, "type");
  if (type == "succeeded") {
    if (const json* message = object_at(*result, "message")) return succeeded(Provider::Anthropic, id, *message, secret);
    return errored(id, ItemOutcome::Errored, "anthropic result has no message");
  }
  if (type == "expired") return errored(id, ItemOutcome::Expired, "anthropic: request expired before it ran");
  if (type == "canceled") return errored(id, ItemOutcome::Cancelled, "anthropic: request canceled before it ran");
  const json* err = object_at(*result, "error");
  return errored(id, ItemOutcome::Errored,
                 bounded("anthropic: " + (err ? error_text(*err) : "result type " + type), secret));
}

// A Gemini result: {"response": GenerateContentResponse} or {"error"|"status": Status}.
ItemResult gemini_item(std::string id, const json& entry, const std::string& secret) {
  if (const json* response = object_at(entry, "response")) {
    return succeeded(Provider::Gemini, std::move(id), *response, secret);
  }
  const json* err = object_at(entry, "error");
  if (!err) err = object_at(entry, "status");
  return errored(std::move(id), ItemOutcome::Errored,
                 bounded("gemini: " + (err ? error_text(*err) : "result has neither response nor error"), secret));
}

// Gemini nests the output in the operation's response (or, read as a batch
// resource, in metadata.output / output).
const json* gemini_output(const json& doc) {
  if (const json* r = object_at(doc, "response")) return r;
  if (const json* m = object_at(doc, "metadata")) {
    if (const json* o = object_at(*m, "output")) return o;
  }
  return object_at(doc, "output");
}

// inlinedResponses as a list, whether wrapped ({"inlinedResponses": [..]}) or not.
const json* gemini_inlined(const json& output) {
  auto it = output.find("inlinedResponses");
  if (it == output.end()) return nullptr;
  if (it->is_array()) return &*it;
  if (it->is_object()) {
    auto inner = it->find("inlinedResponses");
    if (inner != it->end() && inner->is_array()) return &*inner;
  }
  return nullptr;
}

BatchState gemini_state(const std::string& word, bool done, bool has_error) {
  // The REST resource says BATCH_STATE_*, the SDKs' job view JOB_STATE_*.
  std::string s = word;
  for (const char* prefix : {"BATCH_STATE_", "JOB_STATE_"}) {
    if (s.rfind(prefix, 0) == 0) s = s.substr(std::string_view(prefix).size());
  }
  if (s == "SUCCEEDED" || s == "PARTIALLY_SUCCEEDED") return BatchState::Ended;
  if (s == "FAILED") return BatchState::Failed;
  if (s == "CANCELLED") return BatchState::Cancelled;
  if (s == "CANCELLING") return BatchState::Cancelling;
  if (s == "EXPIRED") return BatchState::Expired;
  if (s == "RUNNING") return BatchState::Running;
  if (s == "PENDING" || s == "QUEUED" || s == "PAUSED" || s == "UNSPECIFIED") {
    if (!done) return BatchState::Pending;
  }
  // An unknown word: trust the operation's own done flag.
  if (done) return has_error ? BatchState::Failed : BatchState::Ended;
  return BatchState::Running;
}

BatchStatus parse_gemini_status(const json& doc, const std::string& secret) {
  BatchStatus s;
  const json* meta = object_at(doc, "metadata");
  const json& batch = meta ? *meta : doc;
  std::string name = string_at(doc, "name");
  if (name.empty()) name = string_at(batch, "name");
  s.remote_id = checked_id(Provider::Gemini, name, "batches/", "batch");
  s.vendor_state = string_at(batch, "state");
  const bool done = doc.is_object() && doc.value("done", false);
  const json* err = object_at(doc, "error");
  s.state = gemini_state(s.vendor_state, done, err != nullptr);
  if (err) s.error = bounded("gemini: " + error_text(*err), secret);
  if (const json* stats = object_at(batch, "batchStats")) {
    s.requests_total = count_at(*stats, "requestCount");
    s.requests_succeeded = count_at(*stats, "successfulRequestCount");
    s.requests_failed = count_at(*stats, "failedRequestCount");
  }
  if (s.state == BatchState::Ended) {
    if (const json* output = gemini_output(doc)) {
      const std::string file = string_at(*output, "responsesFile");
      if (!file.empty()) s.result_sources.push_back(checked_id(Provider::Gemini, file, "files/", "result file"));
      s.results_inline = gemini_inlined(*output) != nullptr;
    }
  }
  return s;
}

BatchState openai_state(const std::string& word) {
  if (word == "validating") return BatchState::Pending;
  if (word == "in_progress") return BatchState::Running;
  if (word == "finalizing") return BatchState::Finalizing;
  if (word == "completed") return BatchState::Ended;
  if (word == "failed") return BatchState::Failed;
  if (word == "expired") return BatchState::Expired;
  if (word == "cancelling") return BatchState::Cancelling;
  if (word == "cancelled") return BatchState::Cancelled;
  throw Error(sqlstate::kExternal, "openai batch has an unknown status");
}

BatchStatus parse_openai_status(const json& doc, const std::string& secret) {
  BatchStatus s;
  s.remote_id = checked_id(Provider::OpenAI, string_at(doc, "id"), "", "batch");
  s.vendor_state = string_at(doc, "status");
  s.state = openai_state(s.vendor_state);
  if (const json* counts = object_at(doc, "request_counts")) {
    s.requests_total = count_at(*counts, "total");
    s.requests_succeeded = count_at(*counts, "completed");
    s.requests_failed = count_at(*counts, "failed");
  }
  if (const json* errors = object_at(doc, "errors")) {
    auto data = errors->find("data");
    if (data != errors->end() && data->is_array() && !data->empty()) {
      s.error = bounded("openai: " + error_text(data->front()), secret);
    }
  }
  // Expired and cancelled jobs keep what they finished.
  if (is_final(s.state) && s.state != BatchState::Failed) {
    for (const char* key : {"output_file_id", "error_file_id"}) {
      const std::string file = string_at(doc, key);
      if (!file.empty()) s.result_sources.push_back(checked_id(Provider::OpenAI, file, "", "file"));
    }
  }
  return s;
}

BatchStatus parse_anthropic_status(const json& doc, const std::string& base) {
  BatchStatus s;
  s.remote_id = checked_id(Provider::Anthropic, string_at(doc, "id"), "", "batch");
  s.vendor_state = string_at(doc, "processing_status");
  if (s.vendor_state == "in_progress") s.state = BatchState::Running;
  else if (s.vendor_state == "canceling") s.state = BatchState::Cancelling;
  else if (s.vendor_state == "ended") s.state = BatchState::Ended;
  else throw Error(sqlstate::kExternal, "anthropic batch has an unknown processing_status");
  if (const json* counts = object_at(doc, "request_counts")) {
    const long ok = count_at(*counts, "succeeded");
    s.requests_succeeded = ok;
    long failed = 0, total = std::max<long>(0, ok);
    for (const char* key : {"errored", "canceled", "expired"}) failed += std::max<long>(0, count_at(*counts, key));
    total += failed + std::max<long>(0, count_at(*counts, "processing"));
    s.requests_failed = failed;
    s.requests_total = total;
  }
  if (s.state == BatchState::Ended) {
    // The key goes wherever this URL points: only to the configured API.
    const std::string url = string_at(doc, "results_url");
    if (url.empty()) throw Error(sqlstate::kExternal, "anthropic batch ended without a results_url");
    if (url.rfind(base + "/", 0) != 0 || url.find_first_of(" \r\n#") != std::string::npos) {
      throw Error(sqlstate::kExternal, "anthropic results_url is not under the configured API base URL");
    }
    s.result_sources.push_back(url);
  }
  return s;
}

[[noreturn]] void refused(Provider p, const HttpResult& r, const std::string& secret) {
  if (!r.error.empty()) {
    throw Error(sqlstate::kExternal, bounded(std::string(provider_name(p)) + " request failed: " + r.error, secret));
  }
  throw Error(sqlstate::kExternal, bounded(vendor_error_message(p, r.status, r.body, secret), secret));
}

json reply_object(Provider p, const HttpResult& r, const std::string& secret) {
  if (!r.error.empty() || r.status < 200 || r.status > 299) refused(p, r, secret);
  std::optional<json> doc = parse_bounded(r.body);
  if (!doc || !doc->is_object()) {
    throw Error(sqlstate::kExternal, std::string(provider_name(p)) + " batch reply is not a JSON object");
  }
  return std::move(*doc);
}

}  // namespace

// --- limits and building ------------------------------------------------------------

BatchLimits vendor_batch_limits(Provider p) {
  switch (p) {
    case Provider::Gemini:
      return {std::numeric_limits<std::size_t>::max(), kGeminiFileBytes, kGeminiInlineBytes};
    case Provider::OpenAI: return {kOpenAIRequests, kOpenAIBytes, 0};
    case Provider::Anthropic: return {kAnthropicRequests, kAnthropicBytes, 0};
    case Provider::Offline: break;
  }
  throw Error(sqlstate::kInvalidParameter, "the offline provider has no batch mode");
}

bool is_valid_custom_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c != '.' && is_id_char(c); });
}

const char* batch_state_name(BatchState s) {
  switch (s) {
    case BatchState::Pending: return "pending";
    case BatchState::Running: return "running";
    case BatchState::Finalizing: return "finalizing";
    case BatchState::Cancelling: return "cancelling";
    case BatchState::Ended: return "ended";
    case BatchState::Failed: return "failed";
    case BatchState::Expired: return "expired";
    case BatchState::Cancelled: return "cancelled";
  }
  return "unknown";
}

bool is_final(BatchState s) {
  return s == BatchState::Ended || s == BatchState::Failed || s == BatchState::Expired ||
         s == BatchState::Cancelled;
}

const char* item_outcome_name(ItemOutcome o) {
  switch (o) {
    case ItemOutcome::Succeeded: return "succeeded";
    case ItemOutcome::Errored: return "errored";
    case ItemOutcome::Expired: return "expired";
    case ItemOutcome::Cancelled: return "cancelled";
  }
  return "unknown";
}

BatchJobBuilder::BatchJobBuilder(Provider p, std::string model, BatchLimits limits, bool json_schema)
    : provider_(p), model_(std::move(model)), limits_(limits), json_schema_(json_schema) {
  if (p == Provider::Offline) throw Error(sqlstate::kInvalidParameter, "the offline provider has no batch mode");
}

bool BatchJobBuilder::add(const std::string& custom_id, const std::string& prompt) {
  if (!is_valid_custom_id(custom_id)) {
    throw Error(sqlstate::kInvalidParameter, "batch custom_id must be 1 to 64 of A-Z a-z 0-9 _ -");
  }
  if (seen_.count(custom_id)) throw Error(sqlstate::kInvalidParameter, "batch custom_id repeated: " + custom_id);
  std::string body = request_body(provider_, model_, prompt, json_schema_);
  const PieceSizes piece = piece_sizes(provider_, custom_id, body);
  const std::size_t file = file_bytes_ + piece.file;
  std::size_t inline_total = inline_bytes_ + piece.inline_entry + (ids_.empty() ? 0 : 1);
  if (ids_.empty()) {
    inline_total += provider_ == Provider::Anthropic ? kAnthropicHead.size() + kAnthropicTail.size()
                                                     : gemini_inline_head(std::string(kMaxLabelChars, 'x')).size() +
                                                           kGeminiInlineTail.size();
  }
  // Anthropic sends the job as one create body; the others as a file.
  const std::size_t payload = provider_ == Provider::Anthropic ? inline_total : file;
  if (ids_.size() + 1 > limits_.max_requests || payload > limits_.max_bytes) {
    if (ids_.empty()) {
      throw Error(sqlstate::kInvalidParameter,
                  "one batch request of " + std::to_string(payload) + " bytes exceeds the " +
                      provider_name(provider_) + " job limit of " + std::to_string(limits_.max_bytes) + " bytes");
    }
    return false;
  }
  ids_.push_back(custom_id);
  bodies_.push_back(std::move(body));
  seen_.insert(custom_id);
  file_bytes_ = file;
  inline_bytes_ = inline_total;
  return true;
}

BatchJob BatchJobBuilder::take(const std::string& label) {
  if (!is_valid_custom_id(label) || label.size() > kMaxLabelChars) {
    throw Error(sqlstate::kInvalidParameter, "batch job label must be 1 to 64 of A-Z a-z 0-9 _ -");
  }
  BatchJob job;
  job.provider = provider_;
  job.model = model_;
  job.label = label;
  switch (provider_) {
    case Provider::OpenAI: job.as_file = true; break;
    case Provider::Gemini: job.as_file = inline_bytes_ > limits_.max_inline_bytes; break;
    case Provider::Anthropic:
    case Provider::Offline: job.as_file = false; break;
  }
  job.payload.reserve(job.as_file ? file_bytes_ : inline_bytes_);
  if (!job.as_file) {
    job.payload = provider_ == Provider::Anthropic ? std::string(kAnthropicHead) : gemini_inline_head(label);
  }
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    const std::string& id = ids_[i];
    std::string& body = bodies_[i];
    if (provider_ == Provider::OpenAI) {
      job.payload += openai_line(id, body);
    } else if (provider_ == Provider::Gemini && job.as_file) {
      job.payload += gemini_file_line(id, body);
    } else {
      if (i > 0) job.payload += ',';
      job.payload += provider_ == Provider::Anthropic ? anthropic_entry(id, body) : gemini_inline_entry(id, body);
    }
    std::string().swap(body);  // each prompt is held once at a time
  }
  if (!job.as_file) job.payload += provider_ == Provider::Anthropic ? kAnthropicTail : kGeminiInlineTail;
  job.custom_ids = std::move(ids_);
  ids_.clear();
  bodies_.clear();
  file_bytes_ = inline_bytes_ = 0;
  return job;
}

// --- requests and replies --------------------------------------------------------------

VendorBatchApi::VendorBatchApi(VendorAccount account)
    : account_(std::move(account)), base_(api_base_url(account_.provider, account_.base_url)) {
  if (account_.provider == Provider::Offline) {
    throw Error(sqlstate::kInvalidParameter, "the offline provider has no batch mode");
  }
}

namespace {
HttpRequest vendor_request(const VendorAccount& a, std::string url, std::string method) {
  HttpRequest req;
  req.url = std::move(url);
  req.method = std::move(method);
  req.headers = {"Accept: application/json"};
  for (std::string& h : auth_headers(a.provider, a.api_key)) req.headers.push_back(std::move(h));
  return req;
}
}  // namespace

HttpRequest VendorBatchApi::upload_request(const BatchJob& job) const {
  const Provider p = account_.provider;
  if (!job.as_file || p == Provider::Anthropic) {
    throw Error(sqlstate::kInternal, "this batch job has no file to upload");
  }
  const std::string boundary = multipart_boundary(job.payload);
  HttpRequest req;
  if (p == Provider::OpenAI) {
    // POST /v1/files, multipart/form-data with purpose=batch and the file.
    req = vendor_request(account_, base_ + "/v1/files", "POST");
    req.headers.push_back("Content-Type: multipart/form-data; boundary=" + boundary);
    req.body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--" + boundary +
               "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"trajc-batch.jsonl\"\r\n"
               "Content-Type: application/jsonl\r\n\r\n";
  } else {
    // The Files API's multipart upload: the file's metadata, then its bytes.
    req = vendor_request(account_, base_ + "/upload/v1beta/files", "POST");
    req.headers.push_back("X-Goog-Upload-Protocol: multipart");
    req.headers.push_back("Content-Type: multipart/related; boundary=" + boundary);
    req.body = "--" + boundary +
               "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
               "{\"file\":{\"display_name\":\"trajc-batch.jsonl\",\"mime_type\":\"application/jsonl\"}}\r\n--" +
               boundary + "\r\nContent-Type: application/jsonl\r\n\r\n";
  }
  req.body.reserve(req.body.size() + job.payload.size() + boundary.size() + 8);
  req.body += job.payload;
  req.body += "\r\n--" + boundary + "--\r\n";
  return req;
}

std::string VendorBatchApi::parse_upload(const HttpResult& r) const {
  const Provider p = account_.provider;
  const json doc = reply_object(p, r, account_.api_key);
  if (p == Provider::Gemini) {
    const json* file = object_at(doc, "file");
    return checked_id(p, file ? string_at(*file, "name") : "", "files/", "file");
  }
  return checked_id(p, string_at(doc, "id"), "", "file");
}

HttpRequest VendorBatchApi::create_request(const BatchJob& job, const std::string& file_id) const {
  const Provider p = account_.provider;
  if (job.provider != p) throw Error(sqlstate::kInternal, "batch job built for another provider");
  HttpRequest req;
  switch (p) {
    case Provider::Gemini:
      req = vendor_request(account_, base_ + "/v1beta/" + gemini_model_path(job.model) + ":batchGenerateContent",
                           "POST");
      req.body = !job.as_file ? job.payload
                              : "{\"batch\":{\"display_name\":" + quoted(job.label) +
                                    ",\"input_config\":{\"file_name\":" +
                                    quoted(checked_id(p, file_id, "files/", "file")) + "}}}";
      break;
    case Provider::OpenAI:
      req = vendor_request(account_, base_ + "/v1/batches", "POST");
      req.body = json{{"input_file_id", checked_id(p, file_id, "", "file")},
                      {"endpoint", kOpenAIEndpoint},
                      {"completion_window", "24h"},
                      {"metadata", {{"trajc_job", job.label}}}}
                     .dump();
      break;
    case Provider::Anthropic:
      req = vendor_request(account_, base_ + "/v1/messages/batches", "POST");
      req.body = job.payload;
      break;
    case Provider::Offline: break;
  }
  req.headers.push_back("Content-Type: application/json");
  return req;
}

HttpRequest VendorBatchApi::poll_request(const std::string& remote_id) const {
  const Provider p = account_.provider;
  switch (p) {
    case Provider::Gemini:
      return vendor_request(account_, base_ + "/v1beta/" + checked_id(p, remote_id, "batches/", "batch"), "GET");
    case Provider::OpenAI:
      return vendor_request(account_, base_ + "/v1/batches/" + checked_id(p, remote_id, "", "batch"), "GET");
    case Provider::Anthropic:
      return vendor_request(account_, base_ + "/v1/messages/batches/" + checked_id(p, remote_id, "", "batch"), "GET");
    case Provider::Offline: break;
  }
  throw Error(sqlstate::kInternal, "no batch mode for this provider");
}

BatchStatus VendorBatchApi::parse_status(const HttpResult& r) const {
  const json doc = reply_object(account_.provider, r, account_.api_key);
  switch (account_.provider) {
    case Provider::Gemini: return parse_gemini_status(doc, account_.api_key);
    case Provider::OpenAI: return parse_openai_status(doc, account_.api_key);
    case Provider::Anthropic: return parse_anthropic_status(doc, base_);
    case Provider::Offline: break;
  }
  throw Error(sqlstate::kInternal, "no batch mode for this provider");
}

bool vendor_lists_labels(Provider p) { return p == Provider::Gemini || p == Provider::OpenAI; }

HttpRequest VendorBatchApi::list_request(const std::string& page_token) const {
  const Provider p = account_.provider;
  if (!vendor_lists_labels(p)) {
    throw Error(sqlstate::kInvalidParameter, std::string(provider_name(p)) + " batches carry no label to find them by");
  }
  // A token is the vendor's own text: percent-encoded into the query.
  std::string token;
  for (unsigned char c : page_token) {
    static const char kHex[] = "0123456789ABCDEF";
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_' || c == '.' || c == '~') {
      token += static_cast<char>(c);
    } else {
      token += '%';
      token += kHex[c >> 4];
      token += kHex[c & 15];
    }
  }
  if (p == Provider::Gemini) {
    return vendor_request(account_, base_ + "/v1beta/batches?pageSize=100" + (token.empty() ? "" : "&pageToken=" + token),
                          "GET");
  }
  return vendor_request(account_, base_ + "/v1/batches?limit=100" + (token.empty() ? "" : "&after=" + token), "GET");
}

BatchListPage VendorBatchApi::parse_list(const HttpResult& r) const {
  const Provider p = account_.provider;
  const json doc = reply_object(p, r, account_.api_key);
  BatchListPage page;
  auto entries = doc.find(p == Provider::Gemini ? "operations" : "data");
  if (entries != doc.end() && entries->is_array()) {
    for (const json& e : *entries) {
      std::string label, id;
      if (p == Provider::Gemini) {
        const json* meta = object_at(e, "metadata");
        label = meta ? string_at(*meta, "displayName") : "";
        id = string_at(e, "name");
      } else {
        const json* meta = object_at(e, "metadata");
        label = meta ? string_at(*meta, "trajc_job") : "";
        id = string_at(e, "id");
      }
      if (label.empty() || !is_safe_id(id, p == Provider::Gemini ? "batches/" : "")) continue;
      page.jobs.emplace_back(std::move(label), std::move(id));
    }
  }
  if (p == Provider::Gemini) {
    page.next_page = string_at(doc, "nextPageToken");
  } else if (doc.value("has_more", false)) {
    page.next_page = string_at(doc, "last_id");
  }
  return page;
}

std::vector<HttpRequest> VendorBatchApi::result_requests(const BatchStatus& s) const {
  const Provider p = account_.provider;
  std::vector<HttpRequest> out;
  for (const std::string& source : s.result_sources) {
    HttpRequest req;
    switch (p) {
      case Provider::Gemini:
        req = vendor_request(account_,
                             base_ + "/download/v1beta/" + checked_id(p, source, "files/", "file") + ":download?alt=media",
                             "GET");
        break;
      case Provider::OpenAI:
        req = vendor_request(account_, base_ + "/v1/files/" + checked_id(p, source, "", "file") + "/content", "GET");
        break;
      case Provider::Anthropic:
        if (source.rfind(base_ + "/", 0) != 0) {
          throw Error(sqlstate::kExternal, "anthropic results_url is not under the configured API base URL");
        }
        req = vendor_request(account_, source, "GET");
        break;
      case Provider::Offline: break;
    }
    req.headers.front() = "Accept: */*";  // JSONL, not JSON
    out.push_back(std::move(req));
  }
  return out;
}

// --- results ----------------------------------------------------------------------------

BatchResults::BatchResults(Provider p, std::vector<std::string> custom_ids, std::string secret)
    : provider_(p), ids_(std::move(custom_ids)), secret_(std::move(secret)) {
  results_.resize(ids_.size());
  for (std::size_t i = 0; i < ids_.size(); ++i) index_.emplace(ids_[i], i);
}

void BatchResults::take(ItemResult r) {
  const auto it = index_.find(r.custom_id);
  if (it == index_.end()) {
    ++unmatched_;
    return;
  }
  auto& slot = results_[it->second];
  if (!slot) slot = std::make_unique<ItemResult>(std::move(r));  // the first answer for an id counts
}

void BatchResults::add_body(const std::string& body) {
  // A Gemini poll reply with inline responses is one JSON object; every other
  // result body is JSONL.
  if (provider_ == Provider::Gemini) {
    std::optional<json> doc = parse_bounded(body);
    if (doc && doc->is_object()) {
      if (const json* output = gemini_output(*doc)) {
        if (const json* inlined = gemini_inlined(*output)) {
          std::size_t position = 0;
          for (const json& entry : *inlined) {
            const json* meta = object_at(entry, "metadata");
            std::string key = meta ? string_at(*meta, "key") : "";
            // Without a key, responses come in request order.
            if (key.empty() && position < ids_.size()) key = ids_[position];
            ++position;
            if (entry.is_object()) take(gemini_item(std::move(key), entry, secret_));
          }
          return;
        }
      }
    }
  }
  std::size_t start = 0;
  bool any_line = false;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    any_line = true;
    const std::size_t position = lines_seen_++;
    std::optional<json> doc = parse_bounded(line);
    if (!doc || !doc->is_object()) continue;  // its request stays without a result
    std::optional<ItemResult> r;
    switch (provider_) {
      case Provider::OpenAI: r = openai_item(*doc, secret_); break;
      case Provider::Anthropic: r = anthropic_item(*doc, secret_); break;
      case Provider::Gemini: {
        std::string key = string_at(*doc, "key");
        if (key.empty() && position < ids_.size()) key = ids_[position];
        r = gemini_item(std::move(key), *doc, secret_);
        break;
      }
      case Provider::Offline: break;
    }
    if (r) take(std::move(*r));
  }
  if (!any_line && !body.empty()) {
    throw Error(sqlstate::kExternal, std::string(provider_name(provider_)) + " batch results are not JSON lines");
  }
}

std::vector<ItemResult> BatchResults::finish(BatchState final_state) const {
  std::vector<ItemResult> out;
  out.reserve(ids_.size());
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (results_[i]) {
      out.push_back(*results_[i]);
    } else if (final_state == BatchState::Expired) {
      out.push_back(errored(ids_[i], ItemOutcome::Expired, "the batch expired before this request ran"));
    } else if (final_state == BatchState::Cancelled) {
      out.push_back(errored(ids_[i], ItemOutcome::Cancelled, "the batch was cancelled before this request ran"));
    } else if (final_state == BatchState::Failed) {
      out.push_back(errored(ids_[i], ItemOutcome::Errored, "the vendor failed the whole batch"));
    } else {
      out.push_back(errored(ids_[i], ItemOutcome::Errored, "the vendor returned no result for this request"));
    }
  }
  return out;
}

CompileOutcome collected_outcome(CompileOutcome session, const ItemResult& r, const Prices& prices,
                                 double discount, int max_questions, const std::string& secret,
                                 const CollectedView& view) {
  CompileOutcome o = std::move(session);
  o.attempts = 1;
  o.http_status = r.http_status;
  // Whatever the reply, the log records whether what left was redacted.
  o.redacted = view.redacted;
  const bool unchanged = view.current != nullptr && trajectory_hash(*view.current) == o.trajectory_hash;
  Trajectory seen;
  if (unchanged) seen = seen_by_model(*view.current, view.redacted, o);
  if (r.outcome != ItemOutcome::Succeeded) {
    o.status = Status::Failed;
    o.error = redact(r.outcome == ItemOutcome::Errored ? r.error
                                                       : std::string("provider batch request ") +
                                                             item_outcome_name(r.outcome) + ": " + r.error,
                     secret);
    return o;
  }
  judge_reply(o, r.reply, call_cost_usd(prices, r.reply.tokens_in, r.reply.tokens_out) * discount, max_questions,
              unchanged ? &seen : nullptr, view.quality, secret);
  return o;
}

// --- driving ----------------------------------------------------------------------------

BlockingHttp::BlockingHttp(HttpLimits limits, RetryPolicy retry, CancelCheck cancel)
    : http_(limits, cancel),
      retry_(retry),
      rng_(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {}

HttpResult BlockingHttp::send(const HttpRequest& req) {
  for (int retries = 0;; ++retries) {
    ++attempts_;
    http_.add(1, req);
    std::vector<HttpResult> done;
    while (done.empty()) done = http_.poll(kPollSliceMs);
    HttpResult r = std::move(done.front());
    // A response that came but was refused (too large) would come again.
    // No answer at all may still mean the request took effect.
    if (r.status == 0 && !req.resend_unanswered) return r;
    const bool retryable = r.error.empty() ? is_retryable(r.status) : r.status == 0;
    if (!retryable || retries >= retry_.max_retries) return r;
    const std::optional<long> retry_after =
        r.retry_after ? parse_retry_after(*r.retry_after, std::chrono::system_clock::now()) : std::nullopt;
    const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    const long delay = retry_delay_ms(retry_, retries + 1, retry_after, jitter);
    // Nothing is in flight: poll only waits, seeing a cancel within its slice.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
    while (std::chrono::steady_clock::now() < until) {
      const long left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            until - std::chrono::steady_clock::now()).count();
      http_.poll(std::max(1L, left));
    }
  }
}

BatchStatus submit_batch_job(const VendorBatchApi& api, const BatchJob& job, HttpTransport& http,
                             bool* unanswered) {
  std::string file_id;
  if (job.as_file) file_id = api.parse_upload(http.send(api.upload_request(job)));
  HttpRequest create = api.create_request(job, file_id);
  create.resend_unanswered = false;
  const HttpResult r = http.send(create);
  if (unanswered) *unanswered = r.status == 0;
  return api.parse_status(r);
}

std::string find_batch_job(const VendorBatchApi& api, const std::string& label, HttpTransport& http,
                           int max_pages) {
  std::string token;
  for (int page = 0; page < max_pages; ++page) {
    const BatchListPage found = api.parse_list(http.send(api.list_request(token)));
    for (const auto& [job_label, remote_id] : found.jobs) {
      if (job_label == label) return remote_id;
    }
    if (found.next_page.empty() || found.next_page == token) break;
    token = found.next_page;
  }
  return "";
}

BatchStatus poll_batch_job(const VendorBatchApi& api, const std::string& remote_id, HttpTransport& http,
                           std::string* reply) {
  HttpResult r = http.send(api.poll_request(remote_id));
  BatchStatus s = api.parse_status(r);
  if (reply) *reply = std::move(r.body);
  return s;
}

std::vector<ItemResult> fetch_batch_results(const VendorBatchApi& api, const BatchStatus& status,
                                            const std::vector<std::string>& custom_ids,
                                            const std::string& poll_reply, HttpTransport& http) {
  const VendorAccount& a = api.account();
  BatchResults results(a.provider, custom_ids, a.api_key);
  if (status.results_inline) results.add_body(poll_reply);
  for (const HttpRequest& req : api.result_requests(status)) {
    const HttpResult r = http.send(req);
    if (!r.error.empty() || r.status < 200 || r.status > 299) refused(a.provider, r, a.api_key);
    results.add_body(r.body);
  }
  return results.finish(status.state);
}

}  // namespace trajc
