// test_cuda's main: the tests need a GPU; without one the binary says why on one line and exits 77,
// which ctest counts as skipped (SKIP_RETURN_CODE).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include <cuda_runtime_api.h>

int main(int argc, char** argv) {
  int count = 0;
  if (const cudaError_t status = cudaGetDeviceCount(&count); status != cudaSuccess || count == 0) {
    std::printf("zest cuda tests skipped: %s\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount found no GPU");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
