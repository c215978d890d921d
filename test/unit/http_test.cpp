// Retry policy, rate limiter, and HttpMulti against the mock model server.
#include "trajc/http.hpp"
#include "trajc/provider.hpp"
#include "trajc/rate_limiter.hpp"
#include "trajc/retry.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "mock_server.hpp"
#include "trajc/error.hpp"

using namespace trajc;
using std::chrono::milliseconds;
using std::chrono::seconds;
using steady = std::chrono::steady_clock;

// --- retry policy ----------------------------------------------------------------

TEST(RetryPolicy, RetryableStatuses) {
  for (int s : {0, 429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable(s)) << s;
  for (int s : {200, 301, 400, 401, 403, 404, 422}) EXPECT_FALSE(is_retryable(s)) << s;
}

TEST(RetryPolicy, ExponentialWithFullJitter) {
  const RetryPolicy p{3, 500, 30000};
  EXPECT_EQ(retry_delay_ms(p, 1, std::nullopt, 0.0), 0);
  EXPECT_EQ(retry_delay_ms(p, 1, std::nullopt, 0.5), 250);
  EXPECT_EQ(retry_delay_ms(p, 2, std::nullopt, 0.5), 500);
  EXPECT_EQ(retry_delay_ms(p, 3, std::nullopt, 0.5), 1000);
  EXPECT_EQ(retry_delay_ms(p, 4, std::nullopt, 0.75), 3000);
  // The ceiling stops at max_delay_ms, whatever the attempt number.
  EXPECT_EQ(retry_delay_ms(p, 10, std::nullopt, 0.5), 15000);
  EXPECT_EQ(retry_delay_ms(p, 1000, std::nullopt, 0.5), 15000);
  EXPECT_LT(retry_delay_ms(p, 1000, std::nullopt, 0.999999), 30000);
}

TEST(RetryPolicy, RetryAfterIsAFloorUpToTheCap) {
  const RetryPolicy p{3, 500, 30000};
  EXPECT_EQ(retry_delay_ms(p, 1, 2000L, 0.9), 2000);    // longer than the backoff
  EXPECT_EQ(retry_delay_ms(p, 5, 100L, 0.5), 4000);     // shorter: backoff wins
  EXPECT_EQ(retry_delay_ms(p, 1, 3600000L, 0.1), 30000);  // an hour: capped
}

TEST(RetryPolicy, ParsesRetryAfterSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("120", now), 120000);
  EXPECT_EQ(parse_retry_after(" 3 \r\n", now), 3000);
  EXPECT_EQ(parse_retry_after("0", now), 0);
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), 86400L * 1000);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
}

TEST(RetryPolicy, ParsesRetryAfterHttpDates) {
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 seconds after the epoch.
  const std::chrono::system_clock::time_point now{seconds(784111777 - 30) + milliseconds(250)};
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 29750);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 29750);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), 29750);
  EXPECT_EQ(parse_retry_after("Sat, 01 Jan 2000 00:00:00 GMT",
                              std::chrono::system_clock::time_point{seconds(946684800)}),
            0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                              std::chrono::system_clock::time_point{seconds(784111777 + 60)}),
            0);  // already past
  EXPECT_EQ(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", now), std::nullopt);
}

// --- rate limiter ----------------------------------------------------------------

TEST(RateLimiter, UnlimitedNeverWaits) {
  RateLimiter r(0);
  const auto t0 = steady::now();
  for (int i = 0; i < 1000; ++i) r.take(t0);
  EXPECT_EQ(r.wait_ms(t0), 0);
}

TEST(RateLimiter, SpacesRequestsEvenly) {
  RateLimiter r(60);  // one a second, bursts of one
  const auto t0 = steady::now();
  EXPECT_EQ(r.wait_ms(t0), 0);
  r.take(t0);
  EXPECT_EQ(r.wait_ms(t0), 1000);
  EXPECT_EQ(r.wait_ms(t0 + milliseconds(400)), 600);
  EXPECT_EQ(r.wait_ms(t0 + milliseconds(1000)), 0);
  r.take(t0 + milliseconds(1000));
  EXPECT_EQ(r.wait_ms(t0 + milliseconds(1000)), 1000);
}

TEST(RateLimiter, AllowsOneSecondBurst) {
  RateLimiter r(600);  // ten a second
  const auto t0 = steady::now();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(r.wait_ms(t0), 0) << i;
    r.take(t0);
  }
  EXPECT_EQ(r.wait_ms(t0), 100);
  // Idle time refills up to the burst only.
  EXPECT_EQ(r.wait_ms(t0 + seconds(60)), 0);
  for (int i = 0; i < 10; ++i) r.take(t0 + seconds(60));
  EXPECT_EQ(r.wait_ms(t0 + seconds(60)), 100);
}

TEST(RateLimiter, CooldownPausesEveryRequest) {
  RateLimiter r(0);
  const auto t0 = steady::now();
  r.cool_down_until(t0 + milliseconds(2000));
  EXPECT_EQ(r.wait_ms(t0), 2000);
  r.cool_down_until(t0 + milliseconds(500));  // never shortened
  EXPECT_EQ(r.wait_ms(t0 + milliseconds(1500)), 500);
  EXPECT_EQ(r.wait_ms(t0 + milliseconds(2000)), 0);
}

// --- HttpMulti against the mock --------------------------------------------------

