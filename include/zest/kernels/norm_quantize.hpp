// Normalisation fused with int8 activation quantization: each row is normalised into an
// L1-resident scratch row and quantized from there, so the residual stream is read once from
// memory before the int8 q/k/v or gate/up matmuls (which share the QuantizedRows).
#pragma once

#include <cstddef>

#include "zest/kernels/matmul_int8.hpp"
#include "zest/kernels/norm.hpp"

namespace zest::detail {

// out = quantize(layer_norm(x)); cols_padded and levels as the int8 weight takes them.
inline void layer_norm_quantize(const float* x, size_t rows, size_t n, const float* gamma, const float* beta, float eps,
                                size_t cols_padded, size_t levels, QuantizedRows& out) {
  detail::prepare_quantized(rows, n, cols_padded, levels, out);
  thread_local detail::AlignedVector<float> row;
  row.resize(n);
  for (size_t r = 0; r < rows; ++r) {
    layer_norm(x + r * n, row.data(), 1, n, gamma, beta, eps);
    detail::quantize_row_int8(row.data(), n, cols_padded, levels, detail::quantized_row(out, r), &out.scale[r], r);
  }
}

// out = quantize(rms_norm(x)); cols_padded and levels as the int8 weight takes them.
inline void rms_norm_quantize(const float* x, size_t rows, size_t n, const float* weight, float eps, size_t cols_padded,
                              size_t levels, QuantizedRows& out) {
  detail::prepare_quantized(rows, n, cols_padded, levels, out);
  thread_local detail::AlignedVector<float> row;
  row.resize(n);
  for (size_t r = 0; r < rows; ++r) {
    rms_norm(x + r * n, row.data(), 1, n, weight, eps);
    detail::quantize_row_int8(row.data(), n, cols_padded, levels, detail::quantized_row(out, r), &out.scale[r], r);
  }
}

}  // namespace zest::detail
