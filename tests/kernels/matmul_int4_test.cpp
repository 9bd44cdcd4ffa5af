// int4 weights: the packing read back through the layout packed_matrix.hpp documents (a scalar
// unpacker written here), the scale search against the plain max|w| / 7, and every int4 dot
// product (VNNI, AVX2, scalar) against Eigen on the unpacked weights and int8 activations.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "zest/kernels/matmul.hpp"

#include "int8_reference.hpp"
#include "random.hpp"

namespace {

// W[r][k] ~= d * q as the layout stores it: blocks of `group` inputs per 32-row panel, each a
// [group/8][32][4] array of bytes (low nibble input 8i + b, high nibble 8i + 4 + b, two's
// complement) and then 32 f16 scales.
struct Unpacked {
  std::vector<int> q;       // rows x cols
  std::vector<float> d;     // rows x blocks
  MatrixD w;                // rows x cols, d * q
};

Unpacked unpack_int4(const zest::detail::PackedMatrix& m) {
  const size_t rows = m.rows(), cols = m.cols(), group = m.group(), blocks = m.cols_padded() / group;
  Unpacked u{std::vector<int>(rows * cols), std::vector<float>(rows * blocks), MatrixD(rows, cols)};
  const size_t block_bytes = group * 16 + 64;
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < blocks; ++b) {
      const uint8_t* block = m.quantized_panel(r / 32) + b * block_bytes;
      uint16_t h;
      std::memcpy(&h, block + group * 16 + (r % 32) * 2, 2);
      const float d = zest::detail::f16_to_f32(h);
      u.d[r * blocks + b] = d;
      for (size_t kk = 0; kk < group; ++kk) {
        const uint8_t byte = block[(kk / 8) * 128 + (r % 32) * 4 + kk % 4];
        const int nibble = kk % 8 < 4 ? byte & 15 : byte >> 4;
        const int q = nibble >= 8 ? nibble - 16 : nibble;
        const size_t k = b * group + kk;
        if (k >= cols) {
          CHECK(q == 0);  // padding
          continue;
        }
        u.q[r * cols + k] = q;
        u.w(r, k) = double(d) * q;
      }
    }
  return u;
}

// Squared error of a block at the plain scale max|w| / 7 (rounded to the nearest f16).
double plain_error(const float* w, size_t n) {
  float amax = 0;
  for (size_t k = 0; k < n; ++k) amax = std::max(amax, std::fabs(w[k]));
  const float d = zest::detail::f16_to_f32(zest::detail::f32_to_f16(amax / 7.f));
  double e = 0;
  for (size_t k = 0; k < n; ++k) {
    const double q = d > 0 ? std::clamp(std::nearbyint(w[k] / d), -8.f, 7.f) : 0.;
    e += std::pow(w[k] - d * q, 2);
  }
  return e;
}

struct Int4Shape {
  size_t m, n, k;
};
// Rows not a multiple of the panel (32), inputs not a multiple of the group, M = 1, 3, 17, 64
// (a GEMV, decode batches across the tile rows) and 80 (past kInt8DecodeRows: the prefill GEMM).
const Int4Shape kInt4Shapes[] = {{1, 1, 1},   {1, 45, 100},  {3, 33, 19},   {17, 70, 131},
                         {64, 37, 300}, {1, 96, 1030}, {80, 40, 513}, {3, 768, 768}};

}  // namespace

TEST_CASE("int4 packing: the documented layout, values in [-8, 7], a scale no worse than max|w| / 7") {
  for (size_t group : {32u, 64u, 128u})
    for (const Int4Shape& s : kInt4Shapes) {
      CAPTURE(group);
      CAPTURE(s.n);
      CAPTURE(s.k);
      auto w = random_vector(s.n * s.k, 0.1f, 21);
      const zest::detail::PackedMatrix packed(w.data(), s.n, s.k, zest::detail::WeightFormat::int4, {group, false});
      CHECK(packed.group() == group);
      CHECK(packed.cols_padded() % group == 0);
      // Half a byte a weight plus an f16 scale per 32... (group) inputs, plus the offset floats.
      CHECK(packed.bytes() == packed.panels() * 32 * (packed.cols_padded() / 2 + packed.cols_padded() / group * 2 + 4));
      const Unpacked u = unpack_int4(packed);
      const size_t blocks = packed.cols_padded() / group;
      for (size_t r = 0; r < s.n; ++r)
        for (size_t b = 0; b < blocks; ++b) {
          const size_t k0 = b * group, k1 = std::min(s.k, k0 + group);
          double e = 0;
          for (size_t k = k0; k < k1; ++k) {
            CHECK(u.q[r * s.k + k] >= -8);
            CHECK(u.q[r * s.k + k] <= 7);
            e += std::pow(w[r * s.k + k] - u.w(r, k), 2);
          }
          CHECK(e <= plain_error(w.data() + r * s.k + k0, k1 - k0) * (1 + 1e-6));
        }
      // The row offsets: 128 * sum_blocks d * sum q.
      for (size_t r = 0; r < s.n; ++r) {
        double want = 0;
        for (size_t k = 0; k < s.k; ++k) want += 128. * u.d[r * blocks + k / group] * u.q[r * s.k + k];
        CHECK(packed.row_offset(r / 32)[r % 32] == doctest::Approx(want).epsilon(1e-5));
      }
    }
}

