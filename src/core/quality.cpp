// See quality.hpp. Rejections are counted like validate_pairs' own, so
// compile_log.rejected_reasons shows them beside the others.
// Must never: verify against anything but what the model was shown.
#include "trajc/quality.hpp"

#include <cstring>
#include <iterator>

#include "trajc/error.hpp"
#include "trajc/verify.hpp"

namespace trajc {

const char* verify_mode_name(VerifyMode m) { return kVerifyModes[static_cast<int>(m)]; }

VerifyMode verify_mode(const char* name) {
  for (std::size_t i = 0; i < std::size(kVerifyModes); ++i) {
    if (name != nullptr && std::strcmp(name, kVerifyModes[i]) == 0) return static_cast<VerifyMode>(i);
  }
  throw Error(sqlstate::kInvalidParameter, "trajc.verify must be off, literal or model");
}

std::vector<PairQuality> check_quality(Validation& v, const Trajectory& t, const QualitySettings& s) {
  std::vector<QaPair> kept;
  std::vector<PairQuality> quality;
  for (QaPair& pair : v.kept) {
    PairQuality q;
    if (s.verify != VerifyMode::Off) {
      if (!verify_literal(pair, t).grounded) {
        ++v.rejected[reject::kUngrounded];
        continue;
      }
      q.verified_by = "literal";
    }
    q.fingerprint = fingerprint(pair.question);
    bool repeat = false;
    for (const PairQuality& earlier : quality) {
      repeat = repeat || is_near_duplicate(q.fingerprint, earlier.fingerprint, s.dedup_threshold);
    }
    if (repeat) {
      ++v.rejected[reject::kNearDuplicate];
      continue;
    }
    kept.push_back(std::move(pair));
    quality.push_back(std::move(q));
  }
  v.kept = std::move(kept);
  return quality;
}

}  // namespace trajc
