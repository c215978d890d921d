// PII redaction: planted values of every kind become placeholders, the same
// value the same placeholder; near-misses (times, versions, ids) survive.
#include "trajc/redact.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace trajc {
namespace {

std::string redacted(std::string_view text, bool is_json = false) {
  PiiRedactor r;
  return r.redact(text, is_json);
}

// Each planted value alone in a sentence: replaced by exactly its placeholder.
void expect_replaced(const std::string& value, const std::string& placeholder) {
  const std::string text = "before " + value + " after";
  EXPECT_EQ(redacted(text), "before " + placeholder + " after") << value;
}

void expect_kept(const std::string& text) { EXPECT_EQ(redacted(text), text); }

TEST(FindPii, EmailAddresses) {
  expect_replaced("alice@example.com", "[EMAIL_1]");
  expect_replaced("alice.smith+tag@mail.example.co.uk", "[EMAIL_1]");
  expect_replaced("x_y-z%1@sub-domain.example.org", "[EMAIL_1]");
  EXPECT_EQ(redacted("mailto:bob@example.com."), "mailto:[EMAIL_1].");
  EXPECT_EQ(redacted(R"({"to":"bob@example.com"})", true), R"({"to":"[EMAIL_1]"})");
}

TEST(FindPii, PhoneNumbers) {
  for (const char* phone : {"+1 415 555 0100", "+1-415-555-0100", "+44 20 7946 0958",
                            "+49 (30) 901820", "+33.1.23.45.67.89", "(415) 555-0100",
                            "415-555-0100", "415.555.0100", "(415)555-0100"}) {
    expect_replaced(phone, "[PHONE_1]");
  }
  EXPECT_EQ(redacted("phone: 020 7946 0958"), "phone: [PHONE_1]");
  EXPECT_EQ(redacted(R"({"mobile":"0612345678"})", true), R"({"mobile":"[PHONE_1]"})");
  EXPECT_EQ(redacted(R"({"phoneNumber":4155550100})", true), R"({"phoneNumber":"[PHONE_1]"})");
}

TEST(FindPii, IpAddresses) {
  expect_replaced("192.168.1.20", "[IP_1]");
  expect_replaced("8.8.8.8", "[IP_1]");
  expect_replaced("2001:db8::8a2e:370:7334", "[IP_1]");
  expect_replaced("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP_1]");
  expect_replaced("fe80::1ff:fe23:4567:890a", "[IP_1]");
  EXPECT_EQ(redacted("GET http://10.0.0.5:8080/x"), "GET http://[IP_1]:8080/x");
  EXPECT_EQ(redacted("from 203.0.113.9, to 203.0.113.10."), "from [IP_1], to [IP_2].");
}

TEST(FindPii, CardNumbersAreLuhnChecked) {
  expect_replaced("4111 1111 1111 1111", "[CARD_1]");
  expect_replaced("4111-1111-1111-1111", "[CARD_1]");
  expect_replaced("4111111111111111", "[CARD_1]");
  expect_replaced("5500 0000 0000 0004", "[CARD_1]");
  expect_replaced("378282246310005", "[CARD_1]");  // Amex, 15 digits
  expect_replaced("6011111111111117", "[CARD_1]");
  // A bare JSON number becomes a string, so the document stays valid.
  const std::string json = redacted(R"({"card":4242424242424242,"n":1})", true);
  EXPECT_EQ(json, R"({"card":"[CARD_1]","n":1})");
  EXPECT_TRUE(nlohmann::json::accept(json));
  // A card followed by more digits: only the card goes.
  EXPECT_EQ(redacted("4111 1111 1111 1111 2026"), "[CARD_1] 2026");
}

TEST(FindPii, CredentialLikeTokens) {
  const std::string ghp = "ghp_" + std::string("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  for (const std::string& token :
       {std::string("sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd"), std::string("sk-ant-api03-aB1cD2eF3gH4iJ5kL6"),
        std::string("AKIAIOSFODNN7EXAMPLE"), ghp, std::string("github_pat_11ABCDEFG0123456789_abcdefghijkl"),
        std::string("xoxb-1234567890-0987654321-AbCdEfGhIj"), jwt}) {
    expect_replaced(token, "[SECRET_1]");
  }
  EXPECT_EQ(redacted("Authorization: Bearer abcdef0123456789abcdef"), "Authorization: Bearer [SECRET_1]");
  EXPECT_EQ(redacted("Authorization: Bearer " + jwt), "Authorization: Bearer [SECRET_1]");
}

TEST(FindPii, SecretsAfterSensitiveKeys) {
  EXPECT_EQ(redacted(R"({"api_key":"0123456789abcdef0123","n":3})", true),
            R"({"api_key":"[SECRET_1]","n":3})");
  EXPECT_EQ(redacted(R"({"client_secret": "Zm9vYmFyYmF6cXV4MTIzNDU2"})", true),
            R"({"client_secret": "[SECRET_1]"})");
  EXPECT_EQ(redacted("curl -H 'X-Api-Key: 9f86d081884c7d659a2feaa0' x"),
            "curl -H 'X-Api-Key: [SECRET_1]' x");
  EXPECT_EQ(redacted("GET /v1?accessToken=AbC123dEf456GhI789jK&page=2"),
            "GET /v1?accessToken=[SECRET_1]&page=2");
  EXPECT_EQ(redacted("password=hunter2!x user=bob"), "password=[SECRET_1] user=bob");
  EXPECT_EQ(redacted(R"({"password":"correct horse \"battery\""})", true),
            R"({"password":"[SECRET_1]"})");
}

