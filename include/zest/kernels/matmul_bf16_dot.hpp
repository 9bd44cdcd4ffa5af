// bf16 GEMM with AVX512_BF16's vdpbf16ps: each instruction multiplies 16 pairs of bf16 and
// adds both products to 16 f32 accumulators, twice the multiply-adds of an f32 FMA. The
// packed bf16 layout already pairs inputs (k, k+1) per 32-bit lane; activations are rounded
// to bf16 once per call into the same pairing (as PyTorch's bf16 matmul does), which is why
// matmul uses this kernel for prefill (compute-bound) but streams decode GEMVs through the
// exact shift-to-f32 path of matmul_float.hpp (memory-bound, where it costs nothing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "zest/detail/half.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/tile.hpp"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define ZEST_HAVE_BF16_DOT 1
#endif

namespace zest::detail {

// Activation rows rounded to bf16, each padded with zeros to the weight's even input count.
inline void round_rows_bf16(const float* x, size_t m, size_t k, size_t k_padded, AlignedVector<uint16_t>& out) {
  out.assign(m * k_padded, 0);
  for (size_t r = 0; r < m; ++r) f32_to_bf16(x + r * k, out.data() + r * k_padded, k);
}

#if defined(ZEST_HAVE_BF16_DOT)
inline constexpr int kBf16TileRows = 12;

template <int MR>
inline void bf16_dot_tile(const uint16_t* a, size_t lda, const uint16_t* panel, size_t k0, size_t kn, float* y,
                          size_t ldy, size_t n_valid, TileInit init) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < 2; ++j) {
      vfloat v = init.load_y ? load_tile_batch(y + r * ldy, j, n_valid) : vfloat(0.f);
      if (init.bias) v += vfloat::load_aligned(init.bias + j * kLanes);
      acc[r][j] = v;
    }
  // An odd last input meets a zero activation and a zero weight in the padding.
  for (size_t k = 0; k < kn; k += 2) {
    const uint16_t* b = panel + (k0 + k) * kPanel;
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + kPanel);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + k, sizeof pair);
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], ar, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], ar, b1);
    }
  }
  for (int r = 0; r < MR; ++r) {
    const vfloat row[2] = {acc[r][0], acc[r][1]};
    store_tile_row(row, y + r * ldy, n_valid);
  }
}

// y (+)= a * W^T (+ bias) over the panels [p0, p1) of a bf16 w, a from round_rows_bf16.
inline void bf16_dot_matmul_panels(const uint16_t* a, size_t m, const PackedMatrix& w, float* y, const float* bias,
                                   bool accumulate, size_t p0, size_t p1) {
  const size_t lda = w.cols_padded(), n = w.rows();
  for_each_block_and_panel(w, bias, accumulate, p0, p1, m, input_block(m, w.cols()),
                           [&](size_t k0, size_t kn, size_t p, size_t n0, size_t n_valid, TileInit init) {
                             const uint16_t* panel = w.half_panel(p);
                             size_t r = 0;
                             for (; r + kBf16TileRows <= m; r += kBf16TileRows)
                               bf16_dot_tile<kBf16TileRows>(a + r * lda + k0, lda, panel, k0, kn, y + r * n + n0, n, n_valid, init);
                             for (; r + 4 <= m; r += 4)
                               bf16_dot_tile<4>(a + r * lda + k0, lda, panel, k0, kn, y + r * n + n0, n, n_valid, init);
                             for (; r < m; ++r)
                               bf16_dot_tile<1>(a + r * lda + k0, lda, panel, k0, kn, y + r * n + n0, n, n_valid, init);
                           });
}
#endif

}  // namespace zest::detail
