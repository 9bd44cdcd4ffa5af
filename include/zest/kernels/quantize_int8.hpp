// Activations quantized per row to offset int8 for the int8 matmul (matmul_int8.hpp):
// d_x = max|x| / 127, q = round(x / d_x) + 128, and optionally a residual level
// q' = round((x / d_x - q) * 254) + 128 for q's rounding error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

// Activation rows quantized to offset int8 for an int8 matmul; reused across the matmuls that
// read the same activations (q, k and v projections; gate and up).
struct QuantizedRows {
  size_t rows = 0, cols = 0, stride = 0;  // stride: bytes per row, cols padded to the weight's block
  size_t levels = 1;                      // 2: each row's residual level follows it
  detail::AlignedVector<uint8_t> q;       // rows x levels x stride, q + 128 (padding holds 128, i.e. zero)
  std::vector<float> scale;               // d_x per row
};


// The residual level's scale relative to the first: 254 steps span one step of q.
inline constexpr float kResidualSteps = 254.f;

// One row: scale = max|x| / 127, q = round-to-nearest-even(x / scale) + 128, padding 128; with
// levels = 2, then q' = round((x / scale - q) * 254) + 128 at q + cols_padded.
inline void quantize_row_int8(const float* x, size_t cols, size_t cols_padded, size_t levels, uint8_t* q, float* scale,
                              size_t row) {
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
  const vfloat vinv(inv), vsteps(kResidualSteps);
  uint8_t* r = q + cols_padded;  // the residual level, when there is one
  alignas(64) int32_t qi[kLanes], ri[kLanes];
  for (i = 0; i + kLanes <= cols; i += kLanes) {
    const vfloat scaled = vfloat::load_unaligned(x + i) * vinv, rounded = xsimd::nearbyint(scaled);
    xsimd::to_int(rounded).store_aligned(qi);
    for (size_t l = 0; l < kLanes; ++l) q[i + l] = uint8_t(qi[l] + 128);
    if (levels == 2) {
      xsimd::nearbyint_as_int((scaled - rounded) * vsteps).store_aligned(ri);
      for (size_t l = 0; l < kLanes; ++l) r[i + l] = uint8_t(ri[l] + 128);
    }
  }
  for (; i < cols; ++i) {
    const float scaled = x[i] * inv, rounded = std::nearbyint(scaled);
    q[i] = uint8_t(int(rounded) + 128);
    if (levels == 2) r[i] = uint8_t(int(std::nearbyint((scaled - rounded) * kResidualSteps)) + 128);
  }
  std::fill(q + cols, q + cols_padded, uint8_t(128));
  if (levels == 2) std::fill(r + cols, r + cols_padded, uint8_t(128));
}

inline void prepare_quantized(size_t rows, size_t cols, size_t cols_padded, size_t levels, QuantizedRows& out) {
  if (cols_padded < cols || cols_padded % 4 != 0)
    fail(Error::Kind::input, "quantize_rows_int8: cols_padded = ", cols_padded,
         " must be a multiple of 4 and at least cols = ", cols);
  if (levels != 1 && levels != 2) fail(Error::Kind::input, "quantize_rows_int8: levels = ", levels, " must be 1 or 2");
  out.rows = rows;
  out.cols = cols;
  out.stride = cols_padded;
  out.levels = levels;
  out.q.resize(rows * levels * cols_padded);
  out.scale.resize(rows);
}

// Row r's first level (the residual level follows it).
inline uint8_t* quantized_row(QuantizedRows& out, size_t r) { return out.q.data() + r * out.levels * out.stride; }


// Quantizes x (rows x cols) for int8 weights w: pass cols_padded = w.cols_padded() and
// levels = w.activation_residual() ? 2 : 1.
inline void quantize_rows_int8(const float* x, size_t rows, size_t cols, size_t cols_padded, size_t levels,
                               QuantizedRows& out) {
  detail::prepare_quantized(rows, cols, cols_padded, levels, out);
  for (size_t r = 0; r < rows; ++r)
    detail::quantize_row_int8(x + r * cols, cols, cols_padded, levels, detail::quantized_row(out, r), &out.scale[r], r);
}

}  // namespace zest::detail
