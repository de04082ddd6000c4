// Test helper: the message of the exception a call throws, for tests that check what an error names.
#pragma once
#include <functional>
#include <string>

#include "reference/core/error.hpp"

namespace amt::testing {

// Runs `f`; returns what() of the ErrorType it throws, or "" when it throws nothing. Any other exception
// propagates, so a wrong error type fails the test loudly.
template <class ErrorType = amt::Error>
std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const ErrorType& e) {
    return e.what();
  }
  return "";
}

}  // namespace amt::testing
