// Literal verification: grounded answers (quotes, ids, counts, durations,
// sums) are accepted, fabricated ones rejected, odd input never throws.
#include "trajc/verify.hpp"

#include <gtest/gtest.h>

#include <random>

#include "trajc/offline.hpp"
#include "trajc/qa.hpp"

namespace trajc {
namespace {

Turn turn(int number, std::string at, std::string agent, std::vector<Field> fields) {
  Turn t;
  t.number = number;
  t.at = std::move(at);
  t.agent = std::move(agent);
  t.fields = std::move(fields);
  return t;
}

// An order-handling session: ids, paths, costs, balances, timestamps.
Trajectory orders() {
  Trajectory t;
  t.session_id = "s-1";
  t.turns = {
      turn(1, "2026-01-02T03:04:05.000000Z", "planner",
           {{"action", "request"}, {"response", "Refund order ord-48213 for customer C-1007."}}),
      turn(2, "2026-01-02T03:04:20.000000Z", "worker",
           {{"tool", "lookup_order"},
            {"arguments", R"({"order_id": "ord-48213", "include": ["items"]})", true},
            {"response", "total 1,250.50 EUR, 3 items"},
            {"balance", "4000"},
            {"cost", "0.10"}}),
      turn(3, "2026-01-02T03:05:00.000000Z", "worker",
           {{"tool", "readFile"},
            {"arguments", R"({"path": "C:\\data\\refunds.csv"})", true},
            {"status", "error"},
            {"error", "ENOENT: no such file"}}),
      turn(4, "2026-01-02T03:05:35.000000Z", "worker",
           {{"tool", "issue_refund"},
            {"arguments", R"({"order_id": "ord-48213", "amount": 1250.5})", true},
            {"response", "refunded; ref 9f86d081884c"},
            {"balance", "2750.25"},
            {"cost", "0.25"}}),
      turn(5, "2026-01-02T03:06:05.000000Z", "planner",
           {{"action", "message"}, {"response", "Done: refund ref 9f86d081884c issued."}}),
      turn(6, "2026-01-02T03:09:05.000000Z", "worker",
           {{"tool", "send_mail"}, {"arguments", R"({"to": "[EMAIL_1]"})", true}}),
  };
  return t;
}

QaPair qa(std::string answer, std::vector<int> turns) {
  QaPair p;
  p.question = "?";
  p.answer = std::move(answer);
  p.supporting_turns = std::move(turns);
  p.qa_type = "factoid";
  return p;
}

Grounding check(const std::string& answer, std::vector<int> turns) {
  return verify_literal(qa(answer, std::move(turns)), orders());
}

std::string missing(const Grounding& g) {
  std::string s;
  for (const std::string& m : g.missing) s += m + " | ";
  return s;
}

#define EXPECT_GROUNDED(answer, ...)                          \
  do {                                                        \
    const Grounding g_ = check(answer, {__VA_ARGS__});        \
    EXPECT_TRUE(g_.grounded) << (answer) << " -> " << missing(g_); \
  } while (0)

#define EXPECT_UNGROUNDED(answer, ...)                   \
  do {                                                   \
    const Grounding g_ = check(answer, {__VA_ARGS__});   \
    EXPECT_FALSE(g_.grounded) << (answer);               \
    EXPECT_FALSE(g_.missing.empty());                    \
  } while (0)

TEST(CitedTurnText, RendersTheHeaderAndFieldsLikeThePrompt) {
  const Trajectory t = orders();
  EXPECT_EQ(cited_turn_text(t.turns[0]),
            "### Turn 1 (2026-01-02T03:04:05.000000Z, planner)\naction: request\n"
            "response: Refund order ord-48213 for customer C-1007.");
  const auto cited = cited_turns(t, {2, 99, 5});
  ASSERT_EQ(cited.size(), 2u);  // 99 does not exist
  EXPECT_EQ(cited[0].number, 2);
  EXPECT_EQ(cited[1].number, 5);
}

TEST(VerifyLiteral, AcceptsQuotedValuesAndIdentifiersOfCitedTurns) {
  EXPECT_GROUNDED("\"lookup_order\" at turn 2, then \"issue_refund\" at turn 4.", 2, 4);
  EXPECT_GROUNDED("Order ord-48213 was refunded with ref 9f86d081884c.", 1, 4);
  EXPECT_GROUNDED("readFile failed with ENOENT at turn 3; the refund followed at turn 5.", 3, 5);
  EXPECT_GROUNDED("It wrote to [EMAIL_1].", 4, 6);  // placeholders of redaction are values too
  EXPECT_GROUNDED("The agent 'worker' called it.", 2, 4);  // agents are in the turn header
}

TEST(VerifyLiteral, RejectsFabricatedIdentifiers) {
  EXPECT_UNGROUNDED("Order ord-48231 was refunded.", 1, 4);            // transposed digits
  EXPECT_UNGROUNDED("Order ord-4821 was refunded.", 1, 4);             // a prefix is not the id
  EXPECT_UNGROUNDED("It read C:\\data\\refund.csv.", 3, 5);            // a near path
  EXPECT_UNGROUNDED("It called \"cancel_order\" at turn 4.", 2, 4);     // a made-up tool
  EXPECT_UNGROUNDED("It called lookupOrder first.", 2, 4);             // camelCase, not in the log
  EXPECT_UNGROUNDED("Customer C-1007 asked.", 2, 4);                   // only in uncited turn 1
  EXPECT_UNGROUNDED("It said 'refund issued twice'.", 4, 5);           // a made-up quote
  EXPECT_UNGROUNDED("The error was E4012 at turn 3.", 1, 3);           // a made-up code
  EXPECT_UNGROUNDED("It ran version 1.2.4.", 1, 3);                    // a made-up version
}

TEST(VerifyLiteral, NormalizesCaseQuotesWhitespaceAndEscapes) {
  EXPECT_GROUNDED("\xE2\x80\x9CLOOKUP_ORDER\xE2\x80\x9D, then \xE2\x80\x98issue_refund\xE2\x80\x99.", 2, 4);
  EXPECT_GROUNDED("\"Refund   order\nord-48213\".", 1, 4);
  EXPECT_GROUNDED("It read C:\\data\\refunds.csv and failed.", 3, 5);  // the log shows C:\\\\data
  EXPECT_GROUNDED("\"ENOENT: no such file.\"", 1, 3);                 // trailing punctuation
  EXPECT_GROUNDED("\"Refund order ... customer C-1007\"", 1, 3);       // an elided quote
  EXPECT_GROUNDED("At turns 2\xE2\x80\x93" "4.", 2, 4);                     // an en dash range
}

TEST(VerifyLiteral, AcceptsNumbersInEveryFormat) {
  EXPECT_GROUNDED("The total was 1250.50 EUR.", 2, 4);
  EXPECT_GROUNDED("The total was 1,250.5 EUR.", 2, 4);
  EXPECT_GROUNDED("A balance of 4,000 before, 4000.0 in the log.", 2, 4);
  EXPECT_GROUNDED("The refund cost $0.25 at turn #4.", 2, 4);
  EXPECT_GROUNDED("3 items.", 2, 5);
}

TEST(VerifyLiteral, AcceptsCountsTurnNumbersAndDistances) {
  EXPECT_GROUNDED("Worker acted 3 times (turns 2, 3 and 4).", 2, 3, 4);
  EXPECT_GROUNDED("Twice: at turns 2 and 4.", 2, 4);
  EXPECT_GROUNDED("2 of the 3 calls succeeded, 67% of them.", 2, 3, 4);
  EXPECT_GROUNDED("The refund came 2 turns after the lookup (turns 2-4).", 2, 4);
}

TEST(VerifyLiteral, AcceptsDurationsBetweenCitedTimestamps) {
  EXPECT_GROUNDED("75 seconds passed between turn 2 and turn 4.", 2, 4);
  EXPECT_GROUNDED("About 1.25 minutes.", 2, 4);
  EXPECT_GROUNDED("1 minute 15 seconds.", 2, 4);
  EXPECT_GROUNDED("75000 ms.", 2, 4);
  EXPECT_GROUNDED("300 seconds from request to mail.", 1, 6);
}

TEST(VerifyLiteral, AcceptsSumsAndDifferencesOfOneKey) {
  EXPECT_GROUNDED("The two calls cost $0.35 in total.", 2, 4);        // cost 0.10 + 0.25
  EXPECT_GROUNDED("The balance dropped by 1,249.75.", 2, 4);          // 4000 - 2750.25
  EXPECT_GROUNDED("The balances add up to 6750.25.", 2, 4);
}

TEST(VerifyLiteral, RejectsFabricatedNumbers) {
  EXPECT_UNGROUNDED("The total was 1,205.50 EUR.", 2, 4);
  EXPECT_UNGROUNDED("The two calls cost $0.45 in total.", 2, 4);
  EXPECT_UNGROUNDED("It took 80 seconds.", 2, 4);
  EXPECT_UNGROUNDED("Worker acted 7 times.", 2, 3, 4);                // more than were cited
  EXPECT_UNGROUNDED("It happened at turn 11.", 2, 4);                 // an uncited turn
  EXPECT_UNGROUNDED("The balance was 5000.", 4, 6);
  EXPECT_UNGROUNDED("The balance dropped by 1,250.75.", 2, 4);
  EXPECT_UNGROUNDED("The balance dropped by 3250.", 2, 4);             // no sum or difference of one key
  EXPECT_UNGROUNDED("About 1.4 minutes.", 2, 4);                       // 75 s is 1.25
  EXPECT_UNGROUNDED("It took 80 seconds.", 2, 4);
}

TEST(VerifyLiteral, LeavesProseAlone) {
  EXPECT_GROUNDED("The worker retried and/or gave up, e.g. after a long-running call.", 2, 4);
  EXPECT_GROUNDED("", 2, 4);
  EXPECT_GROUNDED("The agent's refund went through.", 2, 4);  // an apostrophe is no quote
}

TEST(VerifyLiteral, NeverThrowsOnOddInput) {
  Trajectory t = orders();
  std::string huge(4 << 20, 'x');
  for (std::size_t i = 0; i < huge.size(); i += 97) huge[i] = static_cast<char>(0x80 + i % 64);
  huge += " ord-777 \\u00e9 \\ud800 \\";
  t.turns[1].fields.push_back({"blob", huge});
  const std::vector<std::string> answers = {
       "\"unbalanced", "'a 'b 'c", "\xFF\xFE\x80", "``", "1,2,3,4,5", "ord-777 at turn 2",
        std::string(20000, '"'), std::string(1000, '\'') + "x", "99999999999999999999999999999999999"};
  for (const std::string& answer : answers) {
    EXPECT_NO_THROW(verify_literal(qa(answer, {2, 4}), t)) << answer.substr(0, 40);
  }
  EXPECT_TRUE(verify_literal(qa("ord-777 at turn 2", {2, 4}), t).grounded);
  EXPECT_FALSE(verify_literal(qa(std::string(20000, 'a'), {2, 4}), t).grounded);  // too long to check
}

// Random tool logs: what the offline compiler writes must always pass.
Trajectory random_log(unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<const char*> options) {
    return std::string(*(options.begin() + rng() % options.size()));
  };
  Trajectory t;
  t.session_id = "random-" + std::to_string(seed);
  const int turns = 3 + static_cast<int>(rng() % 40);
  for (int i = 1; i <= turns; ++i) {
    const std::string agent = pick({"planner", "coder", "Verifier", "web_surfer"});
    std::vector<Field> fields = {{"agent", agent}};
    if (rng() % 4) {
      fields.push_back({"tool", pick({"search", "read_file", "runTests", "git.commit"})});
      fields.push_back({"arguments",
                        "{\"path\": \"" + pick({"a.txt", "b/c.py", "d e.md"}) +
                            "\", \"n\": " + std::to_string(rng() % 3) + "}",
                        true});
      fields.push_back({"success", pick({"true", "false"})});
    }
    fields.push_back({"response", pick({"Looked at report_7.txt", "v1.2.3 ok", "out/log_9 failed"})});
    char at[40];
    std::snprintf(at, sizeof at, "2026-01-02T03:%02d:%02d.000000Z", i / 60, i % 60);
    t.turns.push_back(turn(i, at, agent, std::move(fields)));
  }
  return t;
}

TEST(VerifyLiteral, OfflineCompilerPairsAreAllGrounded) {
  std::size_t pairs = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    const Trajectory t = random_log(seed);
    const Validation v = validate_pairs(extract_json(offline_compile(t, 8)),
                                        static_cast<int>(t.turns.size()), 8);
    for (const QaPair& p : v.kept) {
      const Grounding g = verify_literal(p, t);
      EXPECT_TRUE(g.grounded) << "seed " << seed << ": " << p.answer << " -> " << missing(g);
      ++pairs;
    }
  }
  EXPECT_GT(pairs, 500u);
}

}  // namespace
}  // namespace trajc
