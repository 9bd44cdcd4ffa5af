// The int8 matmul's dot products (matmul_int8.hpp) over int4-packed weights (layout in
// packed_matrix.hpp): the nibbles unpack to int8 bytes in registers, and the int8 tiles, decode
// batches and prefill blocking run unchanged over blocks of half the bytes.
//   VNNI: (v << 4) & 0xf0 and v & 0xf0 are the two quads as 16 q (three instructions for a
//         vector of 128 weights); 1/16 goes into the block's scales.
//   AVX2: a vpshufb table maps each nibble to q itself (vpsignb, which the AVX2 dot uses, cannot
//         negate the -128 that 16 * -8 would be).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zest/kernels/matmul_int8.hpp"

namespace zest::detail {

struct Int4Quads {
  static constexpr size_t kQuads = 2;
  static constexpr float kVnniScale = 1.f / 16;
  static int weight(const int8_t* q, size_t i, size_t j, size_t b) {
    const auto byte = uint8_t(q[(i / 2) * kPanel * 4 + j * 4 + b]);
    return int8_t(uint8_t(i % 2 ? byte & 0xf0 : byte << 4)) >> 4;  // the nibble, sign-extended
  }
#if defined(__AVX2__)
  static void unpack(const int8_t* q, __m256i (&w)[kQuads][4]) {
    const __m256i nibble = _mm256_set1_epi8(0x0f),
                  values = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3,
                                            4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1);
    for (int v = 0; v < 4; ++v) {
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + v * 32));
      w[0][v] = _mm256_shuffle_epi8(values, _mm256_and_si256(bytes, nibble));
      w[1][v] = _mm256_shuffle_epi8(values, _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble));
    }
  }
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  static void unpack(const int8_t* q, __m512i (&w)[kQuads][2]) {
    const __m512i high = _mm512_set1_epi8(char(0xf0));
    for (int v = 0; v < 2; ++v) {
      const __m512i bytes = _mm512_loadu_si512(q + v * 64);
      w[0][v] = _mm512_and_si512(_mm512_slli_epi16(bytes, 4), high);
      w[1][v] = _mm512_and_si512(bytes, high);
    }
  }
#endif
};

using Int4DotScalar = DotScalar<Int4Quads>;
#if defined(__AVX2__)
using Int4DotAvx2 = DotAvx2<Int4Quads>;
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
using Int4DotVnni = DotVnni<Int4Quads>;
using Int4Dot = Int4DotVnni;
#elif defined(__AVX2__)
using Int4Dot = Int4DotAvx2;
#else
using Int4Dot = Int4DotScalar;
#endif

}  // namespace zest::detail
