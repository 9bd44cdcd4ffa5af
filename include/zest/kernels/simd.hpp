// Shared SIMD vocabulary for the kernels: the float batch of the widest ISA this translation
// unit is compiled for (xsimd picks AVX-512, AVX2+FMA or SSE from the -march flags), horizontal
// reductions, and 64-byte aligned storage for packed weights and scratch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include <xsimd/xsimd.hpp>

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
