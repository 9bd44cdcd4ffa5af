// The Linear layers' own kernels: the bf16 GEMV of a decode step, and the conversions and bias
// around cuBLASLt's GEMM of a prompt.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zest/backend/cuda/common.cuh"

namespace zest::cuda::device {

inline constexpr int kGemvWarps = 8;  // output rows per block of 256 threads

// One warp per output row: lanes stride the row, then a shuffle reduce. kVector: 16-byte loads
// (8 bf16 weights, 2 float4 activations) where cols % 8 == 0 and both rows are 16-byte aligned.
template <bool kVector>
__global__ void gemv_bf16(const uint16_t* __restrict__ w, const float* __restrict__ x, const float* __restrict__ bias,
                          float* __restrict__ y, int rows, int cols, bool accumulate) {
  const int lane = threadIdx.x % 32, row = blockIdx.x * kGemvWarps + threadIdx.x / 32, r = blockIdx.y;
  if (row >= rows) return;
  const uint16_t* wr = w + size_t(row) * cols;
  const float* xr = x + size_t(r) * cols;
  float acc = 0;
  if constexpr (kVector) {
    const uint4* w8 = reinterpret_cast<const uint4*>(wr);
    const float4* x4 = reinterpret_cast<const float4*>(xr);
    for (int i = lane; i < cols / 8; i += 32) {
      const uint4 q = __ldg(w8 + i);
      const float4 a = x4[2 * i], b = x4[2 * i + 1];
      acc += bf16_lo(q.x) * a.x + bf16_hi(q.x) * a.y + bf16_lo(q.y) * a.z + bf16_hi(q.y) * a.w +
             bf16_lo(q.z) * b.x + bf16_hi(q.z) * b.y + bf16_lo(q.w) * b.z + bf16_hi(q.w) * b.w;
    }
  } else {
    for (int i = lane; i < cols; i += 32) acc += bf16(wr[i]) * xr[i];
  }
  acc = warp_sum(acc);
  if (lane == 0) {
    if (bias) acc += bias[row];
    float* out = y + size_t(r) * rows + row;
    *out = accumulate ? *out + acc : acc;
  }
}

__global__ void to_bf16(const float* __restrict__ x, uint16_t* __restrict__ y, size_t n) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = to_bf16(x[i]);
}

__global__ void add_bias(float* __restrict__ y, const float* __restrict__ bias, int m, int n) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < size_t(m) * n) y[i] += bias[i % n];
}

}  // namespace zest::cuda::device
