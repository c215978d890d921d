// HTTP transport on libcurl's multi interface: many requests in flight on
// the calling thread, each with connect and total timeouts, a response size
// cap, no redirects, TLS verified, and a cancel check at least every 100 ms.
//
// Must never: raise from a curl callback (record the failure, return a short
// count), log or keep request headers (they hold the key), use signals
// (CURLOPT_NOSIGNAL), start threads, or know a vendor's format.
#include "trajc/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "trajc/ascii.hpp"
#include "trajc/error.hpp"

namespace trajc {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

void http_global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    throw Error(sqlstate::kInternal, std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
  }
}

namespace {

constexpr long kCancelSliceMs = 100;

// One request in flight. The easy handle points at this object's buffers, so
// it lives on the heap and is destroyed only after leaving the multi handle.
struct Transfer {
  std::uint64_t tag = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string request_body;
  std::string response_body;
  std::optional<std::string> retry_after;
  std::size_t max_bytes = 0;
  bool too_large = false;
  bool out_of_memory = false;
  char errbuf[CURL_ERROR_SIZE] = {0};

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

// Callbacks never throw (they run inside curl's C frames): a failure is
// recorded on the transfer and a short count makes curl abort it.
size_t on_body(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response_body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;
  }
  try {
    t->response_body.append(data, n);
  } catch (...) {
    t->out_of_memory = true;
    return 0;
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string_view line(data, n);
  try {
    if (ascii::istarts_with(line, "HTTP/")) {
      t->retry_after.reset();  // a new response (after a 100 Continue) starts over
    } else if (ascii::istarts_with(line, "retry-after:")) {
      t->retry_after = std::string(ascii::trim(line.substr(std::strlen("retry-after:"))));
    }
  } catch (...) {
    t->out_of_memory = true;
    return 0;
  }
  return n;
}

template <typename T>
void set_option(CURL* easy, CURLoption option, T value) {
  const CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc != CURLE_OK) {
    throw Error(sqlstate::kInternal, std::string("curl_easy_setopt failed: ") + curl_easy_strerror(rc));
  }
}

}  // namespace

struct HttpMulti::Impl {
  HttpLimits limits;
  CancelCheck cancel;
  CURLM* multi = nullptr;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;

  ~Impl() { abort_all(); curl_multi_cleanup(multi); }

  void abort_all() noexcept {
    for (auto& [easy, transfer] : transfers) curl_multi_remove_handle(multi, easy);
    transfers.clear();
  }

  bool canceled() const { return cancel != nullptr && cancel(); }

  [[noreturn]] void throw_canceled() {
    abort_all();
    trajc::throw_canceled();
  }

