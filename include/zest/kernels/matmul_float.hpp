// GEMM / GEMV kernels for f32, bf16 and f16 weights with f32 activations and accumulation.
// One register-blocked tile kernel serves every shape: MR activation rows x one 32-row weight
// panel, stepping two inputs at a time (the bf16 pair). A "panel reader" turns the stored
// format into f32 batches in registers, so the conversion costs nothing extra in memory
// traffic: bf16 by a shift or mask of each 32-bit pair, f16 by F16C (scalar half.hpp without).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "zest/kernels/half.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/tile.hpp"

namespace zest::detail {

// Activation rows per tile: 12 x 2 accumulators fill AVX-512's 32 registers; narrower ISAs
// need more batches per panel, so fewer rows.
inline constexpr int kTileRows = kLanes >= 16 ? 12 : 4;

using PanelBatches = vfloat[kPanelBatches];

struct F32PanelReader {
  const float* panel;
  void pair(size_t k, PanelBatches& b0, PanelBatches& b1) const {
    for (size_t j = 0; j < kPanelBatches; ++j) {
      b0[j] = vfloat::load_aligned(panel + k * kPanel + j * kLanes);
      b1[j] = vfloat::load_aligned(panel + (k + 1) * kPanel + j * kLanes);
    }
  }
  void one(size_t k, PanelBatches& b0) const {
    for (size_t j = 0; j < kPanelBatches; ++j) b0[j] = vfloat::load_aligned(panel + k * kPanel + j * kLanes);
  }
};

struct Bf16PanelReader {
  const uint16_t* panel;  // [k/2][32][2]
  void pair(size_t k, PanelBatches& b0, PanelBatches& b1) const {
    const auto* lanes = reinterpret_cast<const uint32_t*>(panel + k * kPanel);
    for (size_t j = 0; j < kPanelBatches; ++j) {
      const vuint32 u = vuint32::load_aligned(lanes + j * kLanes);
      b0[j] = xsimd::bitwise_cast<vfloat>(u << 16);
      b1[j] = xsimd::bitwise_cast<vfloat>(u & vuint32(0xffff0000u));
    }
  }
  void one(size_t k, PanelBatches& b0) const {
    PanelBatches unused;
    pair(k, b0, unused);
  }
};

struct F16PanelReader {
  const uint16_t* panel;  // [k][32]
  void pair(size_t k, PanelBatches& b0, PanelBatches& b1) const {
    one(k, b0);
    one(k + 1, b1);
  }
  void one(size_t k, PanelBatches& b0) const {
    for (size_t j = 0; j < kPanelBatches; ++j) b0[j] = load_f16_batch(panel + k * kPanel + j * kLanes);
  }
};

// Cache lines of the weights that the next tiles will read, for a tile to prefetch into L2
// while it computes: the weights of a large model come from L3 or memory, where the hardware
// prefetchers, which stop at each 4 KiB page, leave the first tile of every panel waiting.
struct Prefetch {
  const char* lines = nullptr;
  size_t count = 0;
};

// y[r][0..n_valid) = init + sum_k x[r][k] * panel[k][.] for r < MR, k in [k0, k0 + kn).
// x points at row 0, input k0; y at row 0, the panel's first output.
template <int MR, typename Reader>
inline void float_tile(const float* x, size_t ldx, const Reader& reader, size_t k0, size_t kn, float* y,
                       size_t ldy, size_t n_valid, TileInit init, Prefetch next = {}) {
  // With one or two rows the FMA latency chain would bound a GEMV; odd inputs go to a second
  // set of accumulators then.
  constexpr bool split = MR <= 2;
  vfloat acc[MR][kPanelBatches], acc_odd[split ? MR : 1][kPanelBatches];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    for (size_t j = 0; j < kPanelBatches; ++j) {
      acc[r][j] = init.load_y ? load_tile_batch(y + r * ldy, j, n_valid) : vfloat(0.f);
      if (init.bias) acc[r][j] += vfloat::load_aligned(init.bias + j * kLanes);
      if constexpr (split) acc_odd[r][j] = vfloat(0.f);
    }
  // The lines of `next` spread evenly over the tile's input pairs.
  const size_t pairs = kn / 2, per_pair = pairs ? (next.count + pairs - 1) / pairs : 0;
  size_t k = 0;
  for (; k + 2 <= kn; k += 2) {
    for (size_t l = k / 2 * per_pair, end = std::min(next.count, l + per_pair); l < end; ++l)
      __builtin_prefetch(next.lines + l * 64, 0, 2);
    PanelBatches b0, b1;
    reader.pair(k0 + k, b0, b1);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const vfloat a0(x[r * ldx + k]), a1(x[r * ldx + k + 1]);
#pragma GCC unroll 8
      for (size_t j = 0; j < kPanelBatches; ++j) {
        acc[r][j] = xsimd::fma(a0, b0[j], acc[r][j]);
        if constexpr (split) acc_odd[r][j] = xsimd::fma(a1, b1[j], acc_odd[r][j]);
        else acc[r][j] = xsimd::fma(a1, b1[j], acc[r][j]);
      }
    }
  }
  if (k < kn) {
    PanelBatches b0;
    reader.one(k0 + k, b0);
    for (int r = 0; r < MR; ++r)
      for (size_t j = 0; j < kPanelBatches; ++j) acc[r][j] = xsimd::fma(vfloat(x[r * ldx + k]), b0[j], acc[r][j]);
  }
  for (int r = 0; r < MR; ++r) {
    if constexpr (split)
      for (size_t j = 0; j < kPanelBatches; ++j) acc[r][j] += acc_odd[r][j];
    store_tile_row(acc[r], y + r * ldy, n_valid);
  }
}

