// matmul for every weight format against Eigen in double precision. bf16 / f16 references use
// the weights rounded as the packing rounds them; the int8 reference quantizes weights and
// activations with a scalar loop written here, so each comparison is tight; a looser check
// against the unrounded f32 product bounds the format's own error.
#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "zest/kernels/matmul.hpp"
#include "zest/kernels/norm_quantize.hpp"

#include "int8_reference.hpp"
#include "random.hpp"

namespace {

// The int8 formats as packed_matrix.hpp and matmul_int8.hpp document them (scalar references).
// Weights: each row's block of `group` values over a scale of max|w| / 127 rounded up to an f16.
MatrixD dequantize_weights(const std::vector<float>& v, size_t rows, size_t cols, size_t group) {
  MatrixD m(rows, cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t k0 = 0; k0 < cols; k0 += group) {
      const size_t k1 = std::min(cols, k0 + group);
      float amax = 0;
      for (size_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(v[r * cols + k]));
      uint16_t h = zest::detail::f32_to_f16(amax / 127.f);
      if (zest::detail::f16_to_f32(h) < amax / 127.f) ++h;
      const float d = zest::detail::f16_to_f32(h), inv = d > 0 ? 1.f / d : 0.f;
      for (size_t k = k0; k < k1; ++k) m(r, k) = double(d) * std::nearbyint(v[r * cols + k] * inv);
    }
  return m;
}

struct Shape {
  size_t m, n, k;
};
// Odd shapes: K below / not a multiple of the vector width, N = 1, N not a multiple of the
// panel, K across cache blocks, M across the tile rows, AMX's 32-row tiles and the f32 GEMM's
// row chunks.
const Shape kShapes[] = {{1, 1, 1},     {1, 1, 17},    {3, 33, 19},   {1, 768, 768},  {13, 70, 131}, {29, 65, 300},
                         {5, 40, 513},  {12, 64, 64},  {17, 3, 1030}, {70, 45, 200}, {205, 37, 300}};

}  // namespace

TEST_CASE("f32, bf16 and f16 matmul match Eigen on odd shapes, with bias and accumulate") {
  zest::detail::ThreadPool pool(2);
  for (auto format : {zest::detail::WeightFormat::f32, zest::detail::WeightFormat::bf16, zest::detail::WeightFormat::f16}) {
    for (const Shape& s : kShapes) {
      CAPTURE(zest::detail::to_string(format));
      CAPTURE(s.m);
      CAPTURE(s.n);
      CAPTURE(s.k);
      auto x = random_vector(s.m * s.k, 1.f, 1), w = random_vector(s.n * s.k, 0.1f, 2);
      auto bias = random_vector(s.n, 1.f, 3), y0 = random_vector(s.m * s.n, 1.f, 4);
      std::vector<float> rounded = w;
      for (auto& v : rounded) {
        if (format == zest::detail::WeightFormat::bf16) v = zest::detail::bf16_to_f32(zest::detail::f32_to_bf16(v));
        if (format == zest::detail::WeightFormat::f16) v = zest::detail::f16_to_f32(zest::detail::f32_to_f16(v));
      }
      const MatrixD X = to_matrix(x, s.m, s.k);
      const MatrixD exact = X * to_matrix(w, s.n, s.k).transpose();
      // f32 activations times the weights as stored: every format's product.
      const MatrixD want = X * to_matrix(rounded, s.n, s.k).transpose();
      const zest::detail::PackedMatrix packed(w.data(), s.n, s.k, format);
      CHECK(packed.rows() == s.n);
      CHECK(packed.cols() == s.k);

      std::vector<float> y(s.m * s.n, NAN);
      zest::detail::matmul(x.data(), s.m, packed, y.data(), pool);
      CHECK(relative_error(y, want) < 1e-5);
      CHECK(relative_error(y, exact) < (format == zest::detail::WeightFormat::f32 ? 1e-5 : format == zest::detail::WeightFormat::f16 ? 2e-3 : 1e-2));

      MatrixD want_acc = want + to_matrix(y0, s.m, s.n);
      want_acc.rowwise() += to_matrix(bias, 1, s.n).row(0);
      y = y0;
      zest::detail::matmul(x.data(), s.m, packed, y.data(), pool, {bias.data(), true});
      CHECK(relative_error(y, want_acc) < 1e-5);

    }
  }
}

