// Shared SIMD vocabulary for the kernels: the float batch of the widest ISA this translation
// unit is compiled for (xsimd picks AVX-512, AVX2+FMA or SSE from the -march flags), horizontal
// reductions, and 64-byte aligned storage for packed weights and scratch.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace zest::detail {

using vfloat = xsimd::batch<float>;
using vuint32 = xsimd::batch<uint32_t>;
inline constexpr size_t kLanes = vfloat::size;

inline float reduce_add(const vfloat& v) { return xsimd::hadd(v); }

inline float reduce_max(const vfloat& v) {
  alignas(64) float lanes[kLanes];
  v.store_aligned(lanes);
  return *std::max_element(lanes, lanes + kLanes);
}

// Lane l of the result is the sum of rows[l] (kLanes rows). xsimd 8.1's AVX-512 haddp returns
// these sums in a shuffled lane order, so the order is probed once and undone with a lane
// permutation; where haddp is correct (SSE, AVX2) the probe finds the identity.
inline vfloat reduce_add_each(const vfloat* rows) {
  static const std::array<uint32_t, kLanes> lane_of_row = [] {
    vfloat probe[kLanes];
    for (size_t i = 0; i < kLanes; ++i) probe[i] = vfloat(float(i));
    alignas(64) float sums[kLanes];
    xsimd::haddp(probe).store_aligned(sums);
    std::array<uint32_t, kLanes> lane{};
    for (size_t l = 0; l < kLanes; ++l) lane[size_t(sums[l]) / kLanes] = uint32_t(l);
    return lane;
  }();
  const vfloat sums = xsimd::haddp(rows);
#if defined(__AVX512F__)
  static_assert(kLanes == 16);
  return _mm512_permutexvar_ps(_mm512_loadu_si512(lane_of_row.data()), sums);
#else
  alignas(64) float in[kLanes], out[kLanes];
  sums.store_aligned(in);
  for (size_t l = 0; l < kLanes; ++l) out[l] = in[lane_of_row[l]];
  return vfloat::load_aligned(out);
#endif
}

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace zest::detail
