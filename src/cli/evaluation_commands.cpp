// The commands that use the pairs (report, recall, eval), registered here
// so that the dispatcher in main.cpp only appends this list to its own.
#include "commands.hpp"

namespace trajc_cli {

const std::vector<Command>& evaluation_commands() {
  static const std::vector<Command> commands = {
      {"report",
       "write one self-contained HTML page of charts about the pairs",
       "--html FILE [options]",
       "Pairs per type and per agent, cost per day, verified and near-duplicate shares, eval\n"
       "accuracy per type of two runs with the regressions listed, and recall@k curves of the\n"
       "fts and recent baselines and of any retrieval table given. Charts are inline SVG: the\n"
       "page loads nothing from anywhere. A part whose data is missing says \"not available\".\n"
       "The file is replaced whole (atomically).",
       {{"html", 0, "FILE", "the page to write"},
        {"eval", 0, "LABEL", "eval run to show, A then B (default: the two latest runs)", true},
        {"retrievals", 0, "TABLE", "a table or view (pair_id uuid, rank int, turn int) to draw",
         true},
        {"recall-pairs", 0, "N", "pairs the baselines retrieve for, first by id, 0 = all (default 300)"}},
       run_report},
      {"recall report",
       "recall@k of a retrieval table or a baseline, per qa_type",
       "(--table TABLE | --baseline METHOD) [options]",
       "Calls trajc_recall_report(table, k). TABLE is any table or view with columns\n"
       "(pair_id uuid, rank int, turn int) that you can read. --baseline fts|recent first\n"
       "fills a temporary table with trajc_retrieve(pair, k, method) for every pair (or the\n"
       "first --pairs by id).",
       {{"table", 0, "TABLE", "the retrieval table or view"},
        {"baseline", 0, "METHOD", "fts or recent instead of a table"},
        {"k", 'k', "N", "the first N retrieved turns count (default 10)"},
        {"pairs", 0, "N", "with --baseline: this many pairs, 0 = all (default 0)"}},
       run_recall_report},
  };
  return commands;
}

}  // namespace trajc_cli
