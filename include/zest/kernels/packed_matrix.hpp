// PackedMatrix: a Linear layer's weight, repacked once at load into the layout the matmul
// kernels stream. The source is HF's nn.Linear.weight: `rows` output features by `cols` input
// features, row-major f32 (convert f16/bf16 checkpoints with zest/kernels/half.hpp first; the
// round trip is exact).
//
// Every format cuts the output rows into panels of kPanel = 32 (the last one zero-padded), and
// stores each panel input-feature-major, so a kernel reads one contiguous stream per panel and
// produces 32 outputs per pass (two AVX-512 registers of f32 results):
//
//   f32   panel: K2 x 32 floats, element [k][j] = W[32p + j][k]           (K2 = cols rounded up to even)
//   f16   panel: K2 x 32 halves, same order
//   bf16  panel: K2/2 x 32 x 2 bf16: for each pair of inputs (k, k+1), 32 output rows, the pair
//         adjacent, so one 32-bit lane holds both (the operand order of vdpbf16ps) and a shift /
//         mask turns it into two f32 lanes exactly
//   int8  panel: blocks of `group` inputs (group = 32, 64 or 128, or all of K2 rounded up to 4
//         for one scale per output row), each block
//
//           int8  q[group/4][32][4]   four consecutive inputs of one output row per 32-bit lane
//                                     (the operand order of vpdpbusd)
//           f16   d[32]               scale of each output row in this block
//
//         with W[32p + j][k] ~= d[j] * q[k/4][j][k%4], q in [-127, 127] rounded to nearest
//         (d = max|W| / 127 over the block's inputs of that row, rounded up to an f16, as
//         llama.cpp's Q8_0 stores it), K zero-padded to a whole block; plus one float per output
//         row, 128 * sum_blocks d * sum_k q, that the VNNI kernel subtracts because it multiplies
//         activations offset to unsigned (x + 128).
//   int4  panel: blocks of `group` inputs (32, 64 or 128), the int8 panel at half the bytes:
//
//           uint8 q[group/8][32][4]   the int8 block's quads in pairs: byte [i][j][b] holds input
//                                     8i + b of row j in its low nibble and input 8i + 4 + b in
//                                     its high nibble, so one 128-byte vector is two quads
//           f16   d[32]               scale of each output row in this block
//
//         with W[32p + j][k] ~= d[j] * q, q in [-8, 7] stored as a two's-complement nibble:
//         (byte << 4) & 0xf0 and byte & 0xf0 are then 16 q as int8 bytes, the int8 kernel's
//         operands with 1/16 folded into d (matmul_int4.hpp). d is the best of a few candidate
//         scales by squared error (quantize_int4.hpp), so it may be negative; the per-row
//         offset float is the int8 one, 128 * sum_blocks d * sum_k q.

#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "zest/kernels/half.hpp"
#include "zest/error.hpp"
#include "zest/kernels/quantize_int4.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

enum class WeightFormat { f32, bf16, f16, int8, int4 };

// The formats whose matmul quantizes the activations to int8 (matmul_int8.hpp).
inline bool is_quantized(WeightFormat format) { return format == WeightFormat::int8 || format == WeightFormat::int4; }

inline std::string_view to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::f32: return "f32";
    case WeightFormat::bf16: return "bf16";
    case WeightFormat::f16: return "f16";
    case WeightFormat::int8: return "int8";
    case WeightFormat::int4: return "int4";
  }
  return "unknown";
}

inline constexpr size_t kPanel = 32;

// How an int8 or int4 matrix and the activations it multiplies are quantized. Weights: one scale per
// `group` inputs of each output row (32, 64, 128, or 0 for one per row). Activations: int8 per
// row and, with `activation_residual`, a second int8 level for the first one's rounding error
// (x ~= d * (q + r / 254)): a second dot product per weight byte read, for activations as exact
// as int16 ones. Decoders take {32, true}, since autoregressive generation compounds every
// error; encoders the faster {128, false} (one core, a 768x768 weight in L2: GEMV 97 against
// 60 GB/s of weights; bench/LOG.md, "int8 schemes").
struct Int8Scheme {
  size_t group = 128;
  bool activation_residual = false;
};

