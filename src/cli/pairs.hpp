// What a QA pair is to the tool: the columns of trajc.qa_pairs, stated once
// for every SELECT, INSERT, COPY and JSON line, and the filter of `export`.
// Never write a qa_pairs column name anywhere else in src/cli: a column added
// to the table is added here (and in a migration under migrations/).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "output.hpp"

namespace trajc_cli {

class Pg;

// Indexes into kPairColumns, in table order: also the position of each column
// in every result and statement built from pair_columns().
enum PairColumn {
  kId,
  kSessionId,
  kAgent,
  kTurnCount,
  kQuestion,
  kAnswer,
  kSupportingTurns,
  kQaType,
  kSourceModel,
  kCostUsd,
  kRawExtraction,
  kCreatedAt,
  kPairColumnCount
};

struct PairColumnSpec {
  const char* name;  // the same in trajc.qa_pairs, the SQLite file and the mirror
  ValueKind kind;    // how a JSON line writes it
};

extern const PairColumnSpec kPairColumns[kPairColumnCount];

// "id, session_id, ..." for the given columns (default: all, in table order),
// each name after `prefix` ("p." for an alias).
std::string pair_columns(const char* prefix = "");
std::string pair_columns(const std::vector<PairColumn>& which, const char* prefix = "");

// The SELECT list of an export read from `trajc.qa_pairs p`: every column,
// created_at as ISO 8601 UTC text so files do not depend on the reader's
// time zone.
std::string pair_select_list();

// A timestamptz expression as ISO 8601 UTC with microseconds:
// 2025-01-31T12:00:00.000000Z (the form of Turn::at, too).
std::string iso_utc(const std::string& expr);

// Which pairs `trajc export` takes.
struct PairFilter {
  std::optional<std::string> qa_type;
  std::optional<std::string> since;
  std::vector<std::string> sessions;
  bool dedup = false;  // leave out pairs marked duplicate_of another session's
};

// " WHERE ..." over the alias p (empty without a filter). Values are quoted
// by libpq rather than bound, because the same clause also goes into
// COPY (SELECT ...), which takes no parameters.
std::string pair_where(const Pg& db, const PairFilter& f);

}  // namespace trajc_cli
