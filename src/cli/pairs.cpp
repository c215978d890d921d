// The qa_pairs column table and the export filter (see pairs.hpp). Builds SQL
// text only; must never run a statement or read a value.
#include "pairs.hpp"

#include "pg.hpp"

namespace trajc_cli {

const PairColumnSpec kPairColumns[kPairColumnCount] = {
    {"id", ValueKind::Text},
    {"session_id", ValueKind::Text},
    {"agent", ValueKind::Text},
    {"turn_count", ValueKind::Number},
    {"question", ValueKind::Text},
    {"answer", ValueKind::Text},
    {"supporting_turns", ValueKind::Json},
    {"qa_type", ValueKind::Text},
    {"source_model", ValueKind::Text},
    {"cost_usd", ValueKind::Number},
    {"raw_extraction", ValueKind::Json},
    {"created_at", ValueKind::Text},
};

std::string pair_columns(const std::vector<PairColumn>& which, const char* prefix) {
  std::string out;
  for (PairColumn c : which)
    out += (out.empty() ? "" : ", ") + (prefix + std::string(kPairColumns[c].name));
  return out;
}

std::string pair_columns(const char* prefix) {
  std::vector<PairColumn> all;
  for (int c = 0; c < kPairColumnCount; c++) all.push_back(static_cast<PairColumn>(c));
  return pair_columns(all, prefix);
}

std::string pair_select_list() {
  std::string out;
  for (int c = 0; c < kPairColumnCount; c++) {
    const std::string column = std::string("p.") + kPairColumns[c].name;
    out += (c ? ", " : "") + (c == kCreatedAt ? iso_utc(column) : column);
  }
  return out;
}

std::string iso_utc(const std::string& expr) {
  return "to_char(" + expr + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

std::string pair_where(const Pg& db, const PairFilter& f) {
  std::vector<std::string> terms;
  if (f.qa_type) terms.push_back("p.qa_type = " + db.literal(*f.qa_type));
  if (f.since) terms.push_back("p.created_at >= " + db.literal(*f.since) + "::timestamptz");
  if (!f.sessions.empty()) {
    std::string in;
    for (const auto& s : f.sessions) in += (in.empty() ? "" : ", ") + db.literal(s);
    terms.push_back("p.session_id IN (" + in + ")");
  }
  if (f.dedup) terms.push_back("p.duplicate_of IS NULL");
  std::string out;
  for (const auto& t : terms) out += (out.empty() ? " WHERE " : " AND ") + t;
  return out;
}

}  // namespace trajc_cli
