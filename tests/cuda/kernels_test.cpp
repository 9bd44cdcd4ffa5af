// The CUDA kernels against simple host references (double), on odd shapes; a mismatch names the
// kernel, the shape and the first element that differs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "zest/backend/cuda/device.hpp"
#include "zest/backend/cuda/kernels.hpp"
#include "zest/backend/cuda/memory.hpp"
#include "zest/kernels/half.hpp"

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = zest::detail::f32_to_bf16(v[i]);
  return out;
}

// The first index where |got - want| > tol * (1 + |want|), reported with both values.
void check_close(const std::string& what, const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(double(got[i]) - want[i]) <= tol * (1 + std::abs(want[i])))) {
      FAIL(what << ": first mismatch at [" << i << "] of " << got.size() << ": got " << got[i] << ", want " << want[i]);
    }
}

}  // namespace

TEST_SUITE_BEGIN("cuda_kernels");

TEST_CASE("a GPU index out of range is an error naming it") {
  CHECK_THROWS_WITH_AS(zest::detail::check_cuda_device(1 << 20), doctest::Contains("out of range"), zest::Error);
  CHECK_THROWS_WITH_AS(zest::detail::check_fits_on_device(size_t(1) << 60, "a test"), doctest::Contains("a test needs"),
                       zest::Error);
}

TEST_CASE("gemv_bf16: vector and scalar paths, bias, accumulate") {
  for (const int cols : {72, 45, 8, 1}) {
    const int rows = 37, m = 3;
    const auto w = to_bf16(random_floats(size_t(rows) * cols, 1));
    const auto x = random_floats(size_t(m) * cols, 2), bias = random_floats(size_t(rows), 3), y0 = random_floats(size_t(m) * rows, 4);
    for (const bool accumulate : {false, true}) {
      DeviceBuffer dw(w);
      DeviceBuffer dbias(bias);
      DeviceBuffer dy(y0);
      DeviceBuffer dx(x);
      zest::cuda::gemv_bf16(dw.get(), dx.get(), dbias.get(), dy.get(), m, rows, cols, accumulate, nullptr);
      std::vector<double> want(size_t(m) * rows);
      for (int r = 0; r < m; ++r)
        for (int o = 0; o < rows; ++o) {
          double s = bias[size_t(o)] + (accumulate ? y0[size_t(r) * rows + o] : 0);
          for (int k = 0; k < cols; ++k) s += double(zest::detail::bf16_to_f32(w[size_t(o) * cols + k])) * x[size_t(r) * cols + k];
          want[size_t(r) * rows + o] = s;
        }
      check_close("gemv_bf16 " + std::to_string(rows) + "x" + std::to_string(cols) + (accumulate ? " accumulate" : ""),
                  dy.read(), want, 1e-4);
    }
  }
}

TEST_CASE("gemv_int8: per-group scales, bias, accumulate") {
  const int rows = 19, cols = 96, m = 2, groups = cols / zest::cuda::kInt8Group;
  std::vector<int8_t> w(size_t(rows) * cols);
  std::mt19937 rng(20);
  for (int8_t& q : w) q = int8_t(int(rng() % 255) - 127);
  const auto scales = random_floats(size_t(rows) * groups, 21), x = random_floats(size_t(m) * cols, 22);
  const auto bias = random_floats(size_t(rows), 23), y0 = random_floats(size_t(m) * rows, 24);
  DeviceBuffer dw(w);
  DeviceBuffer ds(scales), dx(x), dbias(bias), dy(y0);
  zest::cuda::gemv_int8(dw.get(), ds.get(), dx.get(), dbias.get(), dy.get(), m, rows, cols, /*accumulate=*/true, nullptr);
  std::vector<double> want(size_t(m) * rows);
  for (int r = 0; r < m; ++r)
    for (int o = 0; o < rows; ++o) {
      double s = y0[size_t(r) * rows + o] + bias[size_t(o)];
      for (int k = 0; k < cols; ++k)
        s += double(scales[size_t(o) * groups + k / zest::cuda::kInt8Group]) * w[size_t(o) * cols + k] * x[size_t(r) * cols + k];
      want[size_t(r) * rows + o] = s;
    }
  check_close("gemv_int8 19x96", dy.read(), want, 1e-4);
}

