// The chat sink: one {"messages": [system, user, assistant]} line per pair
// for instruction tuning. The user message is the session's trajectory as
// trajc_turns returns it, under the core's turn headings, then the question.
// Must never render a turn itself: the extension renders turn texts and the
// core writes the headings, so training data looks like the compile prompt.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "out_file.hpp"
#include "output.hpp"
#include "pairs.hpp"
#include "pg.hpp"
#include "sinks.hpp"
#include "trajc/prompt.hpp"

namespace trajc_cli {

namespace {

constexpr const char* kChatSystemPrompt =
    "You answer questions about the trajectory of an AI agent run: a numbered log of turns. "
    "Ground every answer in the turns, citing turn numbers where they matter.";

class ChatSink : public PairSink {
 public:
  ChatSink(const std::string& path, TrajcDb& db) : out_(path), db_(db) {}
  // A session's pairs together, so its trajectory is read once.
  const char* order_by() const override { return "p.session_id, p.created_at, p.id"; }
  bool reads_database() const override { return true; }
  void write(const PGresult* rows, int row) override {
    const std::string session = PQgetvalue(rows, row, kSessionId);
    if (session != cached_session_) load_trajectory(session);
    if (trajectory_.empty()) {
      skipped_++;  // the session is gone from the audit log: nothing to ground the pair in
      return;
    }
    line_ = "{\"messages\": [{\"role\": \"system\", \"content\": ";
    append_json_string(line_, kChatSystemPrompt);
    line_ += "}, {\"role\": \"user\", \"content\": ";
    append_json_string(line_, trajectory_ + "\n\nQuestion: " + PQgetvalue(rows, row, kQuestion));
    line_ += "}, {\"role\": \"assistant\", \"content\": ";
    append_json_string(line_, PQgetvalue(rows, row, kAnswer));
    line_ += "}]}";
    out_.line(line_);
    written_++;
  }
  void commit() override {
    out_.commit();
    if (skipped_)
      std::fprintf(stderr,
                   "trajc: %ld pairs skipped: their sessions are no longer in the audit log\n",
                   skipped_);
  }
  long written() const override { return written_; }

 private:
  void load_trajectory(const std::string& session) {
    PgResult turns = db_.exec("SELECT turn, " + iso_utc("t.at") + ", t.agent, t.content FROM " +
                                  db_.fn("trajc_turns") + "($1) t ORDER BY turn",
                              {session.c_str()});
    cached_session_ = session;
    trajectory_.clear();
    const int n = PQntuples(turns.get());
    if (n == 0) return;
    trajectory_ = "Session: " + session + " (" + std::to_string(n) + " turns)";
    for (int r = 0; r < n; r++) {
      trajectory_ += "\n\n";
      trajc::append_turn_heading(trajectory_, std::atoi(PQgetvalue(turns.get(), r, 0)),
                                 PQgetvalue(turns.get(), r, 1), PQgetvalue(turns.get(), r, 2));
      trajectory_ += '\n';
      trajectory_ += PQgetvalue(turns.get(), r, 3);
    }
  }

  LineFile out_;
  TrajcDb& db_;
  std::string cached_session_, trajectory_, line_;
  long written_ = 0, skipped_ = 0;
};

}  // namespace

std::unique_ptr<PairSink> chat_sink(const std::string& path, TrajcDb& db) {
  return std::make_unique<ChatSink>(path, db);
}

}  // namespace trajc_cli