// Runs float_tile over rows [0, m) in tiles of kTileRows, then smaller tiles for the rest. The
// tiles share out the prefetch of `next`: all of them from kMinRowsToBlock rows, the full ones
// alone in a GEMV (none), whose one sequential stream the hardware prefetchers follow.
template <typename Reader>
inline void float_tile_rows(const float* x, size_t ldx, size_t m, const Reader& reader, size_t k0, size_t kn,
                            float* y, size_t ldy, size_t n_valid, TileInit init, Prefetch next) {
  // Full tiles, then tiles of 8 (where narrower than kTileRows), 4, 2, 1; a full tile and 4-7
  // rows more go as 8 and 8-11. A 4-row tile's 8 accumulators leave FMA units idle (768x768 f32
  // in L2, 1 thread, AMD EPYC Zen 5: 8 rows as 4 + 4 100 GFLOP/s, as one tile 135; 20 rows as
  // 12 + 4 + 4 149, as 12 + 8 169).
  constexpr size_t kRest[] = {8, 4, 2, 1};
  size_t full = m / kTileRows;
  if (kTileRows > 8 && full > 0 && m % kTileRows >= 4 && m % kTileRows < 8) --full;
  size_t r = 0, t = 0, tiles = full;
  if (m >= kMinRowsToBlock) {
    size_t rest = m - full * kTileRows;
    for (size_t R : kRest)
      if (R < size_t(kTileRows)) tiles += rest / R, rest %= R;
  }
  const size_t share = tiles ? (next.count + tiles - 1) / tiles : 0;
  auto prefetch = [&]() -> Prefetch {
    const size_t first = std::min(next.count, t * share);
    return t++ < tiles ? Prefetch{next.lines + first * 64, std::min(share, next.count - first)} : Prefetch{};
  };
  for (; r < full * kTileRows; r += kTileRows)
    float_tile<kTileRows>(x + r * ldx, ldx, reader, k0, kn, y + r * ldy, ldy, n_valid, init, prefetch());
  auto rest = [&](auto rows_tag) {
    constexpr int R = decltype(rows_tag)::value;
    for (; r + R <= m; r += R)
      float_tile<R>(x + r * ldx, ldx, reader, k0, kn, y + r * ldy, ldy, n_valid, init, prefetch());
  };
  if constexpr (kTileRows > 8) rest(std::integral_constant<int, 8>{});
  if constexpr (kTileRows > 4) rest(std::integral_constant<int, 4>{});
  rest(std::integral_constant<int, 2>{});
  rest(std::integral_constant<int, 1>{});
}

// Activation rows per pass over the weights: one cache block of inputs for this many rows
// (192 KiB) stays in L2 while every panel of a group reads it. That of a whole 8 x 128 batch
// (1 MiB, its rows kilobytes apart, so on a fraction of the L2 sets) would be re-read from L3 by
// each panel.
inline constexpr size_t kRowChunk = 192;

