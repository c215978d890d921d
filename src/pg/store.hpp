// Storing a run's results: one trajc.compile_log row per session attempt,
// one trajc.qa_pairs row per kept pair, each session in a subtransaction of
// its own so that a failure to store it loses only that session.
//
// Rows are typed structs; each table's columns, their SQL types and how each
// is read from the struct are listed once, in store.cpp. Their text is
// UTF-8, as the core's; every text column is made storable in one place
// (stored_text.hpp) on its way in.
//
// Must never: store a pair without its compile_log row, lose a session's
// cost when storing its pairs fails, swallow a cancel, or look for
// duplicates by scanning every pair.
#pragma once

#include "model_choice.hpp"
#include "pg_boundary.hpp"

namespace trajc_pg {

// A text value in UTF-8 (database text goes through to_core_text first); a
// default-constructed view (data() == nullptr) is SQL NULL.
using Text = std::string_view;

// One trajc.compile_log row.
struct LogRow {
  Text session_id;
  Text trajectory_hash;  // NULL when the session was not read
  Text provider;
  Text model;
  trajc::Status status;
  int turn_count;  // 0 = not read (NULL)
  int pairs_kept;
  int pairs_rejected;
  Text rejected_reasons;  // a JSON object; NULL = {}
  int64 tokens_in;
  int64 tokens_out;
  double cost_usd;  // the whole call, whatever was kept
  int http_status;  // 0 = no HTTP response (NULL)
  int attempts;
  Text error;
  int64 started_unix_ms;   // 0 = the transaction's start
  int64 finished_unix_ms;  // 0 = now
  Text redactions;         // a JSON object of counts by kind; NULL = not redacted
};

// One trajc.qa_pairs row.
struct PairRow {
  Text session_id;
  Text agent;  // NULL when the session names none
  int turn_count;
  Text question;
  Text answer;
  Text supporting_turns;  // a JSON array
  Text qa_type;
  Text source_model;
  double cost_usd;       // this pair's share of the call
  Text raw_extraction;   // a JSON object
  Text trajectory_hash;
  int64 compile_id;      // its compile_log row
  Text verified_by;      // "literal"; NULL = not verified
  Text duplicate_of;     // uuid text of the earlier pair of another session; NULL = none
  Text question_key;
};

// What became of one session: the row trajc_compile_batch and
// trajc_compile_session return, and the pairs trajc_compile returns.
// Its texts are in the database encoding, as stored.
struct SessionResult {
  const char* session_id;  // as listed: the key of its claim
  trajc::Status status;
  int pairs;
  int rejected;
  double cost_usd;
  const char* error;  // NULL = none; bounded
  List* rows;         // copies of the inserted qa_pairs rows (keep_rows only)
  int64 compile_id;   // its compile_log row
};

struct Store;

// Prepares the inserts (SPI connected). keep_plans: they must survive the
// commits of a procedure. Objects live in `cxt`. dedup_threshold: how
// similar a question must be to another session's to be marked its
// duplicate (trajc.dedup_threshold, snapshot).
Store* open_store(MemoryContext cxt, const ModelChoice* model, bool keep_plans, double dedup_threshold);
void close_store(Store* store);

// The inserts, one function per table.
int64 insert_log(const Store* store, const LogRow& row);
HeapTuple insert_pair(const Store* store, const PairRow& row);  // the row as inserted (SPI's)

// Whether the session was compiled with status ok at this trajectory hash,
// by any run that has committed, whatever this statement's snapshot (call it
// holding the session's claim).
bool compiled_before(const Store* store, const char* session_id, const char* hash);
// The open provider batch job holding the session (trajc.batch_requests), or
// 0: such a session is the batch's until collected, compiled by nobody else.
int64 open_batch_of(const Store* store, const char* session_id);
// Logs a session that is not compiled (skipped) or failed before it was sent,
// and why (every run can be audited from compile_log). Texts in the database
// encoding.
SessionResult log_session(const Store* store, const char* session_id, const char* hash,
                          trajc::Status status, const char* why);
// Stores a finished session (log row, then its pairs) in a subtransaction.
// A pair nearly repeating a stored pair of another session is kept and
// marked duplicate_of it (found through trajc.qa_pair_bands or the exact
// question_key, never by scanning pairs); other pairs' band keys are stored.
// If storing fails (a trigger, a constraint), the session is logged as failed
// with its tokens and cost, and no pair of it stays; an error that ends the
// run (subxact.hpp) is raised. keep_rows: copies of
// the inserted pairs come back in the result, safe to return once this
// function has returned (the subtransaction has committed).
SessionResult store_outcome(const Store* store, const trajc::CompileOutcome& o, bool keep_rows);

}  // namespace trajc_pg
