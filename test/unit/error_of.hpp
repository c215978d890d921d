// The trajc::Error a call throws, for tests that check its SQLSTATE and
// message. A call that throws none fails the test (and yields an empty Error,
// so the test's own checks report what was expected).
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include "trajc/error.hpp"

inline trajc::Error error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const trajc::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no trajc::Error thrown";
  return trajc::Error("", "");
}
