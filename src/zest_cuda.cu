// The CUDA backend's one nvcc translation unit: the kernels of include/zest/backend/cuda/*.cuh
// behind the plain launch functions of kernels.hpp, which zest's header-only host code calls.
#include <cstdint>

#include "zest/backend/cuda/activation.cuh"
#include "zest/backend/cuda/attention.cuh"
#include "zest/backend/cuda/check.hpp"
#include "zest/backend/cuda/kernels.hpp"
#include "zest/backend/cuda/linear.cuh"
#include "zest/backend/cuda/norm.cuh"
#include "zest/backend/cuda/rope.cuh"

namespace zest::cuda {
namespace {

constexpr int kThreads = 256;  // elementwise kernels: one value per thread
unsigned blocks_for(size_t n) { return unsigned((n + kThreads - 1) / kThreads); }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// cuBLASLt descriptors, destroyed however the call ends.
struct MatmulDescriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~MatmulDescriptors() {
    if (preference) cublasLtMatmulPreferenceDestroy(preference);
    if (y) cublasLtMatrixLayoutDestroy(y);
    if (x) cublasLtMatrixLayoutDestroy(x);
    if (w) cublasLtMatrixLayoutDestroy(w);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

void embed(const uint16_t* table, const uint16_t* positions, const int32_t* ids, const int32_t* pos0, float* x, int m,
           int d, cudaStream_t stream) {
  device::embed<<<blocks_for(size_t(m) * d), kThreads, 0, stream>>>(table, positions, ids, pos0, x, m, d);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void norm(const float* x, const float* w, const float* bias, float* y, int m, int d, float eps, cudaStream_t stream) {
  device::norm<<<m, kThreads, 0, stream>>>(x, w, bias, y, d, eps);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void gemv_bf16(const uint16_t* w, const float* x, const float* bias, float* y, int m, int rows, int cols,
               bool accumulate, cudaStream_t stream) {
  const dim3 grid((rows + device::kGemvWarps - 1) / device::kGemvWarps, m);
  if (cols % 8 == 0 && aligned16(w) && aligned16(x))
    device::gemv_bf16<true><<<grid, 32 * device::kGemvWarps, 0, stream>>>(w, x, bias, y, rows, cols, accumulate);
  else
    device::gemv_bf16<false><<<grid, 32 * device::kGemvWarps, 0, stream>>>(w, x, bias, y, rows, cols, accumulate);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void gemv_int8(const int8_t* w, const float* scales, const float* x, const float* bias, float* y, int m, int rows, int cols,
               bool accumulate, cudaStream_t stream) {
  if (cols % kInt8Group != 0 || !aligned16(w) || !aligned16(x))
    detail::fail(Error::Kind::unsupported, "gemv_int8: ", cols, " inputs (a multiple of ", kInt8Group,
                 " wanted) or rows not 16-byte aligned");
  const dim3 grid((rows + device::kGemvWarps - 1) / device::kGemvWarps, m);
  device::gemv_int8<<<grid, 32 * device::kGemvWarps, 0, stream>>>(w, scales, x, bias, y, rows, cols, accumulate);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void to_bf16(const float* x, uint16_t* y, size_t n, cudaStream_t stream) {
  device::to_bf16<<<blocks_for(n), kThreads, 0, stream>>>(x, y, n);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void add_bias(float* y, const float* bias, int m, int n, cudaStream_t stream) {
  device::add_bias<<<blocks_for(size_t(m) * n), kThreads, 0, stream>>>(y, bias, m, n);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

// Row-major Y (m x n) = X (m x k) W^T (W n x k) is, column-major, Y^T (n x m) = W^T' X^T' where W
// read column-major is k x n (transposed by the op) and X read column-major is k x m.
void gemm_bf16(cublasLtHandle_t handle, const uint16_t* x, const uint16_t* w, float* y, int m, int n, int k,
               bool accumulate, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  MatmulDescriptors d;
  ZEST_CUDA_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transpose = CUBLAS_OP_T;
  ZEST_CUDA_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose));
  ZEST_CUDA_CHECK(cublasLtMatrixLayoutCreate(&d.w, CUDA_R_16BF, uint64_t(k), uint64_t(n), int64_t(k)));
  ZEST_CUDA_CHECK(cublasLtMatrixLayoutCreate(&d.x, CUDA_R_16BF, uint64_t(k), uint64_t(m), int64_t(k)));
  ZEST_CUDA_CHECK(cublasLtMatrixLayoutCreate(&d.y, CUDA_R_32F, uint64_t(n), uint64_t(m), int64_t(n)));
  ZEST_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&d.preference));
  ZEST_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(d.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                       &workspace_bytes, sizeof workspace_bytes));
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  ZEST_CUDA_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, d.op, d.w, d.x, d.y, d.y, d.preference, 1, &heuristic, &found));
  if (found == 0)
    detail::fail(Error::Kind::device, "cublasLtMatmulAlgoGetHeuristic: no bf16 GEMM algorithm for ", m, " x ", k,
                 " times (", n, " x ", k, ")^T");
  const float alpha = 1, beta = accumulate ? 1 : 0;
  ZEST_CUDA_CHECK(cublasLtMatmul(handle, d.op, &alpha, w, d.w, x, d.x, &beta, y, d.y, y, d.y, &heuristic.algo, workspace,
                                 workspace_bytes, stream));
}

void rope(float* qkv, const float* inv_freq, const int32_t* pos0, int m, int row_stride, int heads, int kv_heads,
          int head_dim, int rotary_dim, float scaling, cudaStream_t stream) {
  // q's heads and k's are contiguous in a row: one pass over heads + kv_heads of them.
  device::rope<<<blocks_for(size_t(m) * (heads + kv_heads) * (rotary_dim / 2)), kThreads, 0, stream>>>(
      qkv, inv_freq, pos0, m, row_stride, heads + kv_heads, head_dim, rotary_dim, scaling);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void store_kv(const float* qkv, float* k_cache, float* v_cache, const int32_t* pos0, int m, int row_stride, int q_dim,
              int kv_heads, int head_dim, int capacity, cudaStream_t stream) {
  device::store_kv<<<blocks_for(size_t(m) * kv_heads * head_dim), kThreads, 0, stream>>>(
      qkv, k_cache, v_cache, pos0, m, row_stride, q_dim, kv_heads, head_dim, capacity);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void attention(const float* qkv, int row_stride, const float* k_cache, const float* v_cache, const int32_t* pos0, int m,
               int heads, int kv_heads, int head_dim, int capacity, float scale, float* partial, int splits, float* out,
               int out_stride, cudaStream_t stream) {
  if (head_dim > kMaxHeadDim || heads % kv_heads != 0)
    detail::fail(Error::Kind::unsupported, "CUDA attention: head_dim ", head_dim, " (at most ", kMaxHeadDim, "), ", heads,
                 " heads over ", kv_heads, " kv heads");
  device::attention_split<<<dim3(splits, heads, m), device::kAttentionThreads, 0, stream>>>(
      qkv, row_stride, k_cache, v_cache, pos0, heads, kv_heads, head_dim, capacity, scale, partial);
  ZEST_CUDA_CHECK(cudaGetLastError());
  device::attention_reduce<<<dim3(heads, m), device::kAttentionThreads, 0, stream>>>(partial, pos0, heads, head_dim,
                                                                                      splits, out, out_stride);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void activate(const float* u, float* out, int m, int n, Act act, bool gated, cudaStream_t stream) {
  device::activate<<<blocks_for(size_t(m) * n), kThreads, 0, stream>>>(u, out, m, n, act, gated);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

void argmax(const float* logits, int n, int32_t* out, cudaStream_t stream) {
  device::argmax<<<1, device::kArgmaxThreads, 0, stream>>>(logits, n, out);
  ZEST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace zest::cuda