TEST_CASE("gemm_bf16 through cuBLASLt, and to_bf16 and add_bias around it") {
  const int m = 5, n = 33, k = 48;
  const auto x = random_floats(size_t(m) * k, 5), w = random_floats(size_t(n) * k, 6), bias = random_floats(size_t(n), 7);
  const auto y0 = random_floats(size_t(m) * n, 8);
  const auto wb = to_bf16(w);
  DeviceBuffer dx(x);
  DeviceBuffer dy(y0);
  DeviceBuffer dbias(bias);
  DeviceBuffer dw(wb);
  DeviceBuffer dxb(std::vector<uint16_t>(x.size()));
  auto workspace = zest::detail::device_alloc(32 << 20);
  auto handle = zest::detail::make_cublaslt();
  zest::cuda::to_bf16(dx.get(), dxb.get(), x.size(), nullptr);
  const auto xb = dxb.read();
  CHECK(xb == to_bf16(x));
  zest::cuda::gemm_bf16(handle.get(), dxb.get(), dw.get(), dy.get(), m, n, k, /*accumulate=*/true, workspace.get(), 32 << 20, nullptr);
  zest::cuda::add_bias(dy.get(), dbias.get(), m, n, nullptr);
  std::vector<double> want(size_t(m) * n);
  for (int r = 0; r < m; ++r)
    for (int o = 0; o < n; ++o) {
      double s = y0[size_t(r) * n + o] + bias[size_t(o)];
      for (int i = 0; i < k; ++i)
        s += double(zest::detail::bf16_to_f32(xb[size_t(r) * k + i])) * zest::detail::bf16_to_f32(wb[size_t(o) * k + i]);
      want[size_t(r) * n + o] = s;
    }
  check_close("gemm_bf16 5x48 * (33x48)^T", dy.read(), want, 1e-4);
}

