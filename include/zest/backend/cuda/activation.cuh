// The MLP's activation, and greedy argmax over the logits.
#pragma once

#include <cstdint>

#include "zest/backend/cuda/kernels.hpp"

namespace zest::cuda::device {

__device__ __forceinline__ float activation(float x, Act act) {
  switch (act) {
    case Act::silu: return x / (1.0f + expf(-x));
    case Act::gelu_tanh: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case Act::gelu_erf: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case Act::relu: return fmaxf(x, 0.0f);
  }
  return x;
}

__global__ void activate(const float* __restrict__ u, float* __restrict__ out, int m, int n, Act act, bool gated) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size_t(m) * n) return;
  if (!gated) {
    out[i] = activation(u[i], act);
    return;
  }
  const size_t r = i / n, c = i % n;
  out[i] = activation(u[r * 2 * n + c], act) * u[r * 2 * n + n + c];
}

// One block: each thread its strided share, then a tree over (value, index), lower index on ties.
inline constexpr int kArgmaxThreads = 1024;
__global__ void argmax(const float* __restrict__ logits, int n, int32_t* __restrict__ out) {
  __shared__ float best[kArgmaxThreads];
  __shared__ int32_t at[kArgmaxThreads];
  float b = -INFINITY;
  int32_t a = -1;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    if (a < 0 || logits[i] > b) b = logits[i], a = i;
  best[threadIdx.x] = b, at[threadIdx.x] = a;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const float ob = best[threadIdx.x + stride];
      const int32_t oa = at[threadIdx.x + stride];
      if (oa >= 0 && (at[threadIdx.x] < 0 || ob > best[threadIdx.x] || (ob == best[threadIdx.x] && oa < at[threadIdx.x])))
        best[threadIdx.x] = ob, at[threadIdx.x] = oa;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = at[0];
}

}  // namespace zest::cuda::device
