// The CUDA kernels against simple host references, on odd shapes.
#include <doctest/doctest.h>

#include "zest/backend/cuda/device.hpp"
#include "zest/backend/cuda/kernels.hpp"

TEST_SUITE_BEGIN("cuda_kernels");

TEST_CASE("a GPU index out of range is an error naming it") {
  CHECK_THROWS_WITH_AS(zest::detail::check_cuda_device(1 << 20), doctest::Contains("out of range"), zest::Error);
}

TEST_SUITE_END();
