// Numerically stable softmax over rows: subtract the row maximum before exp, so no input can
// overflow; a row of all -inf (fully masked) becomes all zeros rather than NaN.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "zest/kernels/simd.hpp"

namespace zest::detail {

// x[r] = softmax(x[r]) in place for each of `rows` rows of n floats.
inline void softmax(float* x, size_t rows, size_t n) {
  using detail::vfloat;
  using detail::kLanes;
  for (size_t r = 0; r < rows; ++r) {
    float* xr = x + r * n;
    vfloat vmax(-std::numeric_limits<float>::infinity());
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) vmax = xsimd::max(vmax, vfloat::load_unaligned(xr + i));
    float max = detail::reduce_max(vmax);
    for (; i < n; ++i) max = std::max(max, xr[i]);
    if (max == -std::numeric_limits<float>::infinity()) {
      std::fill(xr, xr + n, 0.f);
      continue;
    }
    const vfloat vm(max);
    vfloat vsum(0.f);
    for (i = 0; i + kLanes <= n; i += kLanes) {
      const vfloat e = xsimd::exp(vfloat::load_unaligned(xr + i) - vm);
      e.store_unaligned(xr + i);
      vsum += e;
    }
    float sum = detail::reduce_add(vsum);
    for (; i < n; ++i) sum += (xr[i] = std::exp(xr[i] - max));
    const vfloat vinv(1.f / sum);
    for (i = 0; i + kLanes <= n; i += kLanes) (vfloat::load_unaligned(xr + i) * vinv).store_unaligned(xr + i);
    for (; i < n; ++i) xr[i] *= 1.f / sum;
  }
}

}  // namespace zest::detail
