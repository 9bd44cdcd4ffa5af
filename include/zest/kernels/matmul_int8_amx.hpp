// Intel AMX for the int8 GEMM: 32 quantized activation rows x one 32-output panel per call, as
// four 16 x 16 int32 tiles (2 row tiles x 2 output tiles), each TDPBUSD a 16 x 16 x 64 (or x 32)
// product. The packed int8 layout (packed_matrix.hpp) is already AMX's B-tile layout: a quad of
// four inputs x 16 outputs is one 64-byte tile row, the panel's second 16 outputs the next 64
// bytes, so a B tile is a strided load (stride 128). A weight block's f16 scales apply after
// its dot products: the tiles go through memory into f32 accumulators once a block.
// Compiled where the compiler targets AMX-INT8 (-march=native on Sapphire Rapids and later);
// used where Linux grants the process AMX state (arch_prctl), else the VNNI kernel runs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zest/kernels/packed_matrix.hpp"
#include "zest/kernels/quantize_int8.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/tile.hpp"

#if defined(__AMX_INT8__) && defined(__AMX_TILE__) && defined(__AVX512F__) && defined(__linux__)
#define ZEST_HAVE_AMX_INT8 1
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zest::detail {

// Quantized rows per AMX call: two 16-row A tiles.
inline constexpr size_t kAmxRows = 32;

// Linux gives AMX tile data only to a process that asks for it, once.
inline bool amx_int8_usable() {
  static const bool granted = [] {
    constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
  }();
  return granted;
}

// AMX takes blocks of 32 inputs or a multiple of 64 (one tile step); others stay on VNNI.
// int4 stays on VNNI too: AMX has no 4-bit operand, and its tiles would need the nibbles unpacked
// to memory first (this machine has no AMX to measure that on).
inline bool amx_int8_fits(const PackedMatrix& w) {
  return w.format() == WeightFormat::int8 && (w.group() == 32 || w.group() % 64 == 0);
}

// Tiles 0-3: int32 sums (rows 0-15 / 16-31 x outputs 0-15 / 16-31); 4, 5: the two row tiles of
// activations, k bytes each; 6, 7: the two output halves of k / 4 weight quads. k = 32 or 64.
inline void configure_amx_tiles(size_t k) {
  thread_local size_t configured = 0;  // a thread's tile configuration persists
  if (configured == k) return;
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 4; ++t) config.rows[t] = 16, config.colsb[t] = 64;
  for (int t = 4; t < 6; ++t) config.rows[t] = 16, config.colsb[t] = uint16_t(k);
  for (int t = 6; t < 8; ++t) config.rows[t] = uint8_t(k / 4), config.colsb[t] = 64;
  _tile_loadconfig(&config);
  configured = k;
}

// acc[r] += sum over blocks [b0, b1) of d_w * the block's int32 dot products, for panel p and
// the kAmxRows quantized rows from q0: one accumulator per quantized row, or with a residual
// level one per activation row, the levels summed (the second / 254). The VNNI kernel's offset
// convention (activations + 128).
template <int Levels>
inline void amx_int8_rows(const QuantizedRows& x, size_t q0, const PackedMatrix& w, size_t p, size_t b0, size_t b1,
                          vfloat (&acc)[kAmxRows / Levels][kPanelBatches]) {
  static_assert(kPanel == 32 && kLanes == 16);
  const size_t group = w.group(), k = group == 32 ? 32 : 64;
  configure_amx_tiles(k);
  // One level: row tiles of rows 0-15 and 16-31. Two: of the 16 rows' first and residual levels.
  const size_t tile_stride = Levels * x.stride, second_tile = Levels == 2 ? x.stride : 16 * x.stride;
  const uint8_t* panel = w.quantized_panel(p);
  alignas(64) int32_t sums[4][16][16];
  for (size_t b = b0; b < b1; ++b) {
    const uint8_t* block = panel + b * w.block_bytes();
    const uint8_t* a = x.q.data() + q0 * x.stride + b * group;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (size_t k0 = 0; k0 < group; k0 += k) {
      const uint8_t* q = block + k0 * kPanel;  // k0 / 4 quads of 128 bytes
      _tile_loadd(4, a + k0, tile_stride);
      _tile_loadd(5, a + second_tile + k0, tile_stride);
      _tile_loadd(6, q, 128);
      _tile_loadd(7, q + 64, 128);
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
      _tile_dpbusd(2, 5, 6);
      _tile_dpbusd(3, 5, 7);
    }
    _tile_stored(0, sums[0], 64);
    _tile_stored(1, sums[1], 64);
    _tile_stored(2, sums[2], 64);
    _tile_stored(3, sums[3], 64);
    const auto* d = reinterpret_cast<const uint16_t*>(block + w.block_weight_bytes());
    const vfloat scale[2] = {load_f16_batch(d), load_f16_batch(d + 16)};
    auto sum = [&](size_t tile, size_t row) { return xsimd::to_float(xsimd::batch<int32_t>::load_aligned(sums[tile][row])); };
    for (size_t r = 0; r < kAmxRows / Levels; ++r)
      for (size_t h = 0; h < 2; ++h) {
        const vfloat v = Levels == 1 ? sum(r / 16 * 2 + h, r % 16)
                                     : xsimd::fma(sum(2 + h, r), vfloat(1.f / kResidualSteps), sum(h, r));
        acc[r][h] = xsimd::fma(v, scale[h], acc[r][h]);
      }
  }
}

}  // namespace zest::detail
#endif
