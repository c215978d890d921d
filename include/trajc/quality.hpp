// The quality pass over a session's validated pairs: literal verification
// (ungrounded) and near-duplicates within the session (near_duplicate), with
// what qa_pairs stores per pair (verified_by, question_key, band keys). Pure
// core: the cross-session index lookup is the boundary's (dedup.hpp).
//
// Must never: keep a pair it rejected, or count a rejection under a reason
// other than ungrounded / near_duplicate.
#pragma once
#include "trajc/core_guard.hpp"

#include <string>
#include <vector>

#include "trajc/dedup.hpp"
#include "trajc/defaults.hpp"
#include "trajc/qa.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

enum class VerifyMode { Off, Literal, Model };
// trajc.verify's words, in VerifyMode order.
inline constexpr const char* kVerifyModes[] = {"off", "literal", "model"};
const char* verify_mode_name(VerifyMode m);
// The mode a word names; throws Error(kInvalidParameter) for another word.
VerifyMode verify_mode(const char* name);

struct QualitySettings {
  VerifyMode verify = verify_mode(defaults::kVerify);  // Model: literal here, the model call elsewhere
  double dedup_threshold = defaults::kDedupThreshold.value;  // >= 1: exact key only
};

// What a kept pair stores beside the pair itself.
struct PairQuality {
  std::string verified_by;  // "literal", or empty when not verified
  QuestionFingerprint fingerprint;
};

// Checks v.kept in order against `t` (the trajectory as the model saw it,
// i.e. after redaction): an ungrounded pair, then a pair nearly repeating an
// earlier kept one, is moved to v.rejected under its reason. Returns one
// PairQuality per pair still kept, in the same order.
std::vector<PairQuality> check_quality(Validation& v, const Trajectory& t, const QualitySettings& s);

}  // namespace trajc
