// int8 x int8 -> int32 GEMM / GEMV for int8- and int4-packed weights (layouts in packed_matrix.hpp).
// Activations are quantized per row on the fly: d_x = max|x| / 127, q = round(x / d_x), stored
// offset to unsigned (q + 128) because AVX-512 VNNI's vpdpbusd multiplies unsigned by signed
// bytes; the offset's contribution, 128 * sum(q_w) per output row, was precomputed at packing.
//
//   y[r][n] = d_x[r] * (sum_blocks d_w[n] * sum_k (q_x + 128) q_w  -  row_offset[n])
//
// With a residual level (Int8Scheme::activation_residual) each row also stores
// q' = round((x / d_x - q) * 254), and the kernel runs q' as one more activation row:
//
//   y[r][n] = d_x[r] * (dot(q) + dot(q') / 254),   each dot as above
//
// Three implementations of the block dot product (the int32 sums of one weight block against
// MR activation rows), chosen at compile time and all reachable by the tests; each is a template
// over how the block's weights unpack to int8 quads (Int8Quads here, Int4Quads in matmul_int4.hpp):
//   DotVnni   AVX-512 VNNI vpdpbusd: 64 multiply-adds per instruction
//   DotAvx2   AVX2 vpmaddubsw on |q_x| and sign-adjusted weights (no offset; |products|
//             <= 2 * 127 * 127 never saturate the 16-bit pair sums), then vpmaddwd
//   DotScalar plain C++
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "zest/error.hpp"
#include "zest/kernels/matmul_int8_amx.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/quantize_int8.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/tile.hpp"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace zest::detail {


// A tile's f32 accumulators, acc[r] = sum over blocks of d_w * the block's int32 sums of row r.
// They live in memory (L1), not registers: a block's int32 sums for 8 rows already take 16 of
// AVX-512's 32 registers, and 16 more for these left the compiler spilling and copying
// registers in the inner loop (int8r decode_rows 768x2304 m:16, 2 threads: see bench/README.md).
template <int MR>
using TileSums = float[MR][kPanel];

// acc[r] += d_w * sums[r], d_w the block's 32 f16 scales: the step after a block's dot products.
template <int MR>
inline void add_scaled_sums(const int32_t (*sums)[kPanel], const uint16_t* d, TileSums<MR>& acc) {
  for (size_t j = 0; j < kPanelBatches; ++j) {
    const vfloat dj = load_f16_batch(d + j * kLanes);
    for (int r = 0; r < MR; ++r)
      xsimd::fma(xsimd::to_float(xsimd::batch<int32_t>::load_aligned(sums[r] + j * kLanes)), dj,
                 vfloat::load_aligned(acc[r] + j * kLanes))
          .store_aligned(acc[r] + j * kLanes);
  }
}

// Each implementation's scaled_block<MR>(a, lda, q, quads, d, acc): acc[r] += d * (the int32 dot
// products of activation rows a + r * lda with one weight block q of `quads` quads). This one is
// for implementations whose Dot::block<MR> writes the int32 sums to memory.
template <typename Dot>
struct ScaledFromSums {
  template <int MR>
  static void scaled_block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, const uint16_t* d,
                           TileSums<MR>& acc) {
    alignas(64) int32_t sums[MR][kPanel];
    Dot::template block<MR>(a, lda, q, quads, sums);
    add_scaled_sums<MR>(sums, d, acc);
  }
};

// How a Dot reads a block's weights: Int8Quads (packed_matrix.hpp's int8 layout) or Int4Quads
// (its int4 layout, matmul_int4.hpp). kQuads: quads per 128-byte vector, which unpack(vector, w)
// turns into kQuads quads of int8 weights. weight(q, i, j, b): input 4i + b of panel row j, for
// the scalar kernel. kVnniScale: the 512-bit unpacking gives kVnniScale^-1 q (the 256-bit one q).
struct Int8Quads {
  static constexpr size_t kQuads = 1;
  static constexpr float kVnniScale = 1.f;
  static int weight(const int8_t* q, size_t i, size_t j, size_t b) { return q[(i * kPanel + j) * 4 + b]; }
#if defined(__AVX2__)
  static void unpack(const int8_t* q, __m256i (&w)[kQuads][4]) {
    for (int v = 0; v < 4; ++v) w[0][v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + v * 32));
  }
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  static void unpack(const int8_t* q, __m512i (&w)[kQuads][2]) {
    w[0][0] = _mm512_loadu_si512(q);
    w[0][1] = _mm512_loadu_si512(q + 64);
  }
#endif
};