TEST(FindPii, SensitiveColumnsByName) {
  PiiRedactor r;
  Field key{"api_key", "0123456789abcdef0123"};
  Field pw{"db_password", "correct horse battery"};
  Field phone{"phone", "020 7946 0958"};
  Field plain{"note", "0123456789abcdef0123"};
  for (Field* f : {&key, &pw, &phone, &plain}) r.redact(*f);
  EXPECT_EQ(key.value, "[SECRET_1]");
  EXPECT_EQ(pw.value, "[SECRET_2]");
  EXPECT_EQ(phone.value, "[PHONE_1]");
  EXPECT_EQ(plain.value, "0123456789abcdef0123");  // a hex string alone is no secret
}

TEST(FindPii, NearMissesSurvive) {
  for (const char* text : {
           "2026-01-02T03:04:05.000000Z", "2026-01-02 03:04:05+00", "at 10:30:00 on 2026/01/02",
           "v1.2.3", "version 2.10.4", "1.2.3.4.5", "chrome 120.0.6099.109",
           "session 123e4567-e89b-12d3-a456-426614174000", "epoch 1767322800 and 1767322800000",
           "us 1767322800000000", "4111 1111 1111 1112", "order 48213", "sizes 512 256 1024",
           "turns 2, 5 and 8", "std::vector<int> and ab::cd", "mac 00:1a:2b:3c:4d:5e",
           "127.0.0.1", "0.0.0.0", "mask 255.255.255.0", "::1", "pip install sk-learn",
           "task-4f9Q2xLk8ZrT1mWv7BnC3yHd", "the bearer of bad news", "max_tokens: 1024",
           "keyword: something_long_enough_123", "token_count: 123456789012345678", "@app.route",
           "user@localhost", "pkg@1.2.3", "price 1,234,567.89", "+5 points", "tz +01:00",
           "ISBN 978-3-16-148410-0", "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
           "password: null", "password: ******", "\"pageKey\": \"public_profile_v3_desktop\"",
           "version 4.10.0.84", "\"version\": \"3.3.0.17\"", "release=1.2.0.4", "[EMAIL_1] [SECRET_2] [CARD_3]", "caf\xC3\xA9 \xFF\xFE"}) {
    expect_kept(text);
  }
}

