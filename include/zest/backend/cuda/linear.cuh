// The Linear layers' own kernels: the bf16 GEMV of a decode step, and the conversions and bias
// around cuBLASLt's GEMM of a prompt.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zest/backend/cuda/common.cuh"
#include "zest/backend/cuda/kernels.hpp"

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
#pragma unroll 4  // several 16-byte loads in flight per lane
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

// int8 weight-only: W[row][k] = scales[row][k / kInt8Group] * q[row][k]. One warp per output row;
// each lane takes 16 weights (one 16-byte load, half a group) and 16 activations at a time.
// cols % kInt8Group == 0 and 16-byte aligned rows (the loader guarantees both).
__global__ void gemv_int8(const int8_t* __restrict__ w, const float* __restrict__ scales, const float* __restrict__ x,
                          const float* __restrict__ bias, float* __restrict__ y, int rows, int cols, bool accumulate) {
  const int lane = threadIdx.x % 32, row = blockIdx.x * kGemvWarps + threadIdx.x / 32, r = blockIdx.y;
  if (row >= rows) return;
  const int4* w16 = reinterpret_cast<const int4*>(w + size_t(row) * cols);
  const float* sr = scales + size_t(row) * (cols / kInt8Group);
  const float4* x4 = reinterpret_cast<const float4*>(x + size_t(r) * cols);
  float acc = 0;
#pragma unroll 2
  for (int i = lane; i < cols / 16; i += 32) {
    const int4 q = __ldg(w16 + i);
    float part = 0;
    const int words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float4 a = x4[4 * i + j];
      part += float(int8_t(words[j])) * a.x + float(int8_t(words[j] >> 8)) * a.y + float(int8_t(words[j] >> 16)) * a.z +
              float(int8_t(words[j] >> 24)) * a.w;
    }
    acc += part * sr[i * 16 / kInt8Group];
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
