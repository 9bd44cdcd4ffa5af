// Loading and storing one row of a 32-output tile, whole or the valid part of the last panel.
#pragma once

#include <cstddef>
#include <cstring>

#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

inline constexpr size_t kPanelBatches = kPanel / kLanes;

inline void store_tile_row(const vfloat* acc, float* y, size_t n_valid) {
  if (n_valid == kPanel) {
    for (size_t j = 0; j < kPanelBatches; ++j) acc[j].store_unaligned(y + j * kLanes);
    return;
  }
  alignas(64) float row[kPanel];
  for (size_t j = 0; j < kPanelBatches; ++j) acc[j].store_aligned(row + j * kLanes);
  std::memcpy(y, row, n_valid * sizeof(float));
}

inline vfloat load_tile_batch(const float* y, size_t j, size_t n_valid) {
  if (n_valid == kPanel) return vfloat::load_unaligned(y + j * kLanes);
  alignas(64) float row[kPanel] = {};
  std::memcpy(row, y, n_valid * sizeof(float));
  return vfloat::load_aligned(row + j * kLanes);
}

}  // namespace zest::detail
