// Rotary position embedding in Hugging Face's rotate-half layout (LLaMA, Qwen2): the rotated
// part of each head is split into halves [x1, x2] and becomes
// [x1 * cos - x2 * sin, x2 * cos + x1 * sin], with one angle per pair (i, i + rotary_dim / 2).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

// HF's default inverse frequencies: 1 / theta^(2i / rotary_dim), computed in f32 as PyTorch does.
inline std::vector<float> rope_inv_freq(size_t rotary_dim, float theta) {
  if (rotary_dim == 0 || rotary_dim % 2 != 0)
    detail::fail(Error::Kind::config, "rope_inv_freq: rotary_dim = ", rotary_dim, " must be even and > 0");
  if (!(theta > 0.f)) detail::fail(Error::Kind::config, "rope_inv_freq: theta = ", theta, " must be > 0");
  std::vector<float> inv(rotary_dim / 2);
  for (size_t i = 0; i < inv.size(); ++i)
    inv[i] = 1.f / std::pow(theta, float(2 * i) / float(rotary_dim));
  return inv;
}

// cos and sin (rotary_dim / 2 values each) of position pos: angle_i = float(pos) * inv_freq[i],
// rounded to f32 as HF's f32 outer product is.
inline void rope_cos_sin(size_t pos, const float* inv_freq, size_t half, float* cos, float* sin) {
  for (size_t i = 0; i < half; ++i) {
    const float angle = float(pos) * inv_freq[i];
    cos[i] = float(std::cos(double(angle)));
    sin[i] = float(std::sin(double(angle)));
  }
}

// Rotates the first rotary_dim dims of each of n_heads heads (head_dim floats each, contiguous)
// in x by the angles whose cos/sin (rotary_dim / 2 each) are given.
inline void rope_rotate_half(float* x, size_t n_heads, size_t head_dim, size_t rotary_dim,
                             const float* cos, const float* sin) {
  using detail::vfloat;
  if (rotary_dim % 2 != 0 || rotary_dim > head_dim)
    detail::fail(Error::Kind::config, "rope_rotate_half: rotary_dim = ", rotary_dim,
                 " must be even and at most head_dim = ", head_dim);
  const size_t half = rotary_dim / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* x1 = x + h * head_dim;
    float* x2 = x1 + half;
    size_t i = 0;
    for (; i + detail::kLanes <= half; i += detail::kLanes) {
      const vfloat a = vfloat::load_unaligned(x1 + i), b = vfloat::load_unaligned(x2 + i);
      const vfloat c = vfloat::load_unaligned(cos + i), s = vfloat::load_unaligned(sin + i);
      xsimd::fms(a, c, b * s).store_unaligned(x1 + i);
      xsimd::fma(a, s, b * c).store_unaligned(x2 + i);
    }
    for (; i < half; ++i) {
      const float a = x1[i], b = x2[i];
      x1[i] = a * cos[i] - b * sin[i];
      x2[i] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace zest::detail