template <typename Quads>
struct DotScalar : ScaledFromSums<DotScalar<Quads>> {
  static constexpr bool kOffsetActivations = false;
  template <int MR>
  static void block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, int32_t (*sums)[kPanel]) {
    for (int r = 0; r < MR; ++r)
      for (size_t j = 0; j < kPanel; ++j) {
        int32_t s = 0;
        for (size_t i = 0; i < quads; ++i)
          for (size_t b = 0; b < 4; ++b) s += (int32_t(a[r * lda + 4 * i + b]) - 128) * Quads::weight(q, i, j, b);
        sums[r][j] = s;
      }
  }
};

#if defined(__AVX2__)
template <typename Quads>
struct DotAvx2 : ScaledFromSums<DotAvx2<Quads>> {
  static constexpr bool kOffsetActivations = false;
  template <int MR>
  static void block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, int32_t (*sums)[kPanel]) {
    constexpr size_t Q = Quads::kQuads;
    __m256i acc[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_setzero_si256();
    const __m256i flip = _mm256_set1_epi8(char(0x80)), ones = _mm256_set1_epi16(1);
    for (size_t i = 0; i < quads; i += Q) {
      __m256i w[Q][4];
      Quads::unpack(q + i * 128 / Q, w);
      for (size_t h = 0; h < Q; ++h)
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
          int32_t four;
          std::memcpy(&four, a + r * lda + 4 * (i + h), 4);
          const __m256i s = _mm256_xor_si256(_mm256_set1_epi32(four), flip);  // back to signed q_x
          const __m256i ax = _mm256_abs_epi8(s);
          for (int v = 0; v < 4; ++v)
            acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w[h][v], s)), ones));
        }
    }
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < 4; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums[r] + v * 8), acc[r][v]);
  }
};
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
// sum + the dot products of x's unsigned and w's signed byte quads. GCC 12 compiles
// _mm512_dpbusd_epi32 on an array of accumulators into a copy to a fresh register and back around
// each instruction, and spills (int8r decode_rows 768x2304 m:16: see bench/README.md); the asm
// updates the accumulator in its register.
inline __m512i dpbusd(__m512i sum, __m512i x, __m512i w) {
#if defined(__GNUC__) && !defined(__clang__)
  asm("vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(x), "v"(w));
  return sum;
#else
  return _mm512_dpbusd_epi32(sum, x, w);
#endif
}

template <typename Quads>
struct DotVnni {
  static constexpr bool kOffsetActivations = true;
  // The int32 sums stay in registers from the dot products to the scaling. A GEMV's one or two
  // rows would leave each sum a chain of dependent vpdpbusd, a quad per latency, slower than an
  // L3 delivers weights: consecutive vectors go to kChains independent sums, added at the end
  // (int8r GEMV from L3, 2 threads, bench_kernels gemv/: 34.5 -> 35.2 GB/s, commit 2763ad6).
  template <int MR>
  static constexpr int kChains = MR == 1 ? 4 : MR == 2 ? 2 : 1;

  template <int MR>
  static void scaled_block(const uint8_t* a, size_t lda, const int8_t* q, size_t quads, const uint16_t* d,
                           TileSums<MR>& acc) {
    static_assert(kPanelBatches == 2);
    constexpr int C = kChains<MR>;
    constexpr size_t Q = Quads::kQuads;
    __m512i sum[C][MR][2];
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < MR; ++r) sum[c][r][0] = sum[c][r][1] = _mm512_setzero_si512();
    auto vector = [&](int c, size_t v) {  // the Q quads of 128-byte vector v
      __m512i w[Q][2];
      Quads::unpack(q + v * 128, w);
      for (size_t h = 0; h < Q; ++h)
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
          int32_t four;
          std::memcpy(&four, a + r * lda + 4 * (v * Q + h), 4);
          const __m512i x = _mm512_set1_epi32(four);
          sum[c][r][0] = dpbusd(sum[c][r][0], x, w[h][0]);
          sum[c][r][1] = dpbusd(sum[c][r][1], x, w[h][1]);
        }
    };
    const size_t vectors = quads / Q;
    size_t v = 0;
    for (; v + C <= vectors; v += C)
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) vector(c, v + c);
    for (; v < vectors; ++v) vector(0, v);
    const __m512 scale = _mm512_set1_ps(Quads::kVnniScale);
    const __m512 d0 = _mm512_mul_ps(load_f16_batch(d), scale), d1 = _mm512_mul_ps(load_f16_batch(d + 16), scale);
    for (int r = 0; r < MR; ++r) {
      for (int c = 1; c < C; ++c)
        for (int h = 0; h < 2; ++h) sum[0][r][h] = _mm512_add_epi32(sum[0][r][h], sum[c][r][h]);
      _mm512_store_ps(acc[r], _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[0][r][0]), d0, _mm512_load_ps(acc[r])));
      _mm512_store_ps(acc[r] + 16, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[0][r][1]), d1, _mm512_load_ps(acc[r] + 16)));
    }
  }
};
#endif

