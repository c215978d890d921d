// What a call costs: list prices per million tokens, times reported usage.
//
// Must never: guess usage (estimates live in compile.hpp), or round.
#pragma once
#include "trajc/core_guard.hpp"

namespace trajc {

struct Prices {
  double usd_per_mtok_in = 0;
  double usd_per_mtok_out = 0;
};

inline double call_cost_usd(const Prices& p, long tokens_in, long tokens_out) {
  return (tokens_in * p.usd_per_mtok_in + tokens_out * p.usd_per_mtok_out) / 1e6;
}

}  // namespace trajc
