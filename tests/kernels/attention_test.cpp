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

// Where a cache keeps (position, kv head): positions outermost, heads outermost, or paged (blocks
// of kKvBlock positions, heads outermost within a block, the blocks stored in reverse order
// behind an unused one).
enum class Layout { pos_major, head_major, paged };

// A cache of n positions in the chosen element type and layout, plus its values as doubles in
// [pos][kv_head][dim] order for the reference.
struct Cache {
  std::vector<uint16_t> halves;
  std::vector<float> floats;
  std::vector<double> values;
  std::vector<int32_t> table;
  zest::detail::KvView view;
  Cache(size_t n, size_t kv_heads, size_t d, zest::detail::KvType type, Layout layout, unsigned seed) {
    constexpr size_t block = zest::detail::kKvBlock;
    const size_t n_blocks = (n + block - 1) / block;
    const auto src = random_vector(n * kv_heads * d, seed);
    values.resize(src.size());
    const size_t stored_n = layout == Layout::paged ? (n_blocks + 1) * block : n;
    floats.resize(stored_n * kv_heads * d);
    halves.resize(floats.size());
    if (layout == Layout::pos_major) view = {nullptr, type, kv_heads * d, d};
    if (layout == Layout::head_major) view = {nullptr, type, d, n * d};
    if (layout == Layout::paged) {
      for (size_t b = 0; b < n_blocks; ++b) table.push_back(int32_t(n_blocks - b));
      view = {nullptr, type, d, block * d, table.data(), block * kv_heads * d};
    }
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < kv_heads; ++h)
        for (size_t i = 0; i < d; ++i) {
          const float x = src[(t * kv_heads + h) * d + i];
          const size_t at = view.offset(t, h) + i;
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
      for (Layout layout : {Layout::pos_major, Layout::head_major, Layout::paged})
        for (size_t n_ctx : {1u, 5u, 64u, 300u, 1100u}) {
          CAPTURE(c.n_heads);
          CAPTURE(c.n_kv_heads);
          CAPTURE(c.head_dim);
          CAPTURE(c.window);
          CAPTURE(int(type));
          CAPTURE(int(layout));
          CAPTURE(n_ctx);
          const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 1.f / std::sqrt(float(c.head_dim)), c.window};
          const Cache k(n_ctx, c.n_kv_heads, c.head_dim, type, layout, 1), v(n_ctx, c.n_kv_heads, c.head_dim, type, layout, 2);
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
        for (size_t pos0 : {0u, 37u})
          for (Layout layout : {Layout::pos_major, Layout::paged}) {
            CAPTURE(int(layout));
            CAPTURE(c.n_heads);
            CAPTURE(c.n_kv_heads);
            CAPTURE(c.head_dim);
            CAPTURE(c.window);
            CAPTURE(m);
            CAPTURE(pos0);
            const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 0.3f, c.window};
            const Cache k(pos0 + m, c.n_kv_heads, c.head_dim, type, layout, 4), v(pos0 + m, c.n_kv_heads, c.head_dim, type, layout, 5);
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
      const Cache k(m, c.n_kv_heads, c.head_dim, zest::detail::KvType::f32, Layout::head_major, 7),
          v(m, c.n_kv_heads, c.head_dim, zest::detail::KvType::f32, Layout::head_major, 8);
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

TEST_CASE("a paged cache gives the contiguous cache's results bit for bit") {
  // Tiles are cut at the same absolute positions in every layout, so the batching engine's paged
  // sequences sum exactly as a Session's contiguous one.
  zest::detail::ThreadPool pool(2);
  const Case c{8, 2, 72, 0};
  for (size_t n_ctx : {70u, 300u, 1100u}) {
    CAPTURE(n_ctx);
    const zest::detail::AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, 0.2f, c.window};
    const Cache k(n_ctx, c.n_kv_heads, c.head_dim, zest::detail::KvType::f16, Layout::head_major, 1),
        v(n_ctx, c.n_kv_heads, c.head_dim, zest::detail::KvType::f16, Layout::head_major, 2),
        pk(n_ctx, c.n_kv_heads, c.head_dim, zest::detail::KvType::f16, Layout::paged, 1),
        pv(n_ctx, c.n_kv_heads, c.head_dim, zest::detail::KvType::f16, Layout::paged, 2);
    const auto q = random_vector(5 * c.n_heads * c.head_dim, 3);
    std::vector<float> a(c.n_heads * c.head_dim), b(a.size());
    zest::detail::attend_decode(q.data(), k.view, v.view, n_ctx, s, a.data(), pool);
    zest::detail::attend_decode(q.data(), pk.view, pv.view, n_ctx, s, b.data(), pool);
    CHECK(a == b);
    a.assign(q.size(), 0.f), b.assign(q.size(), 0.f);
    zest::detail::attend_prefill(q.data(), 5, n_ctx - 5, k.view, v.view, s, a.data(), pool);
    zest::detail::attend_prefill(q.data(), 5, n_ctx - 5, pk.view, pv.view, s, b.data(), pool);
    CHECK(a == b);
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
