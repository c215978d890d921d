// Retry policy: which failures are retried, exponential backoff with full
// jitter, and Retry-After (delta-seconds or any of the three HTTP date forms).
//
// Must never: sleep, read a clock or draw randomness (inputs say it all), or
// depend on the process locale or time zone (it runs inside a backend).
#include "trajc/retry.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <vector>

#include "trajc/ascii.hpp"

namespace trajc {

namespace {
using std::chrono::milliseconds;

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
      if (!ascii::is_digit(c)) return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  auto month = [&](std::string_view t, unsigned& out) {
    for (unsigned i = 0; i < kMonths.size(); ++i) {
      if (ascii::iequals(t, kMonths[i])) {
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
        !ascii::istarts_with(tok[5], "GMT")) {
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
  const std::string_view v = ascii::trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), ascii::is_digit)) {
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

}  // namespace trajc
