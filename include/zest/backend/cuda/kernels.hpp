// The CUDA backend's kernels as plain C++ functions (compiled by nvcc once, in src/zest_cuda.cu):
// the host side includes this and never a .cuh. Pointers are device pointers; matrices are
// row-major; bf16 values travel as uint16_t. Each function enqueues on `stream` and checks the
// launch (ZEST_CUDA_CHECK), so a bad launch throws where it happened.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

namespace zest::cuda {

// Positions attended by one block of attention(): a query's cache is cut into splits this long.
inline constexpr int kAttentionSplit = 256;
// The widest head attention() takes (its query lives in shared memory).
inline constexpr int kMaxHeadDim = 256;

enum class Act { silu, gelu_tanh, gelu_erf, relu };

// x[r] = table[ids[r]] (+ positions[*pos0 + r] when positions is not null), d wide; tables bf16.
void embed(const uint16_t* table, const uint16_t* positions, const int32_t* ids, const int32_t* pos0, float* x, int m,
           int d, cudaStream_t stream);

// y[r] = RMSNorm(x[r]) * w, or with bias != null LayerNorm(x[r]) * w + b, over m rows of d.
void norm(const float* x, const float* w, const float* bias, float* y, int m, int d, float eps, cudaStream_t stream);

// y[r] (+)= W x[r] + bias for m rows: W is rows x cols bf16, x f32 (m x cols), y f32 (m x rows).
// One warp per output row, f32 accumulation; the decode step's Linear layers (m = 1).
void gemv_bf16(const uint16_t* w, const float* x, const float* bias, float* y, int m, int rows, int cols,
               bool accumulate, cudaStream_t stream);

// The same over int8 weights with one f32 scale per kInt8Group inputs of a row (scales: rows x
// cols / kInt8Group): W[o][k] = scales[o][k / kInt8Group] * w[o][k]. cols % kInt8Group == 0, w
// and x 16-byte aligned.
inline constexpr int kInt8Group = 32;
void gemv_int8(const int8_t* w, const float* scales, const float* x, const float* bias, float* y, int m, int rows, int cols,
               bool accumulate, cudaStream_t stream);

// f32 -> bf16 (round to nearest even), n values.
void to_bf16(const float* x, uint16_t* y, size_t n, cudaStream_t stream);

// y[r] += bias, m rows of n.
void add_bias(float* y, const float* bias, int m, int n, cudaStream_t stream);

// Y (+)= X W^T through cuBLASLt: X m x k bf16, W n x k bf16, Y m x n f32, f32 accumulation; a
// prompt's Linear layers. `workspace` of workspace_bytes for cuBLASLt's kernels.
void gemm_bf16(cublasLtHandle_t handle, const uint16_t* x, const uint16_t* w, float* y, int m, int n, int k,
               bool accumulate, void* workspace, size_t workspace_bytes, cudaStream_t stream);

// Rotates the first rotary_dim dims of q (heads) and k (kv_heads) heads in each of m rows of qkv
// (row_stride floats apart; k right after q's heads * head_dim) by position *pos0 + r, with
// rotate_half pairs (i, i + rotary_dim / 2), angles pos * inv_freq[i] (rotary_dim / 2 of them),
// cos and sin computed in double as the CPU path does and multiplied by `scaling`.
void rope(float* qkv, const float* inv_freq, const int32_t* pos0, int m, int row_stride, int heads, int kv_heads,
          int head_dim, int rotary_dim, float scaling, cudaStream_t stream);

// Writes the k and v heads of each of m qkv rows (k at q_dim, v at q_dim + kv_heads * head_dim)
// into one layer's caches, laid out [kv_head][capacity][head_dim], at position *pos0 + r.
void store_kv(const float* qkv, float* k_cache, float* v_cache, const int32_t* pos0, int m, int row_stride, int q_dim,
              int kv_heads, int head_dim, int capacity, cudaStream_t stream);

// Causal attention of m query rows (row r at position *pos0 + r, attending positions 0..*pos0 + r)
// over one layer's caches, GQA (heads / kv_heads queries per kv head), scores scaled by `scale`:
// split-K ("flash-decoding"), each block one split of kAttentionSplit positions of one head of one
// row, then a reduce over the splits. `splits` = capacity / kAttentionSplit rounded up (fixed, so a
// captured graph serves every length); `partial` holds m * heads * splits * (head_dim + 2) floats.
// Output row r at out + r * out_stride, heads * head_dim floats.
void attention(const float* qkv, int row_stride, const float* k_cache, const float* v_cache, const int32_t* pos0, int m,
               int heads, int kv_heads, int head_dim, int capacity, float scale, float* partial, int splits, float* out,
               int out_stride, cudaStream_t stream);

// out[r] = act(u[r]) for m rows of n; gated: u rows are [gate (n); up (n)] and out = act(gate) * up.
void activate(const float* u, float* out, int m, int n, Act act, bool gated, cudaStream_t stream);

// *out = the index of the largest of n logits (the first of equals).
void argmax(const float* logits, int n, int32_t* out, cudaStream_t stream);

}  // namespace zest::cuda