class PackedMatrix {
 public:
  PackedMatrix() = default;

  // Packs w (rows x cols, row-major); `int8` applies to WeightFormat::int8 and int4 only.
  PackedMatrix(const float* w, size_t rows, size_t cols, WeightFormat format, Int8Scheme int8 = {})
      : rows_(rows), cols_(cols), format_(format) {
    using detail::kPanel;
    if (rows == 0 || cols == 0)
      detail::fail(Error::Kind::input, "PackedMatrix: shape ", rows, " x ", cols, " is empty");
    if (!w) detail::fail(Error::Kind::input, "PackedMatrix: weight pointer is null");
    panels_ = (rows + kPanel - 1) / kPanel;
    cols_padded_ = (cols + 1) / 2 * 2;
    if (is_quantized(format)) {
      const size_t group = int8.group;
      const bool int4 = format == WeightFormat::int4;
      if ((group != 0 || int4) && group != 32 && group != 64 && group != 128)
        detail::fail(Error::Kind::input, "PackedMatrix: ", to_string(format), " group = ", group, " must be 32, 64, 128",
                     int4 ? "" : " or 0 (per row)");
      group_ = group ? group : (cols + 3) / 4 * 4;
      activation_residual_ = int8.activation_residual;
      cols_padded_ = (cols + group_ - 1) / group_ * group_;
      pack_quantized(w);
      return;
    }
    group_ = 0;
    const size_t panel_elems = cols_padded_ * kPanel;
    if (format == WeightFormat::f32) f32_.assign(panels_ * panel_elems, 0.f);
    else halves_.assign(panels_ * panel_elems, 0);
    for (size_t p = 0; p < panels_; ++p)
      for (size_t j = 0; j < kPanel && p * kPanel + j < rows; ++j) {
        const float* src = w + (p * kPanel + j) * cols;
        for (size_t k = 0; k < cols; ++k) {
          const size_t at = p * panel_elems +
                            (format == WeightFormat::bf16 ? (k / 2) * 2 * kPanel + j * 2 + k % 2 : k * kPanel + j);
          if (format == WeightFormat::f32) f32_[at] = src[k];
          else if (format == WeightFormat::bf16) halves_[at] = detail::f32_to_bf16(src[k]);
          else halves_[at] = detail::f32_to_f16(src[k]);
        }
      }
  }

  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  WeightFormat format() const { return format_; }
  size_t group() const { return group_; }
  // int8 / int4: the activations carry a residual level (Int8Scheme::activation_residual).
  bool activation_residual() const { return activation_residual_; }
  // Bytes a full pass over the weights reads (what a GEMV streams).
  size_t bytes() const {
    return f32_.size() * 4 + halves_.size() * 2 + quantized_.size() + row_offset_.size() * 4;
  }

  // Kernel access: the padded input count and per-panel streams.
  size_t panels() const { return panels_; }
  size_t cols_padded() const { return cols_padded_; }
  const float* f32_panel(size_t p) const { return f32_.data() + p * cols_padded_ * detail::kPanel; }
  const uint16_t* half_panel(size_t p) const { return halves_.data() + p * cols_padded_ * detail::kPanel; }
  // int8 / int4: a block's quantized weights (a byte or a nibble each), then its 32 f16 scales.
  size_t block_weight_bytes() const {
    return group_ * detail::kPanel / (format_ == WeightFormat::int4 ? 2 : 1);
  }
  size_t block_bytes() const { return block_weight_bytes() + detail::kPanel * sizeof(uint16_t); }
  const uint8_t* quantized_panel(size_t p) const {
    return quantized_.data() + p * (cols_padded_ / group_) * block_bytes();
  }
  const float* row_offset(size_t p) const { return row_offset_.data() + p * detail::kPanel; }

