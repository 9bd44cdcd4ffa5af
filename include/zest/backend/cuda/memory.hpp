// Owners of CUDA resources: device and pinned host memory, a stream, a cuBLASLt handle, an
// instantiated graph. Each frees what it holds (errors on the way out are ignored: a destructor
// cannot throw, and the process is past caring).
#pragma once

#include <cstddef>
#include <utility>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "zest/backend/cuda/check.hpp"

namespace zest::detail {

// A handle and the function that releases it.
template <typename Handle, auto release>
class CudaOwned {
 public:
  CudaOwned() = default;
  explicit CudaOwned(Handle h) : h_(h) {}
  CudaOwned(CudaOwned&& other) noexcept : h_(std::exchange(other.h_, Handle{})) {}
  CudaOwned& operator=(CudaOwned&& other) noexcept {
    std::swap(h_, other.h_);
    return *this;
  }
  ~CudaOwned() {
    if (h_) release(h_);
  }
  Handle get() const { return h_; }
  explicit operator bool() const { return h_ != Handle{}; }

 private:
  Handle h_{};
};

using DeviceMemory = CudaOwned<void*, cudaFree>;
using PinnedMemory = CudaOwned<void*, cudaFreeHost>;
using CudaStream = CudaOwned<cudaStream_t, cudaStreamDestroy>;
using CublasLt = CudaOwned<cublasLtHandle_t, cublasLtDestroy>;
using CudaGraphExec = CudaOwned<cudaGraphExec_t, cudaGraphExecDestroy>;
using CudaGraph = CudaOwned<cudaGraph_t, cudaGraphDestroy>;

inline DeviceMemory device_alloc(size_t bytes) {
  void* p = nullptr;
  ZEST_CUDA_CHECK(cudaMalloc(&p, bytes));
  return DeviceMemory(p);
}
inline PinnedMemory pinned_alloc(size_t bytes) {
  void* p = nullptr;
  ZEST_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return PinnedMemory(p);
}
inline CudaStream make_stream() {
  cudaStream_t s = nullptr;
  ZEST_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return CudaStream(s);
}
inline CublasLt make_cublaslt() {
  cublasLtHandle_t h = nullptr;
  ZEST_CUDA_CHECK(cublasLtCreate(&h));
  return CublasLt(h);
}

// Carves one allocation into aligned pieces: first reserve() each (offsets), then allocate.
class DeviceArena {
 public:
  static constexpr size_t kAlign = 256;  // cudaMalloc's own alignment: 16-byte vector loads anywhere
  size_t reserve(size_t bytes) {
    const size_t at = size_;
    size_ += (bytes + kAlign - 1) / kAlign * kAlign;
    return at;
  }
  size_t size() const { return size_; }
  void allocate() { memory_ = device_alloc(size_); }
  template <typename T>
  T* at(size_t offset) const { return reinterpret_cast<T*>(static_cast<std::byte*>(memory_.get()) + offset); }

 private:
  size_t size_ = 0;
  DeviceMemory memory_;
};

}  // namespace zest::detail
