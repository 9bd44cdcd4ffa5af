// All of zest's compute kernels: vector ops, packed weights and matmul, attention. Each header
// also stands alone.
#pragma once

#include "zest/kernels/activation.hpp"
#include "zest/kernels/attention.hpp"
#include "zest/kernels/matmul.hpp"
#include "zest/kernels/norm.hpp"
#include "zest/kernels/norm_quantize.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/rope.hpp"
#include "zest/kernels/softmax.hpp"
#include "zest/runtime/thread_pool.hpp"
