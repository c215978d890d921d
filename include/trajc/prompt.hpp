// The prompt: a trajectory rendered turn by turn within a size budget, and the
// instructions that ask a model for grounded QA pairs.
//
// Must never: renumber turns when shortening (answers cite the original
// numbers), or drop the first or the last turn.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <string>
#include <string_view>

#include "trajc/defaults.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

struct PromptOptions {
  // whole rendered trajectory
  std::size_t budget_chars = static_cast<std::size_t>(defaults::kPromptBudgetChars.value);
  // one field value before its middle is elided
  std::size_t max_value_chars = static_cast<std::size_t>(defaults::kMaxValueChars.value);
  int max_questions = defaults::kMaxQuestions;
};

// Appends `### Turn N (time, agent)`, the heading of one turn (without the
// agent when it is empty). The prompt and the CLI's chat export both write
// turns under it, so a model sees one layout in training and in compiling.
void append_turn_heading(std::string& out, int number, std::string_view at,
                         std::string_view agent);

// The trajectory with `### Turn N (time, agent)` headers, shortened to the
// budget without renumbering: first the middle of long values is elided, then
// whole middle turns, each elision said in the text.
std::string render_trajectory(const Trajectory& t, const PromptOptions& opt);
// Instructions + `Session: <id>` line + rendered trajectory.
std::string build_prompt(const Trajectory& t, const PromptOptions& opt);

}  // namespace trajc
