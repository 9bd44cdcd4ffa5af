// f16/bf16 conversion against PyTorch's roundings (tests/data/kernels/half.json) and exhaustively
// against itself: every f16 and bf16 value must survive a round trip through f32.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/kernels/half.hpp"
#include "zest/io/read_file.hpp"

using namespace zest::detail;

TEST_CASE("f32 -> f16 and bf16 round as PyTorch does, scalar and array code alike") {
  const auto golden = nlohmann::json::parse(read_file(ZEST_TEST_DATA "/kernels/half.json"));
  std::vector<float> values;
  std::vector<uint16_t> want_f16, want_bf16;
  for (const auto& c : golden["cases"]) {
    values.push_back(std::bit_cast<float>(c[0].get<uint32_t>()));
    want_f16.push_back(c[1].get<uint16_t>());
    want_bf16.push_back(c[2].get<uint16_t>());
  }
  REQUIRE(values.size() > 4000);
  std::vector<uint16_t> f16(values.size()), bf16(values.size());
  f32_to_f16(values.data(), f16.data(), values.size());
  f32_to_bf16(values.data(), bf16.data(), values.size());
  int mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    mismatches += f32_to_f16(values[i]) != want_f16[i];
    mismatches += f32_to_bf16(values[i]) != want_bf16[i];
    mismatches += f16[i] != want_f16[i];
    mismatches += bf16[i] != want_bf16[i];
  }
  CHECK(mismatches == 0);
}

TEST_CASE("every f16 and bf16 value converts to f32 exactly and back") {
  std::vector<uint16_t> all(65536), back(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = uint16_t(h);
  std::vector<float> f16(65536), bf16(65536);
  f16_to_f32(all.data(), f16.data(), all.size());
  bf16_to_f32(all.data(), bf16.data(), all.size());
  int mismatches = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    mismatches += std::bit_cast<uint32_t>(f16[h]) != std::bit_cast<uint32_t>(f16_to_f32(uint16_t(h)));
    mismatches += std::bit_cast<uint32_t>(bf16[h]) != (h << 16);
    if (!std::isnan(f16[h])) mismatches += f32_to_f16(f16[h]) != h;
    if (!std::isnan(bf16[h])) mismatches += f32_to_bf16(bf16[h]) != h;
  }
  CHECK(mismatches == 0);
  // Spot values whose meaning is known.
  CHECK(f16_to_f32(0x3c00) == 1.0f);
  CHECK(f16_to_f32(0x7bff) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(f16_to_f32(0xfc00)));
  CHECK(std::isnan(f16_to_f32(0x7e00)));
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}