using Int8DotScalar = DotScalar<Int8Quads>;
#if defined(__AVX2__)
using Int8DotAvx2 = DotAvx2<Int8Quads>;
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
using Int8DotVnni = DotVnni<Int8Quads>;
using Int8Dot = Int8DotVnni;
#if defined(ZEST_HAVE_AMX_INT8)
// VNNI, with AMX for every whole group of kAmxRows quantized rows: where amx_int8_usable().
struct Int8DotAmx : Int8DotVnni {};
#endif
#elif defined(__AVX2__)
using Int8Dot = Int8DotAvx2;
#else
using Int8Dot = Int8DotScalar;
#endif

// Quantized rows per int8 tile (activation rows times levels): the VNNI block keeps 2 x MR
// int32 accumulators in registers.
inline constexpr int kInt8TileRows = 8;
// Inputs per cache block: a 32-row panel slice of 512 int8 inputs is 16 KiB.
inline constexpr size_t kInt8BlockInputs = 512;

// Each level's offset (activations + 128) counts once in an accumulator that sums the levels:
// 1 + 1 / 254 times the row offset with a residual level.
template <int Levels>
inline constexpr float kOffsetWeight = Levels == 2 ? 1.f + 1.f / kResidualSteps : 1.f;

// y = init + d_x * (acc - offset) for Rows activation rows from row r0 of one panel: the end of
// a tile, from accumulators that hold sum_blocks d_w * the block's int32 sums, the residual
// level's divided by 254 and added in.
template <bool OffsetActivations, int Rows, int Levels>
inline void finish_int8_tile(const vfloat (&acc)[Rows][kPanelBatches], const QuantizedRows& x, size_t r0,
                             const PackedMatrix& w, size_t p, bool subtract_offset, float* y, size_t ldy,
                             size_t n_valid, const float* bias, bool load_y) {
  vfloat offset[kPanelBatches];
  for (size_t j = 0; j < kPanelBatches; ++j)
    offset[j] = subtract_offset && OffsetActivations
                    ? vfloat::load_unaligned(w.row_offset(p) + j * kLanes) * vfloat(kOffsetWeight<Levels>)
                    : vfloat(0.f);
  for (int r = 0; r < Rows; ++r) {
    const vfloat dx(x.scale[r0 + r]);
    vfloat out[kPanelBatches];
    for (size_t j = 0; j < kPanelBatches; ++j) {
      vfloat base = load_y ? load_tile_batch(y + r * ldy, j, n_valid) : vfloat(0.f);
      if (bias) base += vfloat::load_aligned(bias + j * kLanes);
      out[j] = xsimd::fma(dx, acc[r][j] - offset[j], base);
    }
    store_tile_row(out, y + r * ldy, n_valid);
  }
}

// MR quantized rows from quantized row q0 x one panel over the weight blocks [b0, b1), while
// `prefetch_count` cache lines from `prefetch` (the weights that the next tiles read) go to L2,
// spread over the blocks.
template <typename Dot, int MR, int Levels>
inline void int8_tile(const QuantizedRows& x, size_t q0, const PackedMatrix& w, size_t p, size_t b0, size_t b1,
                      float* y, size_t ldy, size_t n_valid, const float* bias, bool load_y,
                      const char* prefetch = nullptr, size_t prefetch_count = 0) {
  static_assert(MR % Levels == 0);
  const size_t group = w.group();
  const uint8_t* panel = w.quantized_panel(p);
  alignas(64) TileSums<MR> acc = {};
  const size_t per_block = b1 > b0 ? (prefetch_count + (b1 - b0) - 1) / (b1 - b0) : 0;
  for (size_t b = b0; b < b1; ++b) {
    for (size_t l = (b - b0) * per_block, end = std::min(prefetch_count, l + per_block); l < end; ++l)
      __builtin_prefetch(prefetch + l * 64, 0, 2);
    const uint8_t* block = panel + b * w.block_bytes();
    Dot::template scaled_block<MR>(x.q.data() + q0 * x.stride + b * group, x.stride,
                                   reinterpret_cast<const int8_t*>(block),
                                   group / 4, reinterpret_cast<const uint16_t*>(block + w.block_weight_bytes()), acc);
  }
  vfloat rows[MR / Levels][kPanelBatches];
  for (int r = 0; r < MR / Levels; ++r)
    for (size_t j = 0; j < kPanelBatches; ++j)
      rows[r][j] = Levels == 1 ? vfloat::load_aligned(acc[r] + j * kLanes)
                               : xsimd::fma(vfloat::load_aligned(acc[r * Levels + 1] + j * kLanes), vfloat(1.f / kResidualSteps),
                                            vfloat::load_aligned(acc[r * Levels] + j * kLanes));
  finish_int8_tile<Dot::kOffsetActivations, MR / Levels, Levels>(rows, x, q0 / Levels, w, p, b0 == 0, y, ldy,
                                                                 n_valid, bias, load_y);
}

