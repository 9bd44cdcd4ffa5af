// Attention against a plain double-precision loop: softmax(q k^T * scale) v per head, with the
// causal and sliding-window masks and GQA head sharing written out directly.
#include <cmath>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "zest/kernels/attention.hpp"

namespace {

struct Case {
  size_t n_heads, n_kv_heads, head_dim, window;
};
const Case kCases[] = {{4, 4, 64, 0}, {8, 2, 72, 0}, {6, 1, 32, 0}, {4, 2, 16, 50}, {2, 2, 5, 0}, {16, 1, 64, 3}};

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A cache of n positions in the chosen element type and layout, plus its values as doubles in
// [pos][kv_head][dim] order for the reference.
struct Cache {
  std::vector<uint16_t> halves;
  std::vector<float> floats;
  std::vector<double> values;
  zest::detail::KvView view;
  Cache(size_t n, size_t kv_heads, size_t d, zest::detail::KvType type, bool head_major, unsigned seed) {
    const auto src = random_vector(n * kv_heads * d, seed);
    values.resize(src.size());
    floats.resize(src.size());
    halves.resize(src.size());
    view = {nullptr, type, head_major ? d : kv_heads * d, head_major ? n * d : d};
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < kv_heads; ++h)
        for (size_t i = 0; i < d; ++i) {
          const float x = src[(t * kv_heads + h) * d + i];
          const size_t at = t * view.pos_stride + h * view.head_stride + i;
          float stored = x;
          if (type == zest::detail::KvType::f16) stored = zest::detail::f16_to_f32(halves[at] = zest::detail::f32_to_f16(x));
          if (type == zest::detail::KvType::bf16) stored = zest::detail::bf16_to_f32(halves[at] = zest::detail::f32_to_bf16(x));
          floats[at] = x;
          values[(t * kv_heads + h) * d + i] = stored;
        }
    view.data = type == zest::detail::KvType::f32 ? static_cast<const void*>(floats.data()) : halves.data();
  }
};

// out[row][head] for query rows at positions pos0 .. pos0 + m - 1.
std::vector<double> reference(const std::vector<float>& q, size_t m, size_t pos0, const Cache& k, const Cache& v,
                              const zest::detail::AttentionShape& s) {
  const size_t d = s.head_dim, group = s.n_heads / s.n_kv_heads;
  std::vector<double> out(m * s.n_heads * d, 0.0);
  for (size_t r = 0; r < m; ++r)
    for (size_t h = 0; h < s.n_heads; ++h) {
      const size_t pos = pos0 + r, kvh = h / group;
      std::vector<double> score(pos0 + m, -INFINITY);
      double max = -INFINITY;
      const size_t last = s.causal ? pos : pos0 + m - 1;  // the encoder sees every key
      for (size_t j = 0; j <= last; ++j) {
        if (s.causal && s.window && j + s.window <= pos) continue;
        double dot = 0;
        for (size_t i = 0; i < d; ++i) dot += double(q[(r * s.n_heads + h) * d + i]) * k.values[(j * s.n_kv_heads + kvh) * d + i];
        score[j] = dot * s.scale;
        max = std::max(max, score[j]);
      }
      double sum = 0;
      for (double& x : score) sum += (x = std::exp(x - max));
      for (size_t j = 0; j <= last; ++j)
        for (size_t i = 0; i < d; ++i)
          out[(r * s.n_heads + h) * d + i] += score[j] / sum * v.values[(j * s.n_kv_heads + kvh) * d + i];
    }
  return out;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) err = std::max(err, std::abs(got[i] - want[i]));
  CHECK(err < 2e-5);
}

}  // namespace

