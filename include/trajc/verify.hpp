// Literal verification of a question-answer pair against the turns it cites
// (trajc.verify = 'literal'): pure text work, no model, no network. It must
// never throw on odd input (beyond std::bad_alloc) and stays linear in the
// cited text for a bounded answer.
//
// Must never: accept an answer value no cited turn gives, or reject a count
// or duration the cited turns give directly (see verify.cpp).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <vector>

#include "trajc/qa.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

// One cited turn: its number and its text as the prompt renders it
// (`### Turn N (time, agent)` header, then `name: value` lines).
struct CitedTurn {
  int number = 0;
  std::string text;
};

struct Grounding {
  bool grounded = true;
  // What the answer states that no cited turn gives, normalized (at most
  // kMaxMissing items, for logs and tests; never a secret: the answer is
  // built from already redacted text).
  std::vector<std::string> missing;
  static constexpr std::size_t kMaxMissing = 8;
};

// A turn's text as the prompt shows it, without elision of long values.
std::string cited_turn_text(const Turn& turn);
// The cited turns of `t` (numbers not in t are skipped).
std::vector<CitedTurn> cited_turns(const Trajectory& t, const std::vector<int>& numbers);

// Whether every quoted string, identifier-like token and number of
// pair.answer is given by the cited turns (see verify.cpp for the rules and
// for what the check cannot see).
Grounding verify_literal(const QaPair& pair, const std::vector<CitedTurn>& cited);
Grounding verify_literal(const QaPair& pair, const Trajectory& t);

}  // namespace trajc