 private:
  void pack_quantized(const float* w) {
    using detail::kPanel;
    const size_t blocks = cols_padded_ / group_;
    const bool int4 = format_ == WeightFormat::int4;
    quantized_.assign(panels_ * blocks * block_bytes(), 0);
    row_offset_.assign(panels_ * kPanel, 0.f);
    alignas(64) float values[128];  // int4: one row's block, zero-padded past cols
    int8_t q4[128];
    for (size_t p = 0; p < panels_; ++p)
      for (size_t b = 0; b < blocks; ++b) {
        uint8_t* block = quantized_.data() + (p * blocks + b) * block_bytes();
        uint16_t scales[kPanel] = {};
        for (size_t j = 0; j < kPanel && p * kPanel + j < rows_; ++j) {
          const float* src = w + (p * kPanel + j) * cols_;
          const size_t k0 = b * group_, k1 = std::min(cols_, k0 + group_);
          float amax = 0.f, extreme = 0.f;
          for (size_t k = k0; k < k1; ++k) {
            if (!std::isfinite(src[k]))
              detail::fail(Error::Kind::input, "PackedMatrix: weight [", p * kPanel + j, "][", k, "] = ", src[k],
                           " is not finite and cannot be quantized");
            if (std::fabs(src[k]) > amax) amax = std::fabs(src[k]), extreme = src[k];
          }
          int32_t sum = 0;
          if (int4) {
            scale_f16(amax / 7.f, 7, p * kPanel + j, k0);  // only checks that the block's scale fits an f16
            std::fill(std::copy(src + k0, src + k1, values), values + group_, 0.f);
            scales[j] = quantize_int4_block(values, group_, extreme, q4);
            for (size_t k = 0; k < group_; ++k) {
              // Quads 2i and 2i + 1 share the bytes of vector i: low and high nibble.
              const size_t quad = k / 4, at = (quad / 2) * kPanel * 4 + j * 4 + k % 4;
              block[at] |= uint8_t((q4[k] & 0xf) << (quad % 2 ? 4 : 0));
              sum += q4[k];
            }
          } else {
            scales[j] = scale_f16(amax / 127.f, 127, p * kPanel + j, k0);
            const float inv = scales[j] ? 1.f / detail::f16_to_f32(scales[j]) : 0.f;
            for (size_t k = k0; k < k1; ++k) {
              const int8_t qv = int8_t(std::clamp(int(std::nearbyint(src[k] * inv)), -127, 127));
              block[((k - k0) / 4) * kPanel * 4 + j * 4 + (k - k0) % 4] = uint8_t(qv);
              sum += qv;
            }
          }
          row_offset_[p * kPanel + j] += 128.f * detail::f16_to_f32(scales[j]) * float(sum);
        }
        std::memcpy(block + block_weight_bytes(), scales, sizeof scales);
      }
  }

  // The smallest f16 at least `scale`, so that no weight of the block quantizes beyond `levels`.
  static uint16_t scale_f16(float scale, int levels, size_t row, size_t col) {
    uint16_t h = detail::f32_to_f16(scale);
    if (detail::f16_to_f32(h) < scale) ++h;  // positive halves: the next bit pattern is the next value
    if (!std::isfinite(detail::f16_to_f32(h)))
      detail::fail(Error::Kind::input, "PackedMatrix: weights of row ", row, " from column ", col,
                   " reach ", scale * float(levels), ", beyond what a quantized block's f16 scale holds");
    return h;
  }

  size_t rows_ = 0, cols_ = 0, cols_padded_ = 0, panels_ = 0, group_ = 0;
  bool activation_residual_ = false;
  WeightFormat format_ = WeightFormat::f32;
  detail::AlignedVector<float> f32_;
  detail::AlignedVector<uint16_t> halves_;
  detail::AlignedVector<uint8_t> quantized_;  // int8 / int4 blocks
  detail::AlignedVector<float> row_offset_;
};

}  // namespace zest::detail
