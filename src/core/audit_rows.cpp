// From a session's rows (plain values) to turn text and to its Trajectory.
//
// Must never: render a NULL, renumber rows, or reorder columns: turn numbers
// and field order are what answers cite and what the hash covers.
#include "trajc/audit_rows.hpp"

#include <algorithm>

namespace trajc {

void render_row(const RawRows& rows, int r, std::string& out) {
  out.clear();
  const RawValue* row = rows.values + static_cast<std::size_t>(r) * rows.ncols;
  for (int c = 0; c < rows.ncols; c++)
    if (!row[c].is_null()) append_field(out, rows.columns[c].name, row[c].view(), rows.columns[c].is_json);
}

void to_trajectory(const RawRows& rows, std::string_view session_id, Trajectory& out) {
  out.session_id = session_id;
  out.turns.clear();
  out.turns.reserve(rows.nturns);
  for (int r = 0; r < rows.nturns; r++) {
    Turn turn;
    turn.number = r + 1;
    turn.at = rows.at[r].view();
    turn.agent = rows.agent[r].view();
    const RawValue* row = rows.values + static_cast<std::size_t>(r) * rows.ncols;
    for (int c = 0; c < rows.ncols; c++) {
      if (row[c].is_null()) continue;
      turn.fields.push_back({rows.columns[c].name, std::string(row[c].view()), rows.columns[c].is_json});
    }
    out.turns.push_back(std::move(turn));
  }
  out.agent = session_agent(out.turns);
}

std::string session_agent(const std::vector<Turn>& turns) {
  std::vector<std::string_view> agents;
  for (const Turn& t : turns)
    if (!t.agent.empty()) agents.push_back(t.agent);
  std::sort(agents.begin(), agents.end());
  std::string_view best;
  std::size_t best_count = 0;
  for (std::size_t i = 0; i < agents.size();) {
    std::size_t j = i;
    while (j < agents.size() && agents[j] == agents[i]) j++;
    if (j - i > best_count) best_count = j - i, best = agents[i];
    i = j;
  }
  return std::string(best);
}

}  // namespace trajc
