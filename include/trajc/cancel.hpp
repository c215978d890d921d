// Cancel checks for long core work. The caller (the backend, the CLI) says
// when to stop; every loop of the core over untrusted input asks often
// enough that a cancel acts within well under 100 ms.
//
// Must never: wait, or raise anything but Error(kQueryCanceled).
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>

namespace trajc {

// Returns true when the work must stop now (cancel requested). Must be cheap
// and must never throw: it is called from inside parsers and transfer loops.
using CancelCheck = bool (*)();

// The one cancel error of the core: Error(kQueryCanceled).
[[noreturn]] void throw_canceled();

// Counts work (about one unit per byte scanned) and asks `cancel` once at
// the start and again after every kEvery units: at a few hundred MB/s that is
// far more often than every 100 ms, and costs nothing measurable.
class CancelPoll {
 public:
  static constexpr std::size_t kEvery = std::size_t{1} << 16;
  static constexpr std::size_t kItem = 64;  // one loop step over items (turns, pairs)

  explicit CancelPoll(CancelCheck cancel) : cancel_(cancel) { check(); }
  void work(std::size_t units) {
    done_ += units;
    if (done_ >= kEvery) {
      done_ = 0;
      check();
    }
  }
  void item() { work(kItem); }
  void check() const {
    if (cancel_ != nullptr && cancel_()) throw_canceled();
  }

 private:
  CancelCheck cancel_;
  std::size_t done_ = 0;
};

}  // namespace trajc
