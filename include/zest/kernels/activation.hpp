// Elementwise activations and adds, each fused with the add that precedes it in the models so
// an activation row is read once: bias + GELU (GPT-2 / BERT MLP), SiLU(gate) * up (LLaMA /
// Qwen2 MLP), residual add and bias add.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "zest/kernels/simd.hpp"

namespace zest::detail {


// Applies op to batches and to scalars for the tail; op takes and returns vfloat or float.
template <typename Op>
inline void map_rows(float* y, size_t n, Op op) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) op(vfloat::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = op(y[i]);
}

template <typename T>
inline T gelu_tanh_of(T x) {
  if constexpr (std::is_same_v<T, float>) return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
  else return T(0.5f) * x * (T(1.f) + xsimd::tanh(T(0.7978845608028654f) * xsimd::fma(T(0.044715f) * x * x, x, x)));
}

// erf of f32 batches as a rational function of x on [-4, 4] (|erf| rounds to 1 beyond), the
// approximation of Eigen and XLA: within 4e-7 of erf, two FMA chains and a division, a third
// of the cost of xsimd::erf, whose range splitting runs every branch for each batch.
inline vfloat erf_batch(vfloat a) {
  const vfloat x = xsimd::max(xsimd::min(a, vfloat(4.f)), vfloat(-4.f)), x2 = x * x;
  vfloat p = xsimd::fma(x2, vfloat(-2.72614225801306e-10f), vfloat(2.77068142495902e-08f));
  p = xsimd::fma(x2, p, vfloat(-2.10102402082508e-06f));
  p = xsimd::fma(x2, p, vfloat(-5.69250639462346e-05f));
  p = xsimd::fma(x2, p, vfloat(-7.34990630326855e-04f));
  p = xsimd::fma(x2, p, vfloat(-2.95459980854025e-03f));
  p = xsimd::fma(x2, p, vfloat(-1.60960333262415e-02f));
  vfloat q = xsimd::fma(x2, vfloat(-1.45660718464996e-05f), vfloat(-2.13374055278905e-04f));
  q = xsimd::fma(x2, q, vfloat(-1.68282697438203e-03f));
  q = xsimd::fma(x2, q, vfloat(-7.37332916720468e-03f));
  q = xsimd::fma(x2, q, vfloat(-1.42647390514189e-02f));
  return x * p / q;
}

template <typename T>
inline T gelu_erf_of(T x) {
  if constexpr (std::is_same_v<T, float>) return 0.5f * x * (1.f + std::erf(x * 0.7071067811865476f));
  else return T(0.5f) * x * (T(1.f) + erf_batch(x * T(0.7071067811865476f)));
}

template <typename T>
inline T silu_of(T x) {
  if constexpr (std::is_same_v<T, float>) return x / (1.f + std::exp(-x));
  else return x / (T(1.f) + xsimd::exp(-x));
}


// GELU, tanh approximation (GPT-2's "gelu_new"), in place over n floats.
inline void gelu_tanh(float* x, size_t n) {
  detail::map_rows(x, n, [](auto v) { return detail::gelu_tanh_of(v); });
}

// GELU, exact erf form (BERT's "gelu"), in place over n floats.
inline void gelu_erf(float* x, size_t n) {
  detail::map_rows(x, n, [](auto v) { return detail::gelu_erf_of(v); });
}

// x[r][i] = gelu(x[r][i] + bias[i]) over `rows` rows of n: the MLP's first Linear epilogue.
// exact selects the erf form, otherwise the tanh form.
inline void bias_gelu(float* x, size_t rows, size_t n, const float* bias, bool exact) {
  using detail::vfloat;
  for (size_t r = 0; r < rows; ++r) {
    float* xr = x + r * n;
    size_t i = 0;
    for (; i + detail::kLanes <= n; i += detail::kLanes) {
      const vfloat v = vfloat::load_unaligned(xr + i) + vfloat::load_unaligned(bias + i);
      (exact ? detail::gelu_erf_of(v) : detail::gelu_tanh_of(v)).store_unaligned(xr + i);
    }
    for (; i < n; ++i) xr[i] = exact ? detail::gelu_erf_of(xr[i] + bias[i]) : detail::gelu_tanh_of(xr[i] + bias[i]);
  }
}

// out[i] = act(gate[i]) * up[i] over n floats: a gated MLP's activation; out may alias gate or up.
template <typename Act>
inline void gate_mul(const float* gate, const float* up, float* out, size_t n, Act act) {
  using detail::vfloat;
  size_t i = 0;
  for (; i + detail::kLanes <= n; i += detail::kLanes)
    (act(vfloat::load_unaligned(gate + i)) * vfloat::load_unaligned(up + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = act(gate[i]) * up[i];
}

// SwiGLU (LLaMA, Qwen): silu(gate) * up.
inline void silu_mul(const float* gate, const float* up, float* out, size_t n) {
  detail::gate_mul(gate, up, out, n, [](auto v) { return detail::silu_of(v); });
}

// GeGLU with the tanh GELU (Gemma): gelu_tanh(gate) * up.
inline void gelu_tanh_mul(const float* gate, const float* up, float* out, size_t n) {
  detail::gate_mul(gate, up, out, n, [](auto v) { return detail::gelu_tanh_of(v); });
}

// x = cap * tanh(x / cap) over n floats: Gemma 2's soft-capping of attention scores and logits.
inline void soft_cap(float* x, size_t n, float cap) {
  detail::map_rows(x, n, [cap](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, float>) return cap * std::tanh(v / cap);
    else return T(cap) * xsimd::tanh(v / T(cap));
  });
}

// y[i] += x[i] over n floats: the residual connection.
inline void add(float* y, const float* x, size_t n) {
  using detail::vfloat;
  size_t i = 0;
  for (; i + detail::kLanes <= n; i += detail::kLanes)
    (vfloat::load_unaligned(y + i) + vfloat::load_unaligned(x + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += x[i];
}

// x[r][i] += bias[i] over `rows` rows of n.
inline void add_bias(float* x, size_t rows, size_t n, const float* bias) {
  for (size_t r = 0; r < rows; ++r) add(x + r * n, bias, n);
}

}  // namespace zest::detail