TEST_CASE("int8 matmul: every dot-product implementation, every group size, one or two activation levels") {
  zest::detail::ThreadPool pool(2);
  for (size_t levels : {1u, 2u})
    for (size_t group : {0u, 32u, 64u, 128u}) {
      for (const Shape& s : kShapes) {
        CAPTURE(levels);
        CAPTURE(group);
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        auto x = random_vector(s.m * s.k, 1.f, 5), w = random_vector(s.n * s.k, 0.1f, 6);
        auto bias = random_vector(s.n, 1.f, 7);
        const zest::detail::PackedMatrix packed(w.data(), s.n, s.k, zest::detail::WeightFormat::int8, {group, levels == 2});
        CHECK(packed.group() == (group ? group : (s.k + 3) / 4 * 4));
        MatrixD want = dequantize_activations(x, s.m, s.k, levels) *
                       dequantize_weights(w, s.n, s.k, group ? group : s.k).transpose();
        want.rowwise() += to_matrix(bias, 1, s.n).row(0);
        MatrixD exact = to_matrix(x, s.m, s.k) * to_matrix(w, s.n, s.k).transpose();
        exact.rowwise() += to_matrix(bias, 1, s.n).row(0);

        std::vector<float> y(s.m * s.n, NAN);
        zest::detail::matmul(x.data(), s.m, packed, y.data(), pool, {bias.data(), false});
        CHECK(relative_error(y, want) < 1e-5);
        CHECK(relative_error(y, exact) < 3e-2);

        zest::detail::QuantizedRows q;
        zest::detail::quantize_rows_int8(x.data(), s.m, s.k, packed.cols_padded(), levels, q);
        auto run = [&](auto dot) {
          std::vector<float> yv(s.m * s.n, NAN);
          zest::detail::int8_matmul_panels<decltype(dot)>(q, packed, yv.data(), bias.data(), false, 0, packed.panels());
          CHECK(relative_error(yv, want) < 1e-5);
        };
        run(zest::detail::Int8DotScalar{});
#if defined(__AVX2__)
        run(zest::detail::Int8DotAvx2{});
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
        run(zest::detail::Int8DotVnni{});
#endif
#if defined(ZEST_HAVE_AMX_INT8)
        if (zest::detail::amx_int8_usable() && zest::detail::amx_int8_fits(packed)) run(zest::detail::Int8DotAmx{});
#endif
      }
    }
}

TEST_CASE("a residual activation level makes int8 as exact as its weights") {
  // Weight-only int8's error: the product with exact activations and int8 weights.
  const size_t m = 8, n = 96, k = 512;
  auto x = random_vector(m * k, 1.f, 15), w = random_vector(n * k, 0.1f, 16);
  const MatrixD exact = to_matrix(x, m, k) * to_matrix(w, n, k).transpose();
  const MatrixD weight_only = to_matrix(x, m, k) * dequantize_weights(w, n, k, 32).transpose();
  auto rms_error = [&](const MatrixD& want, bool residual) {
    const zest::detail::PackedMatrix packed(w.data(), n, k, zest::detail::WeightFormat::int8, {32, residual});
    std::vector<float> y(m * n);
    zest::detail::matmul(x.data(), m, packed, y.data(), zest::detail::default_thread_pool());
    double e = 0, s = 0;
    for (size_t i = 0; i < y.size(); ++i) e += std::pow(y[i] - want.data()[i], 2), s += std::pow(want.data()[i], 2);
    return std::sqrt(e / s);
  };
  // The residual level leaves 1/254 of the activations' rounding error ...
  CHECK(rms_error(weight_only, true) < rms_error(weight_only, false) / 100);
  // ... so against the exact product the error is the weights' alone.
  CHECK(rms_error(exact, true) < 1.05 * std::sqrt((weight_only - exact).squaredNorm() / exact.squaredNorm()));
}

TEST_CASE("the 50257-row vocabulary head, one row, split across threads") {
  zest::detail::ThreadPool pool(2);
  const size_t n = 50257, k = 64;
  auto x = random_vector(k, 1.f, 8), w = random_vector(n * k, 0.1f, 9);
  const MatrixD want = to_matrix(x, 1, k) * to_matrix(w, n, k).transpose();
  for (auto format : {zest::detail::WeightFormat::f32, zest::detail::WeightFormat::bf16, zest::detail::WeightFormat::int8}) {
    CAPTURE(zest::detail::to_string(format));
    const zest::detail::PackedMatrix packed(w.data(), n, k, format);
    std::vector<float> y(n, NAN);
    zest::detail::matmul(x.data(), 1, packed, y.data(), pool);
    CHECK(relative_error(y, want) < (format == zest::detail::WeightFormat::f32 ? 1e-5 : 3e-2));
  }
}

