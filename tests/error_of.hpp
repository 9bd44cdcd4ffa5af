// The message of the zest::Error that f throws, or "" when it throws none: for tests of what an
// error says.
#pragma once

#include <string>

#include "zest/error.hpp"

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const zest::Error& e) {
    return e.what();
  }
  return "";
}
