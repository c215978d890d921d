// HTTP transport: many requests (POST, or GET for batch polls) in flight from one thread (libcurl multi),
// with timeouts, a response size cap and cancellation.
//
// Must never: know a vendor's format (provider.hpp builds the requests and
// reads the replies), decide on retries (retry.hpp, compile.cpp), log or
// return request headers (they hold the key), raise from a curl callback, or
// start a thread (it runs inside a Postgres backend).
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trajc/cancel.hpp"
#include "trajc/defaults.hpp"

namespace trajc {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"; hold the key: never log them
  std::string body;
  std::string method = "POST";       // "POST" or "GET" (a GET sends no body)
  // False for a request that may have taken effect though no answer came (a
  // provider batch job's creation): it is not sent again on a lost
  // connection or a timeout, which would create a second job.
  bool resend_unanswered = true;
};

struct HttpLimits {
  long connect_timeout_ms = defaults::kConnectTimeoutMs;
  long total_timeout_ms = defaults::kTimeoutMs.value;
  std::size_t max_response_bytes = defaults::kMaxResponseBytes;
};

struct HttpResult {
  std::uint64_t tag = 0;
  int status = 0;            // 0 = no HTTP response (see error)
  std::string body;
  std::optional<std::string> retry_after;  // raw header value
  // curl's message when status == 0, or "response larger than N bytes" (the
  // status is then kept: such an answer is not retried).
  std::string error;
};

// Many requests in flight from one thread. Not copyable; owns the curl handles.
class HttpMulti {
 public:
  HttpMulti(HttpLimits limits, CancelCheck cancel);
  ~HttpMulti();
  HttpMulti(const HttpMulti&) = delete;
  HttpMulti& operator=(const HttpMulti&) = delete;

  void add(std::uint64_t tag, HttpRequest req);  // its body is moved into the transfer
  // Drives transfers for up to max_wait_ms and returns the finished ones.
  // Throws Error(kQueryCanceled) as soon as cancel() returns true (checked at
  // least every 100 ms), after aborting every transfer.
  std::vector<HttpResult> poll(long max_wait_ms);
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// curl_global_init, once per process (from _PG_init or main).
void http_global_init();

}  // namespace trajc
