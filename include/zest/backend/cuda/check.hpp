// CUDA and cuBLASLt statuses as zest::Errors naming the call that returned them. Every call into
// CUDA goes through ZEST_CUDA_CHECK, so a failure says where it happened.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "zest/error.hpp"

namespace zest::detail {

inline void cuda_check(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    fail(Error::Kind::device, call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

inline void cuda_check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail(Error::Kind::device, call, " failed: ", cublasLtGetStatusName(status), " (", cublasLtGetStatusString(status), ")");
}

}  // namespace zest::detail

#define ZEST_CUDA_CHECK(call) ::zest::detail::cuda_check((call), #call)