TEST_CASE("a decode batch: each of M rows gets what the row alone gets") {
  // Up to kDecodeRows / kInt8DecodeRows rows a matmul is a decode step of M sequences: int8 / int4 rows
  // equal the row alone bit for bit (whole panels, integer dot products; AMX's tiles, where they
  // run, sum the levels in another order), float rows within 1e-5 (a batch sums in cache blocks).
  // K = 1030 crosses the float and int8 cache blocks; N = 100 ends on a partial panel.
  zest::detail::ThreadPool pool(2);
  const size_t n = 100, k = 1030;
  auto w = random_vector(n * k, 0.1f, 17), bias = random_vector(n, 1.f, 18);
  struct Format {
    zest::detail::WeightFormat format;
    zest::detail::Int8Scheme int8;
  };
  using zest::detail::WeightFormat;
  for (const Format f : {Format{WeightFormat::f32, {}}, Format{WeightFormat::bf16, {}}, Format{WeightFormat::f16, {}},
                         Format{WeightFormat::int8, {32, true}}, Format{WeightFormat::int8, {128, false}},
                         Format{WeightFormat::int4, {32, false}}, Format{WeightFormat::int4, {128, true}}})
    for (size_t m : {2u, 3u, 4u, 13u, 16u, 64u}) {
      CAPTURE(zest::detail::to_string(f.format));
      CAPTURE(f.int8.activation_residual);
      CAPTURE(m);
      const zest::detail::PackedMatrix packed(w.data(), n, k, f.format, f.int8);
      auto x = random_vector(m * k, 1.f, unsigned(19 + m));
      std::vector<float> y(m * n, NAN), alone(n, NAN);
      zest::detail::matmul(x.data(), m, packed, y.data(), pool, {bias.data(), false});
      bool exact = zest::detail::is_quantized(f.format);
#if defined(ZEST_HAVE_AMX_INT8)
      if (m * zest::detail::int8_levels(packed) >= zest::detail::kAmxRows && zest::detail::amx_int8_usable()) exact = false;
#endif
      for (size_t r = 0; r < m; ++r) {
        CAPTURE(r);
        zest::detail::matmul(x.data() + r * k, 1, packed, alone.data(), pool, {bias.data(), false});
        const std::vector<float> row(y.begin() + r * n, y.begin() + (r + 1) * n);
        if (exact) CHECK(row == alone);
        else CHECK(relative_error(row, to_matrix(alone, 1, n)) < 1e-5);
      }
    }
}

TEST_CASE("bad matmul inputs are zest::Errors") {
  std::vector<float> w(12, 1.f), x(4, 1.f), y(3);
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 0, 4, zest::detail::WeightFormat::f32), zest::Error);
  CHECK_THROWS_AS(zest::detail::PackedMatrix(nullptr, 3, 4, zest::detail::WeightFormat::f32), zest::Error);
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int8, {48}), zest::Error);
  w[5] = INFINITY;
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int8), zest::Error);
  w[5] = 1.f;
  const zest::detail::PackedMatrix f32(w.data(), 3, 4, zest::detail::WeightFormat::f32);
  CHECK_THROWS_AS(zest::detail::matmul(nullptr, 1, f32, y.data()), zest::Error);
  const zest::detail::PackedMatrix i8(w.data(), 3, 4, zest::detail::WeightFormat::int8, {32});
  zest::detail::QuantizedRows q;
  zest::detail::quantize_rows_int8(x.data(), 1, 4, 4, 1, q);  // padded for a different matrix
  CHECK_THROWS_AS(zest::detail::matmul(q, i8, y.data(), zest::detail::default_thread_pool()), zest::Error);
  zest::detail::quantize_rows_int8(x.data(), 1, 4, i8.cols_padded(), 2, q);  // levels for a different matrix
  CHECK_THROWS_AS(zest::detail::matmul(q, i8, y.data(), zest::detail::default_thread_pool()), zest::Error);
  CHECK_THROWS_AS(zest::detail::quantize_rows_int8(x.data(), 1, 4, i8.cols_padded(), 3, q), zest::Error);
  w[5] = 1e7f;  // beyond an f16 scale
  CHECK_THROWS_AS(zest::detail::PackedMatrix(w.data(), 3, 4, zest::detail::WeightFormat::int8), zest::Error);
  w[5] = 1.f;
  CHECK_THROWS_AS(zest::detail::matmul(q, f32, y.data(), zest::detail::default_thread_pool()), zest::Error);
  x[2] = NAN;
  CHECK_THROWS_AS(zest::detail::matmul(x.data(), 1, i8, y.data()), zest::Error);
}

