// matmul: y = x * W^T (+ bias) (+ y) for a PackedMatrix W, the product behind every Linear.
// One call serves decode (m = 1, a GEMV that streams the weights once) and prefill (m > 1, a
// register-blocked GEMM). Output panels of 32 are split statically across the pool's threads,
// so the 50k-row vocabulary head runs on all of them.
#pragma once

#include <cstddef>

#include "zest/error.hpp"
#include "zest/kernels/matmul_float.hpp"
#include "zest/kernels/matmul_int4.hpp"
#include "zest/kernels/matmul_int8.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest::detail {

struct MatmulOptions {
  const float* bias = nullptr;  // w.rows() values added to every output row
  bool accumulate = false;      // add to y (a residual connection) instead of overwriting it
};

// The activation levels int8 / int4 weights w multiply: 2 with a residual level, else 1.
inline size_t int8_levels(const PackedMatrix& w) { return w.activation_residual() ? 2 : 1; }


inline void check_matmul(const void* x, size_t m, const PackedMatrix& w, const float* y) {
  if (w.rows() == 0) fail(Error::Kind::input, "matmul: the weight matrix is empty");
  if (m > 0 && (!x || !y)) fail(Error::Kind::input, "matmul: null activation or output pointer");
}

// Quantized activations (int8 or int4 weights only): x.cols must equal w.cols(), x.stride
// w.cols_padded() and x.levels w's, as quantize_rows_int8(x, m, w.cols(), w.cols_padded(),
// int8_levels(w), q) makes them.
inline void matmul(const QuantizedRows& x, const PackedMatrix& w, float* y, ThreadPool& pool,
                   MatmulOptions options = {}) {
  detail::check_matmul(x.q.data(), x.rows, w, y);
  if (!is_quantized(w.format()))
    detail::fail(Error::Kind::input, "matmul: quantized activations need int8 or int4 weights, not ", to_string(w.format()));
  if (x.cols != w.cols() || x.stride != w.cols_padded())
    detail::fail(Error::Kind::input, "matmul: activations of ", x.cols, " inputs (stride ", x.stride,
                 ") do not fit weights of ", w.cols(), " inputs (padded ", w.cols_padded(), ")");
  if (x.levels != int8_levels(w))
    detail::fail(Error::Kind::input, "matmul: activations of ", x.levels, " level(s) for weights that take ",
                 int8_levels(w));
  const auto run = [&](auto dot) {  // the panels with the dot kernel of dot's type
    pool.parallel_for(w.panels(), 1, [&](size_t p0, size_t p1) {
      detail::int8_matmul_panels<decltype(dot)>(x, w, y, options.bias, options.accumulate, p0, p1);
    });
  };
#if defined(ZEST_HAVE_AMX_INT8)
  if (x.rows * x.levels >= detail::kAmxRows && detail::amx_int8_fits(w) && detail::amx_int8_usable())
    return run(detail::Int8DotAmx{});
#endif
  if (w.format() == WeightFormat::int4) return run(detail::Int4Dot{});
  run(detail::Int8Dot{});
}

// y (m x w.rows()) = x (m x w.cols()) * W^T, rows contiguous; y must not overlap x. int8 / int4 weights quantize x per row
// first (into a per-thread buffer; pass QuantizedRows to reuse one quantization); f32, bf16 and
// f16 weights multiply x as it is. (bf16 activations for vdpbf16ps doubled the next-token KL of
// a bf16 prefill, past 1e-4, and ran no faster than f32 FMAs on Sapphire Rapids: its tiles about
// 110 GFLOP/s against the f32 FMA tiles' 190, bench/peers/onnxruntime/README.md, 18:42 UTC run.)
inline void matmul(const float* x, size_t m, const PackedMatrix& w, float* y, ThreadPool& pool,
                   MatmulOptions options = {}) {
  detail::check_matmul(x, m, w, y);
  if (m == 0) return;
  if (is_quantized(w.format())) {
    thread_local QuantizedRows quantized;
    quantize_rows_int8(x, m, w.cols(), w.cols_padded(), int8_levels(w), quantized);
    matmul(quantized, w, y, pool, options);
    return;
  }
  // A GEMM's panels in equal shares, one a thread: a few dozen heavy panels in dynamic chunks
  // end unevenly.
  const size_t grain = m < detail::kMinRowsToBlock ? 1 : (w.panels() + pool.size() - 1) / pool.size();
  pool.parallel_for(w.panels(), grain, [&](size_t p0, size_t p1) {
    detail::float_matmul_panels(x, m, w, y, options.bias, options.accumulate, p0, p1);
  });
}

inline void matmul(const float* x, size_t m, const PackedMatrix& w, float* y, MatmulOptions options = {}) {
  matmul(x, m, w, y, default_thread_pool(), options);
}

}  // namespace zest::detail
