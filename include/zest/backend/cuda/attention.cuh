// Causal attention over the KV cache, split-K ("flash-decoding"): each block scores one split of
// kAttentionSplit positions for one head of one query row and keeps its unnormalised output, its
// max and its sum of exponentials; a second kernel combines the splits. A prompt's rows run the
// same way, row r attending positions 0 .. *pos0 + r.
#pragma once

#include <cstdint>

#include "zest/backend/cuda/common.cuh"
#include "zest/backend/cuda/kernels.hpp"

namespace zest::cuda::device {

inline constexpr int kAttentionThreads = 128;

// Grid (splits, heads, m). partial[(r, head, split)] = (o[head_dim], max, sum).
__global__ void attention_split(const float* __restrict__ qkv, int row_stride, const float* __restrict__ k_cache,
                                const float* __restrict__ v_cache, const int32_t* __restrict__ pos0, int heads,
                                int kv_heads, int head_dim, int capacity, float scale, float* __restrict__ partial) {
  const int split = blockIdx.x, head = blockIdx.y, r = blockIdx.z, splits = gridDim.x;
  const int length = *pos0 + r + 1, begin = split * kAttentionSplit, end = min(begin + kAttentionSplit, length);
  float* part = partial + ((size_t(r) * heads + head) * splits + split) * (head_dim + 2);
  if (begin >= end) {  // past this row's length (the grid is sized for the capacity)
    if (threadIdx.x == 0) part[head_dim] = -INFINITY, part[head_dim + 1] = 0;
    return;
  }
  __shared__ float q[kMaxHeadDim];
  __shared__ float p[kAttentionSplit];
  const float* qr = qkv + size_t(r) * row_stride + size_t(head) * head_dim;
  for (int i = threadIdx.x; i < head_dim; i += blockDim.x) q[i] = qr[i] * scale;
  __syncthreads();
  const int kv_head = head / (heads / kv_heads);
  const float* keys = k_cache + size_t(kv_head) * capacity * head_dim;
  const float* values = v_cache + size_t(kv_head) * capacity * head_dim;
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32, n = end - begin;
  for (int t = threadIdx.x / 32; t < n; t += warps) {  // a warp per position: lanes across the head
    const float* k = keys + size_t(begin + t) * head_dim;
    float s = 0;
    for (int i = lane; i < head_dim; i += 32) s += q[i] * k[i];
    s = warp_sum(s);
    if (lane == 0) p[t] = s;
  }
  __syncthreads();
  float mx = -INFINITY;
  for (int t = threadIdx.x; t < n; t += blockDim.x) mx = fmaxf(mx, p[t]);
  mx = block_max(mx);
  float sum = 0;
  for (int t = threadIdx.x; t < n; t += blockDim.x) {
    const float e = expf(p[t] - mx);
    p[t] = e;
    sum += e;
  }
  sum = block_sum(sum);  // its barriers also publish p's exponentials
  for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
    float o = 0;
    for (int t = 0; t < n; ++t) o += p[t] * values[size_t(begin + t) * head_dim + i];
    part[i] = o;
  }
  if (threadIdx.x == 0) part[head_dim] = mx, part[head_dim + 1] = sum;
}

// Grid (heads, m): combines the splits a row used, each weighted by exp(its max - the max).
__global__ void attention_reduce(const float* __restrict__ partial, const int32_t* __restrict__ pos0, int heads,
                                 int head_dim, int splits, float* __restrict__ out, int out_stride) {
  const int head = blockIdx.x, r = blockIdx.y;
  const int used = (*pos0 + r + 1 + kAttentionSplit - 1) / kAttentionSplit;
  const float* part = partial + (size_t(r) * heads + head) * splits * (head_dim + 2);
  float mx = -INFINITY;
  for (int s = 0; s < used; ++s) mx = fmaxf(mx, part[s * (head_dim + 2) + head_dim]);
  float den = 0;
  for (int s = 0; s < used; ++s) den += expf(part[s * (head_dim + 2) + head_dim] - mx) * part[s * (head_dim + 2) + head_dim + 1];
  for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
    float num = 0;
    for (int s = 0; s < used; ++s) num += expf(part[s * (head_dim + 2) + head_dim] - mx) * part[s * (head_dim + 2) + i];
    out[size_t(r) * out_stride + size_t(head) * head_dim + i] = num / den;
  }
}

}  // namespace zest::cuda::device
