// Vector ops against plain double-precision loops written here.
#include <cmath>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "zest/kernels/activation.hpp"
#include "zest/kernels/norm.hpp"
#include "zest/kernels/rope.hpp"
#include "zest/kernels/softmax.hpp"

#include "random.hpp"

namespace {

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("i = " << i);
    CHECK(std::abs(double(got[i]) - want[i]) <= tol * (1.0 + std::abs(want[i])));
  }
}

const size_t kLengths[] = {1, 3, 16, 17, 100, 768, 1027};

}  // namespace

TEST_CASE("layer_norm and rms_norm match the double-precision formula") {
  for (size_t n : kLengths) {
    CAPTURE(n);
    const size_t rows = 3;
    auto x = random_vector(rows * n, 2.f, 1), g = random_vector(n, 1.f, 2), b = random_vector(n, 1.f, 3);
    for (auto& v : x) v += 5.f;  // a large mean tests the two-pass variance
    std::vector<double> ln(rows * n), rms(rows * n);
    for (size_t r = 0; r < rows; ++r) {
      double mean = 0, sq = 0, ms = 0;
      for (size_t i = 0; i < n; ++i) mean += x[r * n + i];
      mean /= double(n);
      for (size_t i = 0; i < n; ++i) sq += (x[r * n + i] - mean) * (x[r * n + i] - mean), ms += double(x[r * n + i]) * x[r * n + i];
      for (size_t i = 0; i < n; ++i) {
        ln[r * n + i] = (x[r * n + i] - mean) / std::sqrt(sq / double(n) + 1e-5) * g[i] + b[i];
        rms[r * n + i] = x[r * n + i] / std::sqrt(ms / double(n) + 1e-6) * g[i];
      }
    }
    std::vector<float> y(rows * n);
    zest::detail::layer_norm(x.data(), y.data(), rows, n, g.data(), b.data(), 1e-5f);
    check_close(y, ln, 2e-5);
    zest::detail::rms_norm(x.data(), y.data(), rows, n, g.data(), 1e-6f);
    check_close(y, rms, 2e-5);
    zest::detail::rms_norm(x.data(), x.data(), rows, n, g.data(), 1e-6f);  // in place
    check_close(x, rms, 2e-5);
  }
  float one = 1.f;
  CHECK_THROWS_AS(zest::detail::layer_norm(&one, &one, 1, 0, &one, nullptr, 1e-5f), zest::Error);
}

TEST_CASE("softmax is stable and matches exp / sum") {
  for (size_t n : kLengths) {
    CAPTURE(n);
    auto x = random_vector(2 * n, 30.f, 4);
    x[0] = 1000.f;  // would overflow exp without the max subtraction
    std::vector<double> want(2 * n);
    for (size_t r = 0; r < 2; ++r) {
      double max = -INFINITY, sum = 0;
      for (size_t i = 0; i < n; ++i) max = std::max(max, double(x[r * n + i]));
      for (size_t i = 0; i < n; ++i) sum += std::exp(x[r * n + i] - max);
      for (size_t i = 0; i < n; ++i) want[r * n + i] = std::exp(x[r * n + i] - max) / sum;
    }
    zest::detail::softmax(x.data(), 2, n);
    check_close(x, want, 1e-5);
  }
  std::vector<float> masked(5, -INFINITY);
  zest::detail::softmax(masked.data(), 1, masked.size());
  for (float v : masked) CHECK(v == 0.f);
}

TEST_CASE("GELU (tanh and erf), bias + GELU and SiLU * gate") {
  for (size_t n : kLengths) {
    CAPTURE(n);
    auto x = random_vector(n, 3.f, 5), bias = random_vector(n, 1.f, 6), up = random_vector(n, 1.f, 7);
    x[0] = -30.f;  // exp overflow region of SiLU
    std::vector<double> tanh_form(n), erf_form(n), bias_form(n), silu(n);
    for (size_t i = 0; i < n; ++i) {
      const double v = x[i], vb = double(x[i] + bias[i]);
      tanh_form[i] = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      erf_form[i] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      bias_form[i] = 0.5 * vb * (1 + std::erf(vb / std::sqrt(2.0)));
      silu[i] = v / (1 + std::exp(-v)) * up[i];
    }
    std::vector<float> y = x;
    zest::detail::gelu_tanh(y.data(), n);
    check_close(y, tanh_form, 1e-5);
    y = x;
    zest::detail::gelu_erf(y.data(), n);
    check_close(y, erf_form, 1e-5);
    y = x;
    zest::detail::bias_gelu(y.data(), 1, n, bias.data(), true);
    check_close(y, bias_form, 1e-5);
    zest::detail::silu_mul(x.data(), up.data(), y.data(), n);
    check_close(y, silu, 1e-5);
  }
}

TEST_CASE("erf GELU within 1e-6 of the exact one over its whole range") {
  std::vector<float> x(24001);
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = -12.f + float(i) * 1e-3f;
    want[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
  }
  zest::detail::gelu_erf(x.data(), x.size());
  check_close(x, want, 1e-6);
}

TEST_CASE("residual and bias adds") {
  auto x = random_vector(2 * 37, 1.f, 8), b = random_vector(37, 1.f, 9), y = random_vector(2 * 37, 1.f, 10);
  std::vector<double> want(2 * 37);
  for (size_t i = 0; i < want.size(); ++i) want[i] = double(y[i]) + x[i] + b[i % 37];
  zest::detail::add(y.data(), x.data(), y.size());
  zest::detail::add_bias(y.data(), 2, 37, b.data());
  check_close(y, want, 1e-6);
}

TEST_CASE("RoPE rotate-half matches HF's q * cos + rotate_half(q) * sin") {
  for (size_t head_dim : {2u, 64u, 80u, 128u}) {
    for (size_t rotary_dim : {head_dim, head_dim / 2 / 2 * 2}) {
      if (rotary_dim == 0) continue;
      CAPTURE(head_dim);
      CAPTURE(rotary_dim);
      const size_t heads = 3, pos = 1234, half = rotary_dim / 2;
      auto x = random_vector(heads * head_dim, 1.f, 11);
      const auto inv = zest::detail::rope_inv_freq(rotary_dim, 10000.f);
      std::vector<float> c(half), s(half);
      zest::detail::rope_cos_sin(pos, inv.data(), half, c.data(), s.data());
      std::vector<double> want(x.begin(), x.end());
      for (size_t h = 0; h < heads; ++h)
        for (size_t i = 0; i < half; ++i) {
          const double angle = double(float(pos) * (1.f / std::pow(10000.f, float(2 * i) / float(rotary_dim))));
          const double a = x[h * head_dim + i], b = x[h * head_dim + half + i];
          want[h * head_dim + i] = a * std::cos(angle) - b * std::sin(angle);
          want[h * head_dim + half + i] = b * std::cos(angle) + a * std::sin(angle);
        }
      zest::detail::rope_rotate_half(x.data(), heads, head_dim, rotary_dim, c.data(), s.data());
      check_close(x, want, 1e-4);
    }
  }
  float x[4] = {};
  CHECK_THROWS_AS(zest::detail::rope_rotate_half(x, 1, 4, 3, x, x), zest::Error);
  CHECK_THROWS_AS(zest::detail::rope_inv_freq(5, 10000.f), zest::Error);
}
