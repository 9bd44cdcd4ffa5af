// LayerNorm (GPT-2, BERT) and RMSNorm (LLaMA, Qwen2) over rows of n floats, in place or not.
// Statistics accumulate in f32 lanes then f64 for the final sums, so long rows stay exact
// enough; each row is read twice (statistics, then normalise) and written once.
#pragma once

#include <cmath>
#include <cstddef>

#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

// y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta, for each of `rows` rows of n floats.
// beta may be null (no shift). x == y is allowed.
inline void layer_norm(const float* x, float* y, size_t rows, size_t n, const float* gamma,
                       const float* beta, float eps) {
  using detail::vfloat;
  using detail::kLanes;
  if (n == 0) detail::fail(Error::Kind::input, "layer_norm: row length n = 0");
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    vfloat vsum(0.f);
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) vsum += vfloat::load_unaligned(xr + i);
    double sum = detail::reduce_add(vsum);
    for (; i < n; ++i) sum += xr[i];
    const float mean = float(sum / double(n));
    vfloat vsq(0.f);
    const vfloat vmean(mean);
    for (i = 0; i + kLanes <= n; i += kLanes) {
      const vfloat d = vfloat::load_unaligned(xr + i) - vmean;
      vsq = xsimd::fma(d, d, vsq);
    }
    double sq = detail::reduce_add(vsq);
    for (; i < n; ++i) sq += double(xr[i] - mean) * double(xr[i] - mean);
    const float inv = float(1.0 / std::sqrt(sq / double(n) + double(eps)));
    const vfloat vinv(inv);
    for (i = 0; i + kLanes <= n; i += kLanes) {
      vfloat v = (vfloat::load_unaligned(xr + i) - vmean) * vinv * vfloat::load_unaligned(gamma + i);
      if (beta) v += vfloat::load_unaligned(beta + i);
      v.store_unaligned(yr + i);
    }
    for (; i < n; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + (beta ? beta[i] : 0.f);
  }
}

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, as HF's LlamaRMSNorm (which multiplies the
// normalised f32 row by the weight). x == y is allowed.
inline void rms_norm(const float* x, float* y, size_t rows, size_t n, const float* weight, float eps) {
  using detail::vfloat;
  using detail::kLanes;
  if (n == 0) detail::fail(Error::Kind::input, "rms_norm: row length n = 0");
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    vfloat vsq(0.f);
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      const vfloat v = vfloat::load_unaligned(xr + i);
      vsq = xsimd::fma(v, v, vsq);
    }
    double sq = detail::reduce_add(vsq);
    for (; i < n; ++i) sq += double(xr[i]) * xr[i];
    const float inv = float(1.0 / std::sqrt(sq / double(n) + double(eps)));
    const vfloat vinv(inv);
    for (i = 0; i + kLanes <= n; i += kLanes)
      (vfloat::load_unaligned(xr + i) * vinv * vfloat::load_unaligned(weight + i)).store_unaligned(yr + i);
    for (; i < n; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

}  // namespace zest::detail