  std::unique_ptr<Transfer> prepare(std::uint64_t tag, HttpRequest& req) {
    auto t = std::make_unique<Transfer>();
    t->tag = tag;
    t->max_bytes = limits.max_response_bytes;
    t->request_body = std::move(req.body);  // a prompt can be megabytes: no copy
    t->easy = curl_easy_init();
    if (!t->easy) throw Error(sqlstate::kOutOfMemory, "curl_easy_init failed");
    for (const std::string& h : req.headers) append_header(*t, h.c_str());
    // curl would otherwise send "Expect: 100-continue" for large prompts and
    // wait up to a second for servers that never answer it.
    append_header(*t, "Expect:");
    CURL* e = t->easy;
    set_option(e, CURLOPT_URL, req.url.c_str());
    set_option(e, CURLOPT_HTTPHEADER, t->headers);
    if (req.method == "GET") {
      set_option(e, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "POST") {
      set_option(e, CURLOPT_POST, 1L);
      set_option(e, CURLOPT_POSTFIELDS, t->request_body.c_str());
      set_option(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request_body.size()));
    } else {
      throw Error(sqlstate::kInternal, "unsupported HTTP method " + req.method);
    }
    // curl silently sends a request again when the reused connection it went
    // out on turns out dead: a request that must go at most once gets a
    // connection of its own.
    if (!req.resend_unanswered) set_option(e, CURLOPT_FRESH_CONNECT, 1L);
    set_option(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a backend
    set_option(e, CURLOPT_CONNECTTIMEOUT_MS, limits.connect_timeout_ms);
    set_option(e, CURLOPT_TIMEOUT_MS, limits.total_timeout_ms);
    set_option(e, CURLOPT_PROTOCOLS_STR, "http,https");
    set_option(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set_option(e, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could carry the key elsewhere
    set_option(e, CURLOPT_SSL_VERIFYPEER, 1L);
    set_option(e, CURLOPT_SSL_VERIFYHOST, 2L);
    // Early refusal when Content-Length announces too much; on_body enforces
    // the same cap for chunked or lying responses.
    set_option(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_response_bytes));
    set_option(e, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode
    set_option(e, CURLOPT_USERAGENT, "trajc/0.1");
    set_option(e, CURLOPT_ERRORBUFFER, t->errbuf);
    set_option(e, CURLOPT_WRITEFUNCTION, &on_body);
    set_option(e, CURLOPT_WRITEDATA, static_cast<void*>(t.get()));
    set_option(e, CURLOPT_HEADERFUNCTION, &on_header);
    set_option(e, CURLOPT_HEADERDATA, static_cast<void*>(t.get()));
    return t;
  }

  static void append_header(Transfer& t, const char* header) {
    curl_slist* grown = curl_slist_append(t.headers, header);
    if (!grown) throw Error(sqlstate::kOutOfMemory, "curl_slist_append failed");
    t.headers = grown;
  }

  HttpResult finish(Transfer& t, CURLcode rc) const {
    HttpResult r;
    r.tag = t.tag;
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      // An answer came, but not one we accept: keep its status, so it is not
      // mistaken for a connection error and retried.
      r.status = static_cast<int>(status);
      r.error = "response larger than " + std::to_string(limits.max_response_bytes) + " bytes";
    } else if (t.out_of_memory) {
      r.error = "out of memory while receiving the response";
    } else if (rc != CURLE_OK) {
      // Whatever arrived before the failure is incomplete: no HTTP response.
      r.error = t.errbuf[0] != '\0' ? t.errbuf : curl_easy_strerror(rc);
    } else {
      r.status = static_cast<int>(status);
      r.body = std::move(t.response_body);
      r.retry_after = std::move(t.retry_after);
    }
    return r;
  }

  std::vector<HttpResult> collect_finished() {
    std::vector<HttpResult> done;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;  // msg is invalid once the handle is removed
      const CURLcode rc = msg->data.result;
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      done.push_back(finish(*it->second, rc));
      curl_multi_remove_handle(multi, easy);
      transfers.erase(it);
    }
    return done;
  }
};

HttpMulti::HttpMulti(HttpLimits limits, CancelCheck cancel) : impl_(std::make_unique<Impl>()) {
  http_global_init();
  impl_->limits = limits;
  impl_->cancel = cancel;
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw Error(sqlstate::kOutOfMemory, "curl_multi_init failed");
}

HttpMulti::~HttpMulti() = default;

void HttpMulti::add(std::uint64_t tag, HttpRequest req) {
  std::unique_ptr<Transfer> t = impl_->prepare(tag, req);
  CURL* easy = t->easy;
  impl_->transfers.emplace(easy, std::move(t));
  const CURLMcode rc = curl_multi_add_handle(impl_->multi, easy);
  if (rc != CURLM_OK) {
    impl_->transfers.erase(easy);
    throw Error(sqlstate::kInternal, std::string("curl_multi_add_handle failed: ") + curl_multi_strerror(rc));
  }
}

std::vector<HttpResult> HttpMulti::poll(long max_wait_ms) {
  const auto deadline = steady::now() + milliseconds(std::max(0L, max_wait_ms));
  for (;;) {
    if (impl_->canceled()) impl_->throw_canceled();
    int running = 0;
    const CURLMcode rc = curl_multi_perform(impl_->multi, &running);
    if (rc != CURLM_OK) {
      throw Error(sqlstate::kExternal, std::string("curl_multi_perform failed: ") + curl_multi_strerror(rc));
    }
    std::vector<HttpResult> done = impl_->collect_finished();
    if (!done.empty()) return done;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
    if (left <= 0) return done;
    // Short slices, so a cancel is seen within kCancelSliceMs even when no
    // socket has activity (or no transfer is in flight at all).
    const CURLMcode prc =
        curl_multi_poll(impl_->multi, nullptr, 0, static_cast<int>(std::min<long>(left, kCancelSliceMs)), nullptr);
    if (prc != CURLM_OK) {
      throw Error(sqlstate::kExternal, std::string("curl_multi_poll failed: ") + curl_multi_strerror(prc));
    }
  }
}

std::size_t HttpMulti::in_flight() const { return impl_->transfers.size(); }

}  // namespace trajc