TEST_CASE("norm fused with quantization equals norm then quantize, and feeds the int8 matmul") {
  const size_t rows = 3, n = 131, out_rows = 40;
  auto x = random_vector(rows * n, 2.f, 10), g = random_vector(n, 1.f, 11), b = random_vector(n, 1.f, 12);
  auto w = random_vector(out_rows * n, 0.1f, 13);
  const zest::detail::PackedMatrix packed(w.data(), out_rows, n, zest::detail::WeightFormat::int8, {32});
  // Reference: the normalised rows in double, then the scalar quantizer of this file.
  std::vector<float> ln(rows * n), rms(rows * n);
  for (size_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0, ms = 0;
    for (size_t i = 0; i < n; ++i) mean += x[r * n + i], ms += double(x[r * n + i]) * x[r * n + i];
    mean /= double(n);
    for (size_t i = 0; i < n; ++i) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    for (size_t i = 0; i < n; ++i) {
      ln[r * n + i] = float((x[r * n + i] - mean) / std::sqrt(var / double(n) + 1e-5) * g[i] + b[i]);
      rms[r * n + i] = float(x[r * n + i] / std::sqrt(ms / double(n) + 1e-6) * g[i]);
    }
  }
  const MatrixD W = dequantize_weights(w, out_rows, n, 32);
  zest::detail::QuantizedRows q;
  for (bool layer : {true, false}) {
    CAPTURE(layer);
    if (layer) zest::detail::layer_norm_quantize(x.data(), rows, n, g.data(), b.data(), 1e-5f, packed.cols_padded(), 1, q);
    else zest::detail::rms_norm_quantize(x.data(), rows, n, g.data(), 1e-6f, packed.cols_padded(), 1, q);
    const MatrixD want = dequantize_activations(layer ? ln : rms, rows, n, 1) * W.transpose();
    std::vector<float> y(rows * out_rows);
    zest::detail::matmul(q, packed, y.data(), zest::detail::default_thread_pool());
    // A normalised value within float rounding of a rounding boundary may land one step away.
    CHECK(relative_error(y, want) < 1e-3);
  }
}

TEST_CASE("int8 blocks confine a weight outlier: error grows with the group, per-row is worst") {
  // The default group (128) rests on this: LLM weights have rare large values, and a scale per
  // block keeps one from coarsening the quantization of a whole row.
  const size_t n = 256, k = 1024, m = 16;
  std::mt19937 rng(14);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> u;
  std::vector<float> w(n * k), x(m * k);
  for (auto& v : w) v = nd(rng) * 0.02f * (u(rng) < 0.002f ? 20.f : 1.f);
  for (auto& v : x) v = nd(rng);
  const MatrixD exact = to_matrix(x, m, k) * to_matrix(w, n, k).transpose();
  auto rms_error = [&](size_t group) {
    const zest::detail::PackedMatrix packed(w.data(), n, k, zest::detail::WeightFormat::int8, {group});
    std::vector<float> y(m * n);
    zest::detail::matmul(x.data(), m, packed, y.data(), zest::detail::default_thread_pool());
    double e = 0, s = 0;
    for (size_t i = 0; i < y.size(); ++i) e += std::pow(y[i] - exact.data()[i], 2), s += std::pow(exact.data()[i], 2);
    return std::sqrt(e / s);
  };
  const double e32 = rms_error(32), e64 = rms_error(64), e128 = rms_error(128), e_row = rms_error(0);
  CHECK(e32 < e64);
  CHECK(e64 < e128);
  CHECK(e128 < 0.6 * e_row);
  CHECK(e128 < 0.03);
}
