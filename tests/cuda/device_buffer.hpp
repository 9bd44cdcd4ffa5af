// Test helper: a host vector's copy on the device and back.
#pragma once

#include <vector>

#include "zest/backend/cuda/check.hpp"
#include "zest/backend/cuda/memory.hpp"

template <typename T>
struct DeviceBuffer {
  zest::detail::DeviceMemory memory;
  size_t n = 0;

  explicit DeviceBuffer(const std::vector<T>& host) : memory(zest::detail::device_alloc(host.size() * sizeof(T))), n(host.size()) {
    ZEST_CUDA_CHECK(cudaMemcpy(memory.get(), host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  T* get() const { return static_cast<T*>(memory.get()); }
  std::vector<T> read() const {
    std::vector<T> host(n);
    ZEST_CUDA_CHECK(cudaDeviceSynchronize());
    ZEST_CUDA_CHECK(cudaMemcpy(host.data(), memory.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};