TEST_CASE("int4 packing: a block on the grid of 1/4 with -8 at its extreme comes back exactly") {
  std::vector<float> w(2 * 64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * float(int(i % 16) - 8) * (i < 64 ? 1.f : -1.f);
  const zest::detail::PackedMatrix packed(w.data(), 2, 64, zest::detail::WeightFormat::int4, {32});
  const Unpacked u = unpack_int4(packed);
  for (size_t i = 0; i < w.size(); ++i) CHECK(u.w.data()[i] == double(w[i]));
  CHECK(u.d[0] == 0.25f);   // -2 = -8 d
  CHECK(u.d[2] == -0.25f);  // +2 = -8 d: the scale takes the extreme's sign
}

TEST_CASE("int4 matmul: every dot-product implementation, every group size, one or two activation levels") {
  zest::detail::ThreadPool pool(2);
  for (size_t levels : {1u, 2u})
    for (size_t group : {32u, 64u, 128u})
      for (const Int4Shape& s : kInt4Shapes) {
        CAPTURE(levels);
        CAPTURE(group);
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        auto x = random_vector(s.m * s.k, 1.f, 22), w = random_vector(s.n * s.k, 0.1f, 23);
        auto bias = random_vector(s.n, 1.f, 24), y0 = random_vector(s.m * s.n, 1.f, 25);
        const zest::detail::PackedMatrix packed(w.data(), s.n, s.k, zest::detail::WeightFormat::int4,
                                                {group, levels == 2});
        const MatrixD W = unpack_int4(packed).w;
        MatrixD want = dequantize_activations(x, s.m, s.k, levels) * W.transpose();
        want.rowwise() += to_matrix(bias, 1, s.n).row(0);
        MatrixD exact = to_matrix(x, s.m, s.k) * to_matrix(w, s.n, s.k).transpose();
        exact.rowwise() += to_matrix(bias, 1, s.n).row(0);

        std::vector<float> y(s.m * s.n, NAN);
        zest::detail::matmul(x.data(), s.m, packed, y.data(), pool, {bias.data(), false});
        CHECK(relative_error(y, want) < 1e-5);
        // 4-bit weights: each product off by about |x| |w| / 10 per input, over sqrt(K) inputs.
        CHECK(relative_error(y, exact) < 0.25);
        y = y0;
        zest::detail::matmul(x.data(), s.m, packed, y.data(), pool, {bias.data(), true});
        CHECK(relative_error(y, want + to_matrix(y0, s.m, s.n)) < 1e-5);

        zest::detail::QuantizedRows q;
        zest::detail::quantize_rows_int8(x.data(), s.m, s.k, packed.cols_padded(), levels, q);
        auto run = [&](auto dot) {
          std::vector<float> yv(s.m * s.n, NAN);
          zest::detail::int8_matmul_panels<decltype(dot)>(q, packed, yv.data(), bias.data(), false, 0, packed.panels());
          CHECK(relative_error(yv, want) < 1e-5);
        };
        run(zest::detail::Int4DotScalar{});
#if defined(__AVX2__)
        run(zest::detail::Int4DotAvx2{});
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
        run(zest::detail::Int4DotVnni{});
#endif
      }
}

TEST_CASE("int4 rejects a per-row group and an unrepresentable scale") {
  std::vector<float> w(12, 1.f);
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int4, {0}), zest::Error);
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int4, {48}), zest::Error);
  w[5] = 1e6f;  // 1e6 / 7 is beyond an f16
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int4, {32}), zest::Error);
  w[5] = NAN;
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int4, {32}), zest::Error);
}
