// RMSNorm and LayerNorm, one block per row, and the embedding lookup that feeds the first one.
#pragma once

#include <cstdint>

#include "zest/backend/cuda/common.cuh"

namespace zest::cuda::device {

// y = x / sqrt(mean(x^2) + eps) * w, or with bias: (x - mean) / sqrt(var + eps) * w + bias.
__global__ void norm(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                     float* __restrict__ y, int d, float eps) {
  const float* xr = x + size_t(blockIdx.x) * d;
  float* yr = y + size_t(blockIdx.x) * d;
  float mean = 0;
  if (bias) {
    float s = 0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += xr[i];
    mean = block_sum(s) / float(d);
  }
  float ss = 0;
  for (int i = threadIdx.x; i < d; i += blockDim.x) ss += (xr[i] - mean) * (xr[i] - mean);
  const float inv = rsqrtf(block_sum(ss) / float(d) + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = (xr[i] - mean) * inv * w[i] + (bias ? bias[i] : 0.0f);
}

// x[r] = table[ids[r]] (+ positions[*pos0 + r]).
__global__ void embed(const uint16_t* __restrict__ table, const uint16_t* __restrict__ positions,
                      const int32_t* __restrict__ ids, const int32_t* __restrict__ pos0, float* __restrict__ x, int m,
                      int d) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size_t(m) * d) return;
  const int r = int(i / d), c = int(i % d);
  float v = bf16(table[size_t(ids[r]) * d + c]);
  if (positions) v += bf16(positions[size_t(*pos0 + r) * d + c]);
  x[i] = v;
}

}  // namespace zest::cuda::device
