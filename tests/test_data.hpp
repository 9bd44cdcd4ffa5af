// Where the tests' data lives: tests/data in the source tree (ZEST_TEST_DATA, set by CMake).
#pragma once

#include <string>

inline std::string test_data(const std::string& relative) { return std::string(ZEST_TEST_DATA) + "/" + relative; }
