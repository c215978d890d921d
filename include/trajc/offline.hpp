// The offline compiler's interface: pairs without a model, cost 0.
//
// Must never: need a key, the network or a clock.
#pragma once
#include "trajc/core_guard.hpp"

#include <string>

#include "trajc/cancel.hpp"
#include "trajc/defaults.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

// The deterministic, network-free compiler: a reply in the same JSON shape a
// model gives ({"pairs":[...]}), built from the trajectory itself, so it runs
// through the same validation. Every answer is literally checkable against the
// turns it cites; up to max_questions pairs covering all four qa types when
// the trajectory allows.
std::string offline_compile(const Trajectory& t, int max_questions = defaults::kMaxQuestions,
                            CancelCheck cancel = nullptr);

}  // namespace trajc
