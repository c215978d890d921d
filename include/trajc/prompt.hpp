#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <string>

#include "trajc/trajectory.hpp"

namespace trajc {

struct PromptOptions {
  std::size_t budget_chars = 400000;   // whole rendered trajectory (~100k tokens)
  std::size_t max_value_chars = 4000;  // one field value before its middle is elided
  int max_questions = 5;
};

// The trajectory with `### Turn N (time, agent)` headers, shortened to the
// budget without renumbering: first the middle of long values is elided, then
// whole middle turns, each elision said in the text.
std::string render_trajectory(const Trajectory& t, const PromptOptions& opt);
// Instructions + `Session: <id>` line + rendered trajectory.
std::string build_prompt(const Trajectory& t, const PromptOptions& opt);

}  // namespace trajc