#if defined(ZEST_HAVE_AMX_INT8)
// int8_tile for kAmxRows quantized rows on AMX.
template <int Levels>
inline void amx_int8_tile(const QuantizedRows& x, size_t q0, const PackedMatrix& w, size_t p, size_t b0, size_t b1,
                          float* y, size_t ldy, size_t n_valid, const float* bias, bool load_y) {
  constexpr int kRows = int(kAmxRows) / Levels;
  vfloat acc[kRows][kPanelBatches];
  for (auto& row : acc)
    for (auto& v : row) v = vfloat(0.f);
  amx_int8_rows<Levels>(x, q0, w, p, b0, b1, acc);
  finish_int8_tile<true, kRows, Levels>(acc, x, q0 / Levels, w, p, b0 == 0, y, ldy, n_valid, bias, load_y);
}
#endif

// Activation rows up to which an int8 matmul is a decode batch (one token of each of m
// sequences, or a GEMV): each panel goes whole, its weights read once in their stored order, and
// every row tile re-reads them from L1 / L2 while the tiles prefetch the next panel. Whole panels
// also make each row's result that of the row alone (M = 1), bit for bit.
inline constexpr size_t kInt8DecodeRows = 64;

template <typename Dot, int Levels>
inline void int8_matmul_levels(const QuantizedRows& x, const PackedMatrix& w, float* y, const float* bias,
                               bool accumulate, size_t p0, size_t p1) {
  const size_t n = w.rows(), m = x.rows, quantized_rows = m * Levels;
  const size_t blocks = w.cols_padded() / w.group();
  const bool decode = m <= kInt8DecodeRows;
  const size_t blocks_per_step = decode ? blocks : std::max<size_t>(1, kInt8BlockInputs / w.group());
  // Decode batches from kMinRowsToBlock rows: the tiles of a panel share out the prefetch of the
  // next (a GEMV's one stream is left to the hardware prefetchers).
  const size_t panel_lines = blocks * w.block_bytes() / 64;
  size_t tiles_per_panel = 0;
  if (decode && m >= kMinRowsToBlock) {
    size_t rest = quantized_rows;
    for (size_t R : {size_t(kInt8TileRows), size_t(4), size_t(Levels)}) tiles_per_panel += rest / R, rest %= R;
  }
  for (size_t b0 = 0; b0 < blocks; b0 += blocks_per_step) {
    const size_t b1 = std::min(blocks, b0 + blocks_per_step);
    for (size_t p = p0; p < p1; ++p) {
      const size_t n0 = p * kPanel, n_valid = std::min(kPanel, n - n0);
      alignas(64) float panel_bias[kPanel] = {};
      if (bias && b0 == 0) std::memcpy(panel_bias, bias + n0, n_valid * sizeof(float));
      const float* tile_bias = bias && b0 == 0 ? panel_bias : nullptr;
      const bool load_y = accumulate || b0 > 0;
      const char* next_panel = p + 1 < p1 ? reinterpret_cast<const char*>(w.quantized_panel(p + 1)) : nullptr;
      const size_t share = next_panel && tiles_per_panel ? (panel_lines + tiles_per_panel - 1) / tiles_per_panel : 0;
      size_t tile = 0;
      auto tiles = [&]<int MR>(size_t& q) {
        for (; q + MR <= quantized_rows; q += MR, ++tile) {
          const size_t first = std::min(panel_lines, tile * share);
          int8_tile<Dot, MR, Levels>(x, q, w, p, b0, b1, y + q / Levels * n + n0, n, n_valid, tile_bias, load_y,
                                     next_panel + first * 64, std::min(share, panel_lines - first));
        }
      };
      size_t q = 0;
#if defined(ZEST_HAVE_AMX_INT8)
      if constexpr (std::is_same_v<Dot, Int8DotAmx>)
        for (; q + kAmxRows <= quantized_rows; q += kAmxRows)
          amx_int8_tile<Levels>(x, q, w, p, b0, b1, y + q / Levels * n + n0, n, n_valid, tile_bias, load_y);
#endif
      tiles.template operator()<kInt8TileRows>(q);
      tiles.template operator()<4>(q);
      tiles.template operator()<Levels>(q);
    }
  }
}

// y = x W^T over panels [p0, p1), for the levels x carries.
template <typename Dot>
inline void int8_matmul_panels(const QuantizedRows& x, const PackedMatrix& w, float* y, const float* bias,
                               bool accumulate, size_t p0, size_t p1) {
  if (x.levels == 2) int8_matmul_levels<Dot, 2>(x, w, y, bias, accumulate, p0, p1);
  else int8_matmul_levels<Dot, 1>(x, w, y, bias, accumulate, p0, p1);
}

}  // namespace zest::detail