TEST(PiiRedactor, SameValueSamePlaceholderWithinASession) {
  PiiRedactor r;
  EXPECT_EQ(r.redact("a@x.io b@x.io A@X.IO"), "[EMAIL_1] [EMAIL_2] [EMAIL_1]");
  EXPECT_EQ(r.redact("call +1 415 555 0100 or +1-415-555-0100"), "call [PHONE_1] or [PHONE_1]");
  EXPECT_EQ(r.redact("b@x.io again"), "[EMAIL_2] again");  // across texts of the session
  EXPECT_EQ(r.counts(), (std::map<std::string, int>{{"email", 4}, {"phone", 2}}));
  EXPECT_EQ(r.total(), 6);
  PiiRedactor other;  // a new session starts over
  EXPECT_EQ(other.redact("b@x.io"), "[EMAIL_1]");
}

TEST(PiiRedactor, IsIdempotent) {
  const std::string text =
      "alice@example.com 192.168.1.20 4111 1111 1111 1111 +1 415 555 0100 sk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd";
  PiiRedactor r;
  const std::string once = r.redact(text);
  EXPECT_EQ(once, "[EMAIL_1] [IP_1] [CARD_1] [PHONE_1] [SECRET_1]");
  EXPECT_EQ(r.redact(once), once);
}

TEST(PiiRedactor, RedactsATrajectoryButNotItsKeys) {
  Trajectory t;
  t.session_id = "alice@example.com";  // the operator's key: kept
  t.agent = "alice@example.com";
  Turn turn;
  turn.number = 1;
  turn.at = "2026-01-02T03:04:05.000000Z";
  turn.agent = "alice@example.com";
  turn.fields = {{"email_to", "alice@example.com"},
                 {"arguments", R"({"ip": "192.168.1.20", "card": 4111111111111111})", true}};
  t.turns = {turn};
  PiiRedactor r;
  r.redact(t);
  EXPECT_EQ(t.session_id, "alice@example.com");
  EXPECT_EQ(t.agent, "[EMAIL_1]");
  EXPECT_EQ(t.turns[0].agent, "[EMAIL_1]");
  EXPECT_EQ(t.turns[0].at, "2026-01-02T03:04:05.000000Z");
  EXPECT_EQ(t.turns[0].fields[0].name, "email_to");
  EXPECT_EQ(t.turns[0].fields[0].value, "[EMAIL_1]");
  EXPECT_EQ(t.turns[0].fields[1].value, R"({"ip": "[IP_1]", "card": "[CARD_1]"})");
  EXPECT_EQ(r.counts(), (std::map<std::string, int>{{"card", 1}, {"email", 3}, {"ip", 1}}));
}

TEST(PiiRedactor, JsonEscapesStayIntact) {
  const std::string json = R"({"log":"line1\nbob@example.com\tsk-proj-4f9Q2xLk8ZrT1mWv7BnC3yHd\n"})";
  const std::string out = redacted(json, true);
  EXPECT_EQ(out, R"({"log":"line1\n[EMAIL_1]\t[SECRET_1]\n"})");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

// Long and adversarial input: every scanner stays linear and nothing throws.
TEST(PiiRedactor, HugeAndPathologicalInput) {
  std::mt19937 rng(7);
  const std::string alphabet = "aZ09@.:-+ ()_=\"'\\/\n\xC3\xA9";
  std::string random(1 << 20, ' ');
  for (char& c : random) c = alphabet[rng() % alphabet.size()];
  for (const std::string& text :
       {random, std::string(1 << 20, '@'), std::string(1 << 20, '1'), std::string(1 << 20, ':'),
        std::string(1 << 20, 'a') + "@", [] {
          std::string s;
          for (int i = 0; i < 100000; ++i) s += "a.b@c.d ";
          return s;
        }(),
        [] {
          std::string s;
          for (int i = 0; i < 100000; ++i) s += "password:";
          return s;
        }(),
        [] {
          std::string s;
          for (int i = 0; i < 100000; ++i) s += "4111 ";
          return s;
        }()}) {
    PiiRedactor r;
    EXPECT_NO_THROW(r.redact(text, false));
    EXPECT_NO_THROW(r.redact(text, true));
  }
  PiiRedactor r;
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "a.b@c.de ";
  EXPECT_EQ(r.redact(many).substr(0, 20), "[EMAIL_1] [EMAIL_1] ");
  EXPECT_EQ(r.counts().at("email"), 100000);
}

}  // namespace
}  // namespace trajc
