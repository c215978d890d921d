// Rows as plain values -> turn text and Trajectory: NULLs skipped, json
// compacted, turns numbered in row order, the session's agent by majority.
#include "trajc/audit_rows.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace trajc;

namespace {

RawValue v(const char* s) { return RawValue{s, static_cast<int>(std::strlen(s))}; }
const RawValue kNull{nullptr, -1};

// Three rows of (tool text, arguments json).
struct Fixture {
  RawColumn columns[2] = {{"tool", false}, {"arguments", true}};
  RawValue at[3] = {v("2026-01-01T00:00:01.000000Z"), v("2026-01-01T00:00:02.000000Z"), kNull};
  RawValue agent[3] = {v("coder"), kNull, v("coder")};
  RawValue values[6] = {v("search"), v("{ \"q\" : \"retry\" }"),  //
                        kNull, kNull,                             //
                        v("edit"), kNull};
  RawRows rows() const { return RawRows{3, 2, columns, at, agent, values}; }
};

Turn turn_with_agent(const char* agent) {
  Turn t;
  t.agent = agent;
  return t;
}

}  // namespace

TEST(AuditRows, RendersARowsNonNullColumns) {
  Fixture f;
  std::string out = "left over";
  render_row(f.rows(), 0, out);
  EXPECT_EQ(out, "tool: search\narguments: {\"q\":\"retry\"}");
  render_row(f.rows(), 1, out);
  EXPECT_EQ(out, "");
  render_row(f.rows(), 2, out);
  EXPECT_EQ(out, "tool: edit");
}

TEST(AuditRows, MakesTheTrajectory) {
  Fixture f;
  Trajectory t;
  t.turns.push_back(Turn{});  // replaced, not appended to
  to_trajectory(f.rows(), "s-1", t);
  EXPECT_EQ(t.session_id, "s-1");
  EXPECT_EQ(t.agent, "coder");
  ASSERT_EQ(t.turns.size(), 3u);
  EXPECT_EQ(t.turns[0].number, 1);
  EXPECT_EQ(t.turns[2].number, 3);
  EXPECT_EQ(t.turns[0].at, "2026-01-01T00:00:01.000000Z");
  EXPECT_EQ(t.turns[2].at, "");  // NULL time: empty
  EXPECT_EQ(t.turns[1].agent, "");
  ASSERT_EQ(t.turns[0].fields.size(), 2u);
  EXPECT_EQ(t.turns[0].fields[1].name, "arguments");
  EXPECT_TRUE(t.turns[0].fields[1].is_json);
  EXPECT_EQ(t.turns[0].fields[1].value, "{ \"q\" : \"retry\" }");  // kept as stored
  EXPECT_TRUE(t.turns[1].fields.empty());
  EXPECT_EQ(render_turn(t.turns[0].fields), "tool: search\narguments: {\"q\":\"retry\"}");
}

TEST(AuditRows, SessionAgentIsTheMostFrequent) {
  std::vector<Turn> turns;
  for (const char* a : {"reviewer", "coder", "", "coder", "reviewer", "coder"})
    turns.push_back(turn_with_agent(a));
  EXPECT_EQ(session_agent(turns), "coder");
}

TEST(AuditRows, SessionAgentTiesGoToTheFirstInByteOrder) {
  std::vector<Turn> turns;
  for (const char* a : {"zed", "alice", "zed", "alice", "Bob"}) turns.push_back(turn_with_agent(a));
  EXPECT_EQ(session_agent(turns), "alice");
  turns.push_back(turn_with_agent("Bob"));
  turns.push_back(turn_with_agent("Bob"));
  EXPECT_EQ(session_agent(turns), "Bob");
}

TEST(AuditRows, NoAgentNamedGivesEmpty) {
  std::vector<Turn> turns{turn_with_agent(""), turn_with_agent("")};
  EXPECT_EQ(session_agent(turns), "");
  EXPECT_EQ(session_agent({}), "");
}
