#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <string>
#include <string_view>

#include "trajc/trajectory.hpp"

namespace trajc {

struct PromptOptions {
  std::size_t budget_chars = 400000;   // whole rendered trajectory (~100k tokens)
  std::size_t max_value_chars = 4000;  // one field value before its middle is elided
  int max_questions = 5;
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