// Rows up to which a matmul is a decode batch (one token of each of m sequences, or a GEMV):
// its activations sit in L1 / L2 whole, so the panels go one after another, each read once.
inline constexpr size_t kDecodeRows = 64;

// y[m][w.rows()] (+)= x[m][w.cols()] * W^T (+ bias) for the panels [p0, p1) of a float-format w,
// stored as `Element`s: make_reader(p) reads panel p, panel(p) is where it starts. While a block
// of one panel's inputs is in use, the same block of the next panel is prefetched.
template <typename Element, typename MakeReader, typename Panel>
inline void float_matmul_panels(const float* x, size_t m, const PackedMatrix& w, float* y, const float* bias,
                                bool accumulate, size_t p0, size_t p1, MakeReader make_reader, Panel panel) {
  if (m > kRowChunk) {
    for (size_t r0 = 0; r0 < m; r0 += kRowChunk)
      float_matmul_panels<Element>(x + r0 * w.cols(), std::min(kRowChunk, m - r0), w, y + r0 * w.rows(), bias, accumulate,
                                   p0, p1, make_reader, panel);
    return;
  }
  if (m <= kDecodeRows) {
    // A decode batch: panel by panel, the weights read once, in their stored order. The cache
    // blocks of one panel follow each other, so its stream stays sequential while every row tile
    // re-reads the block in L1; prefetched is the block the next tiles will read.
    const size_t k_total = w.cols(), n = w.rows(), block = input_block(m, k_total);
    for (size_t p = p0; p < p1; ++p) {
      const size_t n0 = p * kPanel, n_valid = std::min(kPanel, n - n0);
      alignas(64) float panel_bias[kPanel] = {};
      if (bias) std::memcpy(panel_bias, bias + n0, n_valid * sizeof(float));
      for (size_t k0 = 0; k0 < k_total; k0 += block) {
        const size_t kn = std::min(block, k_total - k0), k_next = k0 + kn;
        Prefetch next;
        if (k_next < k_total)
          next = {reinterpret_cast<const char*>(panel(p) + k_next * kPanel),
                  std::min(block, k_total - k_next) * kPanel * sizeof(Element) / 64};
        else if (p + 1 < p1)
          next = {reinterpret_cast<const char*>(panel(p + 1)), std::min(block, k_total) * kPanel * sizeof(Element) / 64};
        float_tile_rows(x + k0, k_total, m, make_reader(p), k0, kn, y + n0, n, n_valid,
                        TileInit{accumulate || k0 > 0, bias && k0 == 0 ? panel_bias : nullptr}, next);
      }
    }
    return;
  }
  for_each_block_and_panel(w, bias, accumulate, p0, p1, m, input_block(m, w.cols()),
                           [&](size_t k0, size_t kn, size_t p, size_t n0, size_t n_valid, TileInit init) {
                             Prefetch next;
                             if (p + 1 < p1)
                               next = {reinterpret_cast<const char*>(panel(p + 1) + k0 * kPanel),
                                       kn * kPanel * sizeof(Element) / 64};
                             float_tile_rows(x + k0, w.cols(), m, make_reader(p), k0, kn, y + n0, w.rows(), n_valid, init,
                                             next);
                           });
}

inline void float_matmul_panels(const float* x, size_t m, const PackedMatrix& w, float* y, const float* bias,
                                bool accumulate, size_t p0, size_t p1) {
  switch (w.format()) {
    case WeightFormat::f32:
      return float_matmul_panels<float>(x, m, w, y, bias, accumulate, p0, p1,
                                        [&](size_t p) { return F32PanelReader{w.f32_panel(p)}; },
                                        [&](size_t p) { return w.f32_panel(p); });
    case WeightFormat::bf16:
      return float_matmul_panels<uint16_t>(x, m, w, y, bias, accumulate, p0, p1,
                                           [&](size_t p) { return Bf16PanelReader{w.half_panel(p)}; },
                                           [&](size_t p) { return w.half_panel(p); });
    case WeightFormat::f16:
      return float_matmul_panels<uint16_t>(x, m, w, y, bias, accumulate, p0, p1,
                                           [&](size_t p) { return F16PanelReader{w.half_panel(p)}; },
                                           [&](size_t p) { return w.half_panel(p); });
    case WeightFormat::int8:
    case WeightFormat::int4: break;
  }
}

}  // namespace zest::detail