TEST_CASE("decode attention: MHA, GQA, MQA, sliding window, every cache type and layout") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases)
    for (auto type : {zest::detail::KvType::f32, zest::detail::KvType::f16, zest::detail::KvType::bf16})
      for (bool head_major : {false, true})
        for (size_t n_ctx : {1u, 5u, 64u, 300u, 1100u}) {
          CAPTURE(c.n_heads);
          CAPTURE(c.n_kv_heads);
          CAPTURE(c.head_dim);
          CAPTURE(c.window);
          CAPTURE(int(type));
          CAPTURE(head_major);
          CAPTURE(n_ctx);
          const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 1.f / std::sqrt(float(c.head_dim)), c.window};
          const Cache k(n_ctx, c.n_kv_heads, c.head_dim, type, head_major, 1), v(n_ctx, c.n_kv_heads, c.head_dim, type, head_major, 2);
          const auto q = random_vector(c.n_heads * c.head_dim, 3);
          std::vector<float> out(q.size(), NAN);
          zest::detail::attend_decode(q.data(), k.view, v.view, n_ctx, s, out.data(), pool);
          check_close(out, reference(q, 1, n_ctx - 1, k, v, s));
        }
}

TEST_CASE("prefill attention: causal, after a cached prefix, tiles of every size") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases)
    for (auto type : {zest::detail::KvType::f32, zest::detail::KvType::bf16})
      for (size_t m : {1u, 7u, 150u})
        for (size_t pos0 : {0u, 37u}) {
          CAPTURE(c.n_heads);
          CAPTURE(c.n_kv_heads);
          CAPTURE(c.head_dim);
          CAPTURE(c.window);
          CAPTURE(m);
          CAPTURE(pos0);
          const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 0.3f, c.window};
          const Cache k(pos0 + m, c.n_kv_heads, c.head_dim, type, false, 4), v(pos0 + m, c.n_kv_heads, c.head_dim, type, false, 5);
          const auto q = random_vector(m * c.n_heads * c.head_dim, 6);
          std::vector<float> out(q.size(), NAN);
          zest::detail::attend_prefill(q.data(), m, pos0, k.view, v.view, s, out.data(), pool);
          check_close(out, reference(q, m, pos0, k, v, s));
        }
}

TEST_CASE("bidirectional (encoder) prefill sees every key") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases)
    for (size_t m : {1u, 9u, 130u}) {
      CAPTURE(c.n_heads);
      CAPTURE(c.head_dim);
      CAPTURE(m);
      const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 0.3f, c.window, false};
      const Cache k(m, c.n_kv_heads, c.head_dim, zest::detail::KvType::f32, true, 7), v(m, c.n_kv_heads, c.head_dim, zest::detail::KvType::f32, true, 8);
      const auto q = random_vector(m * c.n_heads * c.head_dim, 9);
      std::vector<float> out(q.size(), NAN);
      zest::detail::attend_prefill(q.data(), m, 0, k.view, v.view, s, out.data(), pool);
      check_close(out, reference(q, m, 0, k, v, s));
      // The same queries inside wider rows (as in a fused q/k/v projection).
      const size_t width = c.n_heads * c.head_dim;
      std::vector<float> wide(m * 3 * width, NAN);
      for (size_t r = 0; r < m; ++r) std::copy_n(q.data() + r * width, width, wide.data() + r * 3 * width);
      std::fill(out.begin(), out.end(), NAN);
      zest::detail::attend_prefill(wide.data(), m, 0, k.view, v.view, s, out.data(), pool, 3 * width);
      check_close(out, reference(q, m, 0, k, v, s));
    }
}

TEST_CASE("bad attention shapes are zest::Errors") {
  zest::detail::ThreadPool pool(1);
  float x[8] = {};
  const zest::detail::KvView kv{x, zest::detail::KvType::f32, 4, 4};
  CHECK_THROWS_AS(zest::detail::attend_decode(x, kv, kv, 1, {3, 2, 4, 0.5f, 0}, x, pool), zest::Error);
  CHECK_THROWS_AS(zest::detail::attend_decode(x, kv, kv, 1, {2, 2, 0, 0.5f, 0}, x, pool), zest::Error);
  CHECK_THROWS_AS(zest::detail::attend_decode(x, kv, kv, 0, {1, 1, 4, 0.5f, 0}, x, pool), zest::Error);
  CHECK_THROWS_AS(zest::detail::attend_prefill(x, 1, 0, {nullptr, zest::detail::KvType::f32, 4, 4}, kv, {1, 1, 4, 0.5f, 0}, x, pool),
                  zest::Error);
}
