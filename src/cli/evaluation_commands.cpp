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
      {"eval run",
       "ask a model the pairs' questions and grade its answers",
       "--label LABEL [options]",
       "Calls CALL trajc_eval_pending(label, provider, model, limit, qa_type, grader), which\n"
       "commits as it goes, and shows progress from trajc.eval_runs. The model sees each\n"
       "session's trajectory and the question, never the answer. Ctrl-C cancels the call in\n"
       "flight and keeps every answer so far; the same command resumes the run.",
       {{"label", 0, "LABEL", "names the run (a new label starts one, an existing one resumes)"},
        {"provider", 0, "NAME", "gemini, openai, anthropic or offline (default: trajc.provider)"},
        {"model", 0, "MODEL", "the candidate model (default: trajc.tier's model)"},
        {"limit", 0, "N", "the first N pairs by id, 0 = all (default 0)"},
        {"qa-type", 0, "TYPE", "only pairs of this type"},
        {"grader", 0, "GRADER", "match, judge or auto (default auto)"}},
       run_eval_run},
      {"eval report",
       "accuracy per qa_type of one run, or two side by side with regressions",
       "A [B] [options]",
       "Calls trajc_eval_report(A, B): accuracy per qa_type over the pairs both runs\n"
       "answered, the delta, and the pairs only one got right. With B, also lists the pairs\n"
       "A got right and B did not.",
       {{"regressions", 0, "N", "with B: list at most N regressions (default 20)"}},
       run_eval_report,
       "A [B]"},
  };
  return commands;
}

}  // namespace trajc_cli
