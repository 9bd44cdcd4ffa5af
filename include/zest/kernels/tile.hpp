// Loading and storing one row of a 32-output tile, whole or the valid part of the last panel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

inline constexpr size_t kPanelBatches = kPanel / kLanes;
// Inputs per cache block: a 32-row f32 panel slice of 256 inputs is 32 KiB, L1-sized.
inline constexpr size_t kBlockInputs = 256;
// Below this many rows the activations fit in L1 whole and there is no weight reuse to block
// for, so each panel streams in one pass: one sequential read per panel, prefetcher-friendly.
inline constexpr size_t kMinRowsToBlock = 4;

inline size_t input_block(size_t m, size_t k) { return m < kMinRowsToBlock ? k : kBlockInputs; }

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

// Where a tile's accumulators start: zero or what y already holds, plus the bias if any.
struct TileInit {
  bool load_y;
  const float* bias;  // kPanel values (padded), or null
};

// Bytes of output (m rows x the panels of one group) that stay in L2 while every cache block of
// inputs adds to them.
inline constexpr size_t kOutputGroupBytes = 256 * 1024;

// Calls tiles(k0, kn, p, n0, n_valid, init) for each cache block of `block` inputs [k0, k0 + kn)
// and each panel p in [p0, p1) (outputs [n0, n0 + n_valid)). Panels go in groups whose outputs
// for the m activation rows fit in kOutputGroupBytes; within a group, blocks go outermost so a
// block of the group's weights stays in cache while the tiles sweep the rows, and the group's
// outputs stay in L2 from one block to the next. The first block starts from y (accumulate) or
// zero, plus the bias; later blocks add to y.
template <typename Tiles>
inline void for_each_block_and_panel(const PackedMatrix& w, const float* bias, bool accumulate, size_t p0, size_t p1,
                                     size_t m, size_t block, Tiles tiles) {
  const size_t k_total = w.cols(), n = w.rows();
  const size_t group = std::max<size_t>(1, kOutputGroupBytes / (m * kPanel * sizeof(float)));
  for (size_t g0 = p0; g0 < p1; g0 += group) {
    const size_t g1 = std::min(p1, g0 + group);
    for (size_t k0 = 0; k0 < k_total; k0 += block) {
      const size_t kn = std::min(block, k_total - k0);
      for (size_t p = g0; p < g1; ++p) {
        const size_t n0 = p * kPanel, n_valid = std::min(kPanel, n - n0);
        alignas(64) float panel_bias[kPanel] = {};
        if (bias && k0 == 0) std::memcpy(panel_bias, bias + n0, n_valid * sizeof(float));
        tiles(k0, kn, p, n0, n_valid, TileInit{accumulate || k0 > 0, bias && k0 == 0 ? panel_bias : nullptr});
      }
    }
  }
}

}  // namespace zest::detail
