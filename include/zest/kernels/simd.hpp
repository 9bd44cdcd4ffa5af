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

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <xsimd/xsimd.hpp>

#include "zest/kernels/half.hpp"

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__F16C__)
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

// kLanes f16 values as f32: F16C / AVX-512 where compiled for, else half.hpp's scalar code.
inline vfloat load_f16_batch(const uint16_t* h) {
#if defined(__AVX512F__)
  static_assert(kLanes == 16);
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)));
#elif defined(__F16C__) && defined(__AVX__)
  static_assert(kLanes == 8);
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
#else
  alignas(64) float f[kLanes];
  f16_to_f32(h, f, kLanes);
  return vfloat::load_aligned(f);
#endif
}

// kLanes bf16 values as f32 (exact: the bits shifted into the high half).
inline vfloat load_bf16_batch(const uint16_t* h) {
#if defined(__AVX512F__)
  static_assert(kLanes == 16);
  const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
#elif defined(__AVX2__)
  static_assert(kLanes == 8);
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
#else
  alignas(64) float f[kLanes];
  bf16_to_f32(h, f, kLanes);
  return vfloat::load_aligned(f);
#endif
}

// Cache-line aligned; buffers of a huge page or more (packed weights, KV caches) start on a huge
// page and ask for transparent huge pages, so a GEMV streaming hundreds of megabytes does not
// also walk a page table entry every 4 KiB.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t(2) << 20;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    void* p = ::operator new(bytes, alignment(bytes));
#if defined(__linux__)
    if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) { ::operator delete(p, alignment(n * sizeof(T))); }
  static std::align_val_t alignment(size_t bytes) { return std::align_val_t(bytes >= kHugePage ? kHugePage : 64); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace zest::detail