TEST_CASE("norm: RMSNorm and LayerNorm") {
  const int m = 3, d = 77;
  const auto x = random_floats(size_t(m) * d, 9, 3), w = random_floats(size_t(d), 10), b = random_floats(size_t(d), 11);
  for (const bool layer : {false, true}) {
    DeviceBuffer dx(x);
    DeviceBuffer dw(w);
    DeviceBuffer db(b);
    DeviceBuffer dy(std::vector<float>(x.size()));
    zest::cuda::norm(dx.get(), dw.get(), layer ? db.get() : nullptr, dy.get(), m, d, 1e-5f, nullptr);
    std::vector<double> want(x.size());
    for (int r = 0; r < m; ++r) {
      const float* xr = x.data() + size_t(r) * d;
      double mean = 0, ss = 0;
      if (layer) {
        for (int i = 0; i < d; ++i) mean += xr[i];
        mean /= d;
      }
      for (int i = 0; i < d; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
      const double inv = 1 / std::sqrt(ss / d + 1e-5);
      for (int i = 0; i < d; ++i) want[size_t(r) * d + i] = (xr[i] - mean) * inv * w[size_t(i)] + (layer ? b[size_t(i)] : 0);
    }
    check_close(layer ? "layer_norm d=77" : "rms_norm d=77", dy.read(), want, 1e-5);
  }
}

TEST_CASE("embed: rows of a bf16 table plus learned positions") {
  const int vocab = 11, d = 13, m = 3, pos0 = 4;
  const auto table = to_bf16(random_floats(size_t(vocab) * d, 12)), positions = to_bf16(random_floats(size_t(10) * d, 13));
  const std::vector<int32_t> staging = {pos0, 7, 0, 10};
  DeviceBuffer dt(table);
  DeviceBuffer dp(positions);
  DeviceBuffer ds(staging);
  DeviceBuffer dx(std::vector<float>(size_t(m) * d));
  zest::cuda::embed(dt.get(), dp.get(), ds.get() + 1, ds.get(), dx.get(), m, d, nullptr);
  std::vector<double> want(size_t(m) * d);
  for (int r = 0; r < m; ++r)
    for (int i = 0; i < d; ++i)
      want[size_t(r) * d + i] = double(zest::detail::bf16_to_f32(table[size_t(staging[size_t(r) + 1]) * d + i])) +
                                zest::detail::bf16_to_f32(positions[size_t(pos0 + r) * d + i]);
  check_close("embed", dx.read(), want, 1e-6);
}

TEST_CASE("rope: rotate_half of q and k heads, partial rotary, scaled") {
  const int m = 2, heads = 3, kv_heads = 1, hd = 10, rot = 8, stride = (heads + 2 * kv_heads) * hd + 3, pos0 = 5;
  const float scaling = 1.25f;
  const auto qkv = random_floats(size_t(m) * stride, 14), inv_freq = random_floats(size_t(rot / 2), 15);
  DeviceBuffer dq(qkv);
  DeviceBuffer df(inv_freq);
  DeviceBuffer dp(std::vector<int32_t>{pos0});
  zest::cuda::rope(dq.get(), df.get(), dp.get(), m, stride, heads, kv_heads, hd, rot, scaling, nullptr);
  std::vector<double> want(qkv.begin(), qkv.end());
  for (int r = 0; r < m; ++r)
    for (int h = 0; h < heads + kv_heads; ++h)
      for (int i = 0; i < rot / 2; ++i) {
        const float angle = float(pos0 + r) * inv_freq[size_t(i)];
        const double c = float(std::cos(double(angle))) * scaling, s = float(std::sin(double(angle))) * scaling;
        const size_t at = size_t(r) * stride + size_t(h) * hd;
        const double a = qkv[at + size_t(i)], b = qkv[at + size_t(i + rot / 2)];
        want[at + size_t(i)] = a * c - b * s;
        want[at + size_t(i + rot / 2)] = a * s + b * c;
      }
  check_close("rope", dq.read(), want, 1e-5);
}

// store_kv then attention: a prompt's rows across a split boundary and one decode row over three
// splits, against softmax attention in double.
TEST_CASE("attention: split-K over the cache, GQA, causal rows") {
  const int heads = 4, kv_heads = 2, hd = 24, capacity = 600, qd = heads * hd, stride = qd + 2 * kv_heads * hd;
  const float scale = 0.3f;
  const int splits = (capacity + zest::cuda::kAttentionSplit - 1) / zest::cuda::kAttentionSplit;
  const int length = 530;  // positions written
  const auto rows = random_floats(size_t(length) * stride, 16, 2);
  DeviceBuffer dk(std::vector<float>(size_t(kv_heads) * capacity * hd));
  DeviceBuffer dv(std::vector<float>(size_t(kv_heads) * capacity * hd));
  DeviceBuffer drows(rows);
  DeviceBuffer dpos(std::vector<int32_t>{0});
  zest::cuda::store_kv(drows.get(), dk.get(), dv.get(), dpos.get(), length, stride, qd, kv_heads, hd, capacity, nullptr);
  for (const auto& [pos0, m] : {std::pair{250, 9}, std::pair{length - 1, 1}, std::pair{0, 3}}) {
    DeviceBuffer dp(std::vector<int32_t>{pos0});
    DeviceBuffer partial(std::vector<float>(size_t(m) * heads * splits * (hd + 2)));
    DeviceBuffer dout(std::vector<float>(size_t(m) * qd));
    const float* q = drows.get() + size_t(pos0) * stride;
    zest::cuda::attention(q, stride, dk.get(), dv.get(), dp.get(), m, heads, kv_heads, hd, capacity, scale, partial.get(),
                          splits, dout.get(), qd, nullptr);
    std::vector<double> want(size_t(m) * qd);
    for (int r = 0; r < m; ++r)
      for (int h = 0; h < heads; ++h) {
        const int kvh = h / (heads / kv_heads), n = pos0 + r + 1;
        const float* qr = rows.data() + size_t(pos0 + r) * stride + size_t(h) * hd;
        std::vector<double> p(static_cast<size_t>(n));
        double mx = -1e300, sum = 0;
        for (int t = 0; t < n; ++t) {
          const float* k = rows.data() + size_t(t) * stride + qd + size_t(kvh) * hd;
          double s = 0;
          for (int i = 0; i < hd; ++i) s += double(qr[i] * scale) * k[i];
          p[size_t(t)] = s, mx = std::max(mx, s);
        }
        for (double& e : p) sum += (e = std::exp(e - mx));
        for (int i = 0; i < hd; ++i) {
          double o = 0;
          for (int t = 0; t < n; ++t) o += p[size_t(t)] * rows[size_t(t) * stride + qd + size_t(kv_heads * hd + kvh * hd + i)];
          want[size_t(r) * qd + size_t(h) * hd + i] = o / sum;
        }
      }
    check_close("attention from position " + std::to_string(pos0) + ", " + std::to_string(m) + " rows", dout.read(), want, 1e-4);
  }
}

TEST_CASE("activate: gated silu and gelu_tanh, plain gelu_erf and relu") {
  const int m = 3, n = 29;
  const auto u = random_floats(size_t(m) * 2 * n, 17, 4);
  for (const auto& [act, gated] : {std::pair{zest::cuda::Act::silu, true}, std::pair{zest::cuda::Act::gelu_tanh, true},
                                  std::pair{zest::cuda::Act::gelu_erf, false}, std::pair{zest::cuda::Act::relu, false}}) {
    DeviceBuffer du(u);
    DeviceBuffer dout(std::vector<float>(size_t(m) * n));
    zest::cuda::activate(du.get(), dout.get(), m, n, act, gated, nullptr);
    auto f = [&](double x) {
      switch (act) {
        case zest::cuda::Act::silu: return x / (1 + std::exp(-x));
        case zest::cuda::Act::gelu_tanh: return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        case zest::cuda::Act::gelu_erf: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        case zest::cuda::Act::relu: return std::max(x, 0.0);
      }
      return x;
    };
    std::vector<double> want(size_t(m) * n);
    for (int r = 0; r < m; ++r)
      for (int i = 0; i < n; ++i)
        want[size_t(r) * n + i] = gated ? f(u[size_t(r) * 2 * n + i]) * u[size_t(r) * 2 * n + n + i] : f(u[size_t(r) * n + i]);
    check_close("activate " + std::to_string(int(act)), dout.read(), want, 1e-5);
  }
}

TEST_CASE("argmax: the first of equal maxima") {
  auto logits = random_floats(5003, 18);
  logits[4000] = 7, logits[1234] = 7;
  DeviceBuffer dl(logits);
  DeviceBuffer dout(std::vector<int32_t>{-1});
  zest::cuda::argmax(dl.get(), int(logits.size()), dout.get(), nullptr);
  CHECK(dout.read()[0] == 1234);
}

TEST_SUITE_END();
