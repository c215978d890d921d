// Recall for the command line: `trajc recall report` and the retrieval
// tables the HTML report draws its recall@k curves from. The figures are
// trajc_recall_report's; the tool only builds the inputs and prints.
#pragma once

#include <string>

#include "pg.hpp"

namespace trajc_cli {

// Fills the session's temporary table pg_temp.trajc_baseline_<method>
// (pair_id, rank, turn) with trajc_retrieve(pair, k, method) for the first
// `pairs` pairs by id (0 = every pair) and returns its name, ready for
// trajc_recall_report. A pair the baseline retrieves nothing for gets one
// row with NULL rank and turn, so it counts as a miss instead of vanishing.
std::string build_baseline(TrajcDb& db, const std::string& method, int k, int pairs);

}  // namespace trajc_cli
