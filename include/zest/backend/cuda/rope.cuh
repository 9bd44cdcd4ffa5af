// Rotary embedding of q and k, and the store of k and v into the layer's cache.
#pragma once

#include <cstdint>

namespace zest::cuda::device {

// One thread per (row, head of q then k, pair i < rotary_dim / 2). cos and sin in double, as the
// CPU path's rope_cos_sin computes them, so both paths rotate by the same f32 values.
__global__ void rope(float* __restrict__ qkv, const float* __restrict__ inv_freq, const int32_t* __restrict__ pos0,
                     int m, int row_stride, int heads, int head_dim, int rotary_dim, float scaling) {
  const int half = rotary_dim / 2;
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size_t(m) * heads * half) return;
  const int pair = int(i % half), head = int(i / half % heads), r = int(i / half / heads);
  const float angle = float(*pos0 + r) * inv_freq[pair];
  const float c = float(cos(double(angle))) * scaling, s = float(sin(double(angle))) * scaling;
  float* x = qkv + size_t(r) * row_stride + size_t(head) * head_dim;
  const float a = x[pair], b = x[pair + half];
  x[pair] = a * c - b * s;
  x[pair + half] = a * s + b * c;
}

// Cache layout [kv_head][capacity][head_dim]: a head's positions are contiguous for attention.
__global__ void store_kv(const float* __restrict__ qkv, float* __restrict__ k_cache, float* __restrict__ v_cache,
                         const int32_t* __restrict__ pos0, int m, int row_stride, int q_dim, int kv_heads, int head_dim,
                         int capacity) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int kv_dim = kv_heads * head_dim;
  if (i >= size_t(m) * kv_dim) return;
  const int r = int(i / kv_dim), c = int(i % kv_dim), head = c / head_dim, j = c % head_dim;
  const float* row = qkv + size_t(r) * row_stride + q_dim;
  const size_t at = (size_t(head) * capacity + size_t(*pos0 + r)) * head_dim + j;
  k_cache[at] = row[c];
  v_cache[at] = row[kv_dim + c];
}

}  // namespace zest::cuda::device
