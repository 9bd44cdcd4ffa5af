// Which GPUs there are: the checks behind Device::cuda(i) and a model's fit in device memory.
#pragma once

#include <cstddef>

#include <cuda_runtime_api.h>

#include "zest/backend/cuda/check.hpp"
#include "zest/error.hpp"

namespace zest::detail {

// Fails unless GPU `index` exists.
inline void check_cuda_device(int index) {
  int count = 0;
  if (const cudaError_t status = cudaGetDeviceCount(&count); status != cudaSuccess)
    fail(Error::Kind::device, "Device::cuda(", index, "): no usable GPU (cudaGetDeviceCount: ", cudaGetErrorString(status), ")");
  if (count == 0) fail(Error::Kind::device, "Device::cuda(", index, "): no GPU found");
  if (index < 0 || index >= count)
    fail(Error::Kind::device, "Device::cuda(", index, "): GPU index out of range; this machine has ", count, " GPU",
         count == 1 ? "" : "s", " (0 to ", count - 1, ")");
}

// Fails unless `bytes` fit in the current GPU's free memory.
inline void check_fits_on_device(size_t bytes, const char* what) {
  size_t free = 0, total = 0;
  ZEST_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  if (bytes > free)
    fail(Error::Kind::device, what, " needs ", bytes, " bytes of GPU memory; the GPU has ", free, " free of ", total);
}

}  // namespace zest::detail
