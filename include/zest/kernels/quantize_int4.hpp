// One output row's block of weights quantized to 4 bits for WeightFormat::int4
// (packed_matrix.hpp): w ~= d * q, q in [-8, 7], d an f16. With 16 levels the plain scale
// max|w| / 7 wastes the -8 level and rounds the many small weights coarsely, so the scale is the
// best of a few candidates by squared error, as llama.cpp's Q4 quantizers search: max|w| / 7 and
// (the signed extreme) / -8, each times 1, 0.95, 0.9 and 0.85, every one rounded to f16 before
// its error is measured (a smaller scale clamps the extremes and rounds the rest finer).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "zest/kernels/half.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

// The f16 scale of w[0, n) (n a multiple of kLanes, zero padding allowed; 64-byte aligned) with
// the least squared error, and that error's q in q[0, n). `extreme` is the element of largest
// magnitude (its sign chooses the -8 candidates).
inline uint16_t quantize_int4_block(const float* w, size_t n, float extreme, int8_t* q) {
  const float amax = std::fabs(extreme);
  if (amax == 0.f) {
    for (size_t k = 0; k < n; ++k) q[k] = 0;
    return 0;
  }
  constexpr float kShrink[] = {1.f, 0.95f, 0.9f, 0.85f};
  uint16_t best = 0;
  float best_error = INFINITY;
  for (const float base : {amax / 7.f, extreme / -8.f})
    for (const float shrink : kShrink) {
      const uint16_t h = f32_to_f16(base * shrink);
      const float d = f16_to_f32(h);
      if (d == 0.f || !std::isfinite(d)) continue;
      const vfloat vd(d), inv(1.f / d), lo(-8.f), hi(7.f);
      vfloat error(0.f);
      for (size_t k = 0; k < n; k += kLanes) {
        const vfloat x = vfloat::load_aligned(w + k);
        const vfloat e = x - vd * xsimd::clip(xsimd::nearbyint(x * inv), lo, hi);
        error = xsimd::fma(e, e, error);
      }
      const float total = reduce_add(error);
      if (total < best_error) best_error = total, best = h;
    }
  const float d = f16_to_f32(best), inv = d != 0.f ? 1.f / d : 0.f;
  for (size_t k = 0; k < n; ++k) q[k] = int8_t(std::clamp(std::nearbyint(w[k] * inv), -8.f, 7.f));
  return best;
}

}  // namespace zest::detail
