// Retry policy, rate limiting and concurrent transfers on one thread.
#include "trajc/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "trajc/error.hpp"

namespace trajc {

namespace {
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// ASCII only, whatever the backend's LC_CTYPE: header names and dates are ASCII.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(s[i]) != ascii_lower(prefix[i])) return false;
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
// so HTTP dates are parsed without timegm or the process' locale and time zone.
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

// The HTTP date forms RFC 9110 says recipients must accept:
//   IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850     "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime     "Sun Nov  6 08:49:37 1994"
// Returns seconds since the epoch.
std::optional<long long> parse_http_date(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  // Split on spaces, commas and dashes; the day name is ignored.
  std::vector<std::string_view> tok;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = s.find_first_of(" ,-", i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) tok.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  auto number = [](std::string_view t, long& out) {
    if (t.empty() || t.size() > 4) return false;
    out = 0;
    for (char c : t) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  auto month = [&](std::string_view t, unsigned& out) {
    for (unsigned i = 0; i < kMonths.size(); ++i) {
      if (t.size() == 3 && iequals_prefix(t, kMonths[i])) {
        out = i + 1;
        return true;
      }
    }
    return false;
  };
  if (tok.size() < 5) return std::nullopt;
  long day = 0, year = 0;
  unsigned mon = 0;
  std::string_view clock;
  if (month(tok[1], mon)) {  // asctime: day-name month day time year
    if (!number(tok[2], day) || !number(tok[4], year)) return std::nullopt;
    clock = tok[3];
  } else {  // IMF-fixdate / RFC 850: day-name day month year time GMT
    if (tok.size() < 6 || !number(tok[1], day) || !month(tok[2], mon) || !number(tok[3], year) ||
        !iequals_prefix(tok[5], "GMT")) {
      return std::nullopt;
    }
    if (tok[3].size() == 2) year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit year
    clock = tok[4];
  }
  long hh = 0, mm = 0, ss = 0;
  if (clock.size() != 8 || clock[2] != ':' || clock[5] != ':' || !number(clock.substr(0, 2), hh) ||
      !number(clock.substr(3, 2), mm) || !number(clock.substr(6, 2), ss) || hh > 23 || mm > 59 ||
      ss > 60 || day < 1 || day > 31) {
    return std::nullopt;
  }
  return static_cast<long long>(days_from_civil(year, mon, static_cast<unsigned>(day))) * 86400 +
         hh * 3600 + mm * 60 + ss;
}
}  // namespace

// --- retry policy ------------------------------------------------------------

bool is_retryable(int http_status) {
  return http_status == 0 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

long retry_delay_ms(const RetryPolicy& p, int attempt, std::optional<long> retry_after_ms, double jitter) {
  // Exponential ceiling base * 2^(attempt-1), capped; full jitter spreads
  // retries of many sessions over [0, ceiling) so they do not come back together.
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const double ceiling = std::min(static_cast<double>(p.max_delay_ms),
                                  static_cast<double>(p.base_delay_ms) * std::ldexp(1.0, doublings));
  long delay = static_cast<long>(ceiling * std::clamp(jitter, 0.0, 1.0));
  // The server knows best when it can take us again, but a statement does not
  // wait longer than max_delay_ms for one retry.
  if (retry_after_ms) delay = std::max(delay, *retry_after_ms);
  return std::clamp(delay, 0L, p.max_delay_ms);
}

std::optional<long> parse_retry_after(const std::string& value, std::chrono::system_clock::time_point now) {
  const std::string_view v = trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    // A day is already far beyond any cap; this also keeps the product in range.
    constexpr long kMaxSeconds = 86400;
    long seconds = 0;
    for (char c : v) {
      seconds = std::min(kMaxSeconds, seconds * 10 + (c - '0'));
    }
    return seconds * 1000;
  }
  const auto date = parse_http_date(v);
  if (!date) return std::nullopt;
  const long long now_ms =
      std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  const long long delta = *date * 1000 - now_ms;
  return static_cast<long>(std::clamp<long long>(delta, 0, 86400LL * 1000));
}

// --- token bucket --------------------------------------------------------------

namespace {
// The bucket holds one second's worth of requests (at least one): a batch
// starts without a stall, yet no minute sees much more than the limit.
double bucket_capacity(int per_minute) { return std::max(1.0, per_minute / 60.0); }
}  // namespace

RateLimiter::RateLimiter(int max_per_minute)
    : per_minute_(std::max(0, max_per_minute)), tokens_(bucket_capacity(per_minute_)), last_{} {}

void RateLimiter::refill(steady::time_point now) const {
  if (last_ == steady::time_point{}) {  // first use: the bucket starts full
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - last_).count();
  tokens_ = std::min(bucket_capacity(per_minute_), tokens_ + elapsed_ms * per_minute_ / 60000.0);
  last_ = now;
}

long RateLimiter::wait_ms(steady::time_point now) const {
  long wait = 0;
  if (now < cooldown_until_) {
    wait = static_cast<long>(std::ceil(std::chrono::duration<double, std::milli>(cooldown_until_ - now).count()));
  }
  if (per_minute_ > 0) {
    refill(now);
    if (tokens_ < 1.0) {
      wait = std::max(wait, static_cast<long>(std::ceil((1.0 - tokens_) * 60000.0 / per_minute_)));
    }
  }
  return wait;
}

void RateLimiter::take(steady::time_point now) {
  if (per_minute_ == 0) return;
  refill(now);
  tokens_ -= 1.0;
}

void RateLimiter::cool_down_until(steady::time_point until) {
  cooldown_until_ = std::max(cooldown_until_, until);
}

// --- transfers -------------------------------------------------------------------

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
    if (iequals_prefix(line, "HTTP/")) {
      t->retry_after.reset();  // a new response (after a 100 Continue) starts over
    } else if (iequals_prefix(line, "retry-after:")) {
      t->retry_after = std::string(trim(line.substr(std::strlen("retry-after:"))));
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

  std::unique_ptr<Transfer> prepare(std::uint64_t tag, const HttpRequest& req) {
    auto t = std::make_unique<Transfer>();
    t->tag = tag;
    t->max_bytes = limits.max_response_bytes;
    t->request_body = req.body;
    t->easy = curl_easy_init();
    if (!t->easy) throw Error(sqlstate::kOutOfMemory, "curl_easy_init failed");
    for (const std::string& h : req.headers) append_header(*t, h.c_str());
    // curl would otherwise send "Expect: 100-continue" for large prompts and
    // wait up to a second for servers that never answer it.
    append_header(*t, "Expect:");
    CURL* e = t->easy;
    set_option(e, CURLOPT_URL, req.url.c_str());
    set_option(e, CURLOPT_HTTPHEADER, t->headers);
    set_option(e, CURLOPT_POST, 1L);
    set_option(e, CURLOPT_POSTFIELDS, t->request_body.c_str());
    set_option(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request_body.size()));
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

void HttpMulti::add(std::uint64_t tag, const HttpRequest& req) {
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
