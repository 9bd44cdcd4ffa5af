// int8 x int8 -> int32 GEMM / GEMV for int8-packed weights (layout in packed_matrix.hpp).
// Activations are quantized per row on the fly: d_x = max|x| / 127, q = round(x / d_x), stored
// offset to unsigned (q + 128) because AVX-512 VNNI's vpdpbusd multiplies unsigned by signed
// bytes; the offset's contribution, 128 * sum(q_w) per output row, was precomputed at packing.
//
//   y[r][n] = d_x[r] * (sum_blocks d_w[n] * sum_k (q_x + 128) q_w  -  row_offset[n])
//
// Three implementations of the block dot product (the int32 sums of one weight block against
// MR activation rows), chosen at compile time and all reachable by the tests:
//   Int8DotVnni   AVX-512 VNNI vpdpbusd: 64 multiply-adds per instruction
//   Int8DotAvx2   AVX2 vpmaddubsw on |q_x| and sign-adjusted weights (no offset; |products|
//                 <= 2 * 127 * 127 never saturate the 16-bit pair sums), then vpmaddwd
//   Int8DotScalar plain C++
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "zest/error.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/tile.hpp"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace zest {

// Activation rows quantized to offset int8 for an int8 matmul; reused across the matmuls that
// read the same activations (q, k and v projections; gate and up).
struct QuantizedRows {
  size_t rows = 0, cols = 0, stride = 0;  // stride: bytes per row, cols padded to the weight's block
  detail::AlignedVector<uint8_t> q;       // rows x stride, q + 128 (padding holds 128, i.e. zero)
  std::vector<float> scale;               // d_x per row
};

namespace detail {

// One row: scale = max|x| / 127, q = round-to-nearest-even(x / scale) + 128, padding 128.
inline void quantize_row_int8(const float* x, size_t cols, size_t cols_padded, uint8_t* q, float* scale, size_t row) {
  vfloat vmax(0.f), vnan(0.f);  // x * 0 is NaN exactly for NaN and inf, which max would skip
  size_t i = 0;
  for (; i + kLanes <= cols; i += kLanes) {
    const vfloat v = vfloat::load_unaligned(x + i);
    vmax = xsimd::max(vmax, xsimd::abs(v));
    vnan += v * vfloat(0.f);
  }
  float amax = reduce_max(vmax), nan = reduce_add(vnan);
  for (; i < cols; ++i) amax = std::max(amax, std::fabs(x[i])), nan += x[i] * 0.f;
  if (nan != 0.f || !std::isfinite(amax)) fail(Error::Kind::input, "quantize_rows_int8: row ", row, " has a non-finite value");
  *scale = amax / 127.f;
  const float inv = amax > 0.f ? 127.f / amax : 0.f;
  alignas(64) int32_t qi[kLanes];
  for (i = 0; i + kLanes <= cols; i += kLanes) {
    xsimd::nearbyint_as_int(vfloat::load_unaligned(x + i) * vfloat(inv)).store_aligned(qi);
    for (size_t l = 0; l < kLanes; ++l) q[i + l] = uint8_t(qi[l] + 128);
  }
  for (; i < cols; ++i) q[i] = uint8_t(int(std::nearbyint(x[i] * inv)) + 128);
  std::fill(q + cols, q + cols_padded, uint8_t(128));
}

inline void prepare_quantized(size_t rows, size_t cols, size_t cols_padded, QuantizedRows& out) {
  if (cols_padded < cols || cols_padded % 4 != 0)
    fail(Error::Kind::input, "quantize_rows_int8: cols_padded = ", cols_padded,
         " must be a multiple of 4 and at least cols = ", cols);
  out.rows = rows;
  out.cols = cols;
  out.stride = cols_padded;
  out.q.resize(rows * cols_padded);
  out.scale.resize(rows);
}

}  // namespace detail

// Quantizes x (rows x cols) for int8 weights w: pass cols_padded = w.cols_padded().
inline void quantize_rows_int8(const float* x, size_t rows, size_t cols, size_t cols_padded, QuantizedRows& out) {
  detail::prepare_quantized(rows, cols, cols_padded, out);
  for (size_t r = 0; r < rows; ++r)
    detail::quantize_row_int8(x + r * cols, cols, cols_padded, out.q.data() + r * cols_padded, &out.scale[r], r);
}

namespace detail {

struct Int8DotScalar {
  static constexpr bool kOffsetActivations = false;
  template <int MR>
  static void block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, int32_t (*sums)[kPanel]) {
    for (int r = 0; r < MR; ++r)
      for (size_t j = 0; j < kPanel; ++j) {
        int32_t s = 0;
        for (size_t i = 0; i < quads; ++i)
          for (size_t b = 0; b < 4; ++b) s += (int32_t(a[r * lda + 4 * i + b]) - 128) * q[(i * kPanel + j) * 4 + b];
        sums[r][j] = s;
      }
  }
};

#if defined(__AVX2__)
struct Int8DotAvx2 {
  static constexpr bool kOffsetActivations = false;
  template <int MR>
  static void block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, int32_t (*sums)[kPanel]) {
    __m256i acc[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_setzero_si256();
    const __m256i flip = _mm256_set1_epi8(char(0x80)), ones = _mm256_set1_epi16(1);
    for (size_t i = 0; i < quads; ++i) {
      __m256i w[4];
      for (int v = 0; v < 4; ++v) w[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i * 128 + v * 32));
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        int32_t four;
        std::memcpy(&four, a + r * lda + 4 * i, 4);
        const __m256i s = _mm256_xor_si256(_mm256_set1_epi32(four), flip);  // back to signed q_x
        const __m256i ax = _mm256_abs_epi8(s);
        for (int v = 0; v < 4; ++v)
          acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w[v], s)), ones));
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < 4; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums[r] + v * 8), acc[r][v]);
  }
};
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
struct Int8DotVnni {
  static constexpr bool kOffsetActivations = true;
  template <int MR>
  static void block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, int32_t (*sums)[kPanel]) {
    __m512i acc[MR][2];
    for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (size_t i = 0; i < quads; ++i) {
      const __m512i w0 = _mm512_loadu_si512(q + i * 128), w1 = _mm512_loadu_si512(q + i * 128 + 64);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        int32_t four;
        std::memcpy(&four, a + r * lda + 4 * i, 4);
        const __m512i x = _mm512_set1_epi32(four);
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
      }
    }
    for (int r = 0; r < MR; ++r) {
      _mm512_storeu_si512(sums[r], acc[r][0]);
      _mm512_storeu_si512(sums[r] + 16, acc[r][1]);
    }
  }
};
using Int8Dot = Int8DotVnni;
#elif defined(__AVX2__)
using Int8Dot = Int8DotAvx2;
#else
using Int8Dot = Int8DotScalar;
#endif