namespace {

// Cancel requests in these tests come from a deadline: CancelCheck is a plain
// function pointer, as Postgres' interrupt flags are plain globals.
steady::time_point g_cancel_at = steady::time_point::max();
bool cancel_at_deadline() { return steady::now() >= g_cancel_at; }

class HttpMultiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_unique<trajc_test::MockServer>();
    g_cancel_at = steady::time_point::max();
  }
  void TearDown() override { mock_.reset(); }

  // An OpenAI-shaped request whose prompt carries a mock directive.
  HttpRequest request(const std::string& directive) const {
    const std::string prompt = "Session: s-1\n### Turn 1 (t, a)\nx: " + directive + "\n### Turn 2 (t, a)\n### Turn 3 (t, a)\n";
    return build_request(Provider::OpenAI, mock_->url(), "test-model", "k-123", prompt);
  }

  // Polls until `count` results are in (the mock answers within seconds).
  static std::vector<HttpResult> collect(HttpMulti& http, std::size_t count) {
    std::vector<HttpResult> all;
    const auto give_up = steady::now() + seconds(10);
    while (all.size() < count && steady::now() < give_up) {
      for (HttpResult& r : http.poll(200)) all.push_back(std::move(r));
    }
    return all;
  }

  std::unique_ptr<trajc_test::MockServer> mock_;
};

}  // namespace

TEST_F(HttpMultiTest, ReturnsTheResponseWithItsTag) {
  HttpMulti http(HttpLimits{}, cancel_at_deadline);
  http.add(42, request("mock:pairs"));
  EXPECT_EQ(http.in_flight(), 1u);
  const auto results = collect(http, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].tag, 42u);
  EXPECT_EQ(results[0].status, 200);
  EXPECT_EQ(results[0].error, "");
  EXPECT_NO_THROW(parse_reply(Provider::OpenAI, results[0].body));
  EXPECT_EQ(http.in_flight(), 0u);
  // No "Expect: 100-continue" round trip, and the key only in its header.
  const auto log = mock_->requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0]["headers"].contains("Expect"));
  EXPECT_EQ(log[0]["headers"]["Authorization"], "Bearer k-123");
}

TEST_F(HttpMultiTest, CapturesRetryAfterAndErrorBody) {
  HttpMulti http(HttpLimits{}, cancel_at_deadline);
  http.add(1, request("mock:status=429,retry_after=7"));
  const auto results = collect(http, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 429);
  EXPECT_EQ(results[0].retry_after, "7");
  EXPECT_NE(results[0].body.find("mock error 429"), std::string::npos);
}

TEST_F(HttpMultiTest, TimesOut) {
  HttpMulti http(HttpLimits{1000, 300, 1 << 20}, cancel_at_deadline);
  http.add(1, request("mock:hang"));
  const auto results = collect(http, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 0);
  EXPECT_NE(results[0].error.find("timed out"), std::string::npos) << results[0].error;
}

TEST_F(HttpMultiTest, CancelAbortsEveryTransfer) {
  HttpMulti http(HttpLimits{}, cancel_at_deadline);
  http.add(1, request("mock:hang"));
  http.add(2, request("mock:slow=5000"));
  const auto t0 = steady::now();
  g_cancel_at = t0 + milliseconds(200);
  try {
    http.poll(5000);
    FAIL() << "poll returned without cancel";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), sqlstate::kQueryCanceled);
    EXPECT_STREQ(e.what(), "canceling statement due to user request");
  }
  EXPECT_LT(steady::now() - t0, seconds(1));
  EXPECT_EQ(http.in_flight(), 0u);
}

TEST_F(HttpMultiTest, DroppedConnectionIsStatusZero) {
  HttpMulti http(HttpLimits{}, cancel_at_deadline);
  http.add(1, request("mock:drop"));
  const auto results = collect(http, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 0);
  EXPECT_FALSE(results[0].error.empty());
}

TEST_F(HttpMultiTest, CapsTheResponseSize) {
  // Announced by Content-Length (refused early) and streamed (cut while reading).
  HttpMulti http(HttpLimits{10000, 10000, 4096}, cancel_at_deadline);
  http.add(1, request("mock:big=100000"));
  http.add(2, request("mock:big=100000,chunked=1"));
  const auto results = collect(http, 2);
  ASSERT_EQ(results.size(), 2u);
  for (const HttpResult& r : results) {
    EXPECT_EQ(r.error, "response larger than 4096 bytes") << r.tag;
    EXPECT_EQ(r.status, 200) << r.tag;
    EXPECT_TRUE(r.body.empty());
  }
}

TEST_F(HttpMultiTest, DestructorAbortsTransfersInFlight) {
  auto http = std::make_unique<HttpMulti>(HttpLimits{}, cancel_at_deadline);
  for (std::uint64_t tag = 0; tag < 4; ++tag) http->add(tag, request("mock:hang"));
  http->poll(50);  // connections open, requests sent
  EXPECT_EQ(http->in_flight(), 4u);
  const auto t0 = steady::now();
  http.reset();
  EXPECT_LT(steady::now() - t0, seconds(1));
}

TEST_F(HttpMultiTest, RefusesOtherProtocols) {
  HttpMulti http(HttpLimits{}, cancel_at_deadline);
  HttpRequest req = request("mock:pairs");
  req.url = "file:///etc/passwd";
  http.add(1, req);
  const auto results = collect(http, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 0);
  EXPECT_TRUE(results[0].body.empty());
  EXPECT_FALSE(results[0].error.empty());
}