// Rows per int8 tile: the VNNI block keeps 2 x MR int32 accumulators in registers.
inline constexpr int kInt8TileRows = 8;
// Inputs per cache block: a 32-row panel slice of 512 int8 inputs is 16 KiB.
inline constexpr size_t kInt8BlockInputs = 512;

// MR rows x one panel over the weight blocks [b0, b1): y = init + d_x * sum_b d_w * sums_b.
template <typename Dot, int MR>
inline void int8_tile(const QuantizedRows& x, size_t r0, const PackedMatrix& w, size_t p, size_t b0, size_t b1,
                      float* y, size_t ldy, size_t n_valid, const float* bias, bool load_y) {
  const size_t group = w.group();
  const uint8_t* panel = w.int8_panel(p);
  vfloat acc[MR][kPanelBatches];
  for (int r = 0; r < MR; ++r)
    for (size_t j = 0; j < kPanelBatches; ++j) acc[r][j] = vfloat(0.f);
  alignas(64) int32_t sums[MR][kPanel];
  for (size_t b = b0; b < b1; ++b) {
    const uint8_t* block = panel + b * w.int8_block_bytes();
    Dot::template block<MR>(x.q.data() + r0 * x.stride + b * group, x.stride, reinterpret_cast<const int8_t*>(block),
                            group / 4, sums);
    const float* d = reinterpret_cast<const float*>(block + group * kPanel);
    for (int r = 0; r < MR; ++r)
      for (size_t j = 0; j < kPanelBatches; ++j)
        acc[r][j] = xsimd::fma(xsimd::to_float(xsimd::batch<int32_t>::load_aligned(sums[r] + j * kLanes)),
                               vfloat::load_unaligned(d + j * kLanes), acc[r][j]);
  }
  const float* offset = w.int8_row_offset(p);
  for (int r = 0; r < MR; ++r) {
    const vfloat dx(x.scale[r0 + r]);
    vfloat out[kPanelBatches];
    for (size_t j = 0; j < kPanelBatches; ++j) {
      vfloat v = acc[r][j];
      if (Dot::kOffsetActivations && b0 == 0) v -= vfloat::load_unaligned(offset + j * kLanes);
      vfloat base = load_y ? load_tile_batch(y + r * ldy, j, n_valid) : vfloat(0.f);
      if (bias) base += vfloat::load_aligned(bias + j * kLanes);
      out[j] = xsimd::fma(dx, v, base);
    }
    store_tile_row(out, y + r * ldy, n_valid);
  }
}

template <typename Dot>
inline void int8_matmul_panels(const QuantizedRows& x, const PackedMatrix& w, float* y, const float* bias,
                               bool accumulate, size_t p0, size_t p1) {
  const size_t n = w.rows(), m = x.rows;
  const size_t blocks = w.cols_padded() / w.group();
  const size_t blocks_per_step = m < kMinRowsToBlock ? blocks : std::max<size_t>(1, kInt8BlockInputs / w.group());
  for (size_t b0 = 0; b0 < blocks; b0 += blocks_per_step) {
    const size_t b1 = std::min(blocks, b0 + blocks_per_step);
    for (size_t p = p0; p < p1; ++p) {
      const size_t n0 = p * kPanel, n_valid = std::min(kPanel, n - n0);
      alignas(64) float panel_bias[kPanel] = {};
      if (bias && b0 == 0) std::memcpy(panel_bias, bias + n0, n_valid * sizeof(float));
      const float* tile_bias = bias && b0 == 0 ? panel_bias : nullptr;
      const bool load_y = accumulate || b0 > 0;
      size_t r = 0;
      for (; r + kInt8TileRows <= m; r += kInt8TileRows)
        int8_tile<Dot, kInt8TileRows>(x, r, w, p, b0, b1, y + r * n + n0, n, n_valid, tile_bias, load_y);
      for (; r + 4 <= m; r += 4) int8_tile<Dot, 4>(x, r, w, p, b0, b1, y + r * n + n0, n, n_valid, tile_bias, load_y);
      for (; r < m; ++r) int8_tile<Dot, 1>(x, r, w, p, b0, b1, y + r * n + n0, n, n_valid, tile_bias, load_y);
    }
  }
}

}  // namespace detail
}  // namespace zest
