// Scaled dot-product attention over a KV cache: decode (one new query row) and causal prefill
// (m rows), multi-head with GQA / MQA head sharing and an optional sliding window.
//
// Both run one tiled kernel ("flash attention"): for a KV head and the query rows that share
// it (every query head of its group, for a block of positions), keys and values are read in
// tiles of 64 positions, scores live only for the tile, and a running max / sum per row
// rescales the output (online softmax), so no n x n score matrix exists and K / V are read once
// per group, not once per query head. Decode splits long caches across threads by position and
// merges the partial softmaxes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "zest/detail/half.hpp"
#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest {

enum class KvType { f32, f16, bf16 };

// One layer's keys or values: element (position t, kv head h, dim i) is at
// data[t * pos_stride + h * head_stride + i], of type `type`. Strides count elements.
struct KvView {
  const void* data = nullptr;
  KvType type = KvType::f32;
  size_t pos_stride = 0;
  size_t head_stride = 0;
};

struct AttentionShape {
  size_t n_heads = 0;     // query heads
  size_t n_kv_heads = 0;  // key / value heads; n_heads is a multiple of it
  size_t head_dim = 0;
  float scale = 0.f;      // usually 1 / sqrt(head_dim)
  size_t window = 0;      // query at position i sees keys (i - window, i]; 0 means unlimited
  bool causal = true;     // false (BERT's encoder): every query sees every key; window unused
};

namespace detail {

inline constexpr size_t kKeyTile = 64;
inline constexpr size_t kMaxTileRows = 64;

// How each cache element type is read: kLanes at a time into f32 lanes, or one.
template <KvType type>
struct KvElement {
  using T = uint16_t;
  static vfloat batch(const T* p) { return type == KvType::f16 ? load_f16_batch(p) : load_bf16_batch(p); }
  static float one(T h) { return type == KvType::f16 ? f16_to_f32(h) : bf16_to_f32(h); }
};
template <>
struct KvElement<KvType::f32> {
  using T = float;
  static vfloat batch(const float* p) { return vfloat::load_unaligned(p); }
  static float one(float x) { return x; }
};

// One unit of work: the query rows that share KV head kv_head (query heads
// [head0, head0 + group) at positions [pos0, pos0 + n_pos)), against keys [key_begin, key_end).
// Row r is query head head0 + r % group at position pos0 + r / group.
struct AttendTask {
  const float* q;  // row (position pos0, head 0); positions n_heads * d apart
  size_t n_heads, head0, group, pos0, n_pos, kv_head, key_begin, key_end;
};

// s[0..tn) = scale * q . k_j for the keys of a tile (rows `stride` elements apart, read in
// the cache's own type), kLanes keys at a time: one partial-sum batch per key (kLanes
// independent FMA chains, each key row read in order, which the prefetchers follow), then one
// transposing reduction. Lanes past tn repeat the last key.
template <KvType type, typename T>
inline void score_keys(const float* q, const T* keys, size_t stride, size_t tn, size_t d, float scale, float* s) {
  using E = KvElement<type>;
  const size_t d_vec = d / kLanes * kLanes;
  for (size_t j0 = 0; j0 < tn; j0 += kLanes) {
    const T* key[kLanes];
    for (size_t l = 0; l < kLanes; ++l) key[l] = keys + std::min(j0 + l, tn - 1) * stride;
    vfloat part[kLanes];
#pragma GCC unroll 16
    for (size_t l = 0; l < kLanes; ++l) {
      part[l] = vfloat(0.f);
      for (size_t i = 0; i < d_vec; i += kLanes)
        part[l] = xsimd::fma(vfloat::load_unaligned(q + i), E::batch(key[l] + i), part[l]);
    }
    (reduce_add_each(part) * vfloat(scale)).store_aligned(s + j0);
    if (d_vec < d)
      for (size_t l = 0; l < kLanes && j0 + l < tn; ++l) {
        float tail = 0.f;
        for (size_t i = d_vec; i < d; ++i) tail += q[i] * E::one(key[l][i]);
        s[j0 + l] += tail * scale;
      }
  }
}

// o[i0, i0 + NB * kLanes) = o * correction + sum_{j in [j0, j1)} p_j v_j, o in registers.
template <KvType type, size_t NB, typename T>
inline void accumulate_values_batches(const float* p, const T* values, size_t stride, size_t j0, size_t j1, size_t i0,
                                      float correction, float* o) {
  vfloat acc[NB];
  for (size_t b = 0; b < NB; ++b) acc[b] = vfloat::load_unaligned(o + i0 + b * kLanes) * vfloat(correction);
  for (size_t j = j0; j < j1; ++j) {
    const vfloat pj(p[j]);
    const T* vr = values + j * stride + i0;
#pragma GCC unroll 4
    for (size_t b = 0; b < NB; ++b) acc[b] = xsimd::fma(pj, KvElement<type>::batch(vr + b * kLanes), acc[b]);
  }
  for (size_t b = 0; b < NB; ++b) acc[b].store_unaligned(o + i0 + b * kLanes);
}

// o[0..d) = o * correction + sum_{j in [j0, j1)} p_j v_j.
template <KvType type, typename T>
inline void accumulate_values(const float* p, const T* values, size_t stride, size_t j0, size_t j1, size_t d,
                              float correction, float* o) {
  size_t i0 = 0;
  for (; i0 + 4 * kLanes <= d; i0 += 4 * kLanes)
    accumulate_values_batches<type, 4>(p, values, stride, j0, j1, i0, correction, o);
  for (; i0 + kLanes <= d; i0 += kLanes) accumulate_values_batches<type, 1>(p, values, stride, j0, j1, i0, correction, o);
  for (; i0 < d; ++i0) {
    float acc = o[i0] * correction;
    for (size_t j = j0; j < j1; ++j) acc += p[j] * KvElement<type>::one(values[j * stride + i0]);
    o[i0] = acc;
  }
}

// For the task's rows: out (rows x d) = sum_j exp(s_j - max) v_j over the visible keys, and
// each row's max and sum of exp(s_j - max); a row that saw no key keeps max = -inf, sum = 0.
template <KvType type>
inline void attend_keys(const AttendTask& a, const KvView& k, const KvView& v, const AttentionShape& shape,
                        float* out, float* row_max, float* row_sum) {
  using T = typename KvElement<type>::T;
  const T* k_head = static_cast<const T*>(k.data) + a.kv_head * k.head_stride;
  const T* v_head = static_cast<const T*>(v.data) + a.kv_head * v.head_stride;
  const size_t d = shape.head_dim, rows = a.n_pos * a.group;
  constexpr float minus_inf = -std::numeric_limits<float>::infinity();
  std::fill(out, out + rows * d, 0.f);
  std::fill(row_max, row_max + rows, minus_inf);
  std::fill(row_sum, row_sum + rows, 0.f);
  alignas(64) float s[kMaxTileRows][kKeyTile];
  size_t visible_begin[kMaxTileRows], visible_end[kMaxTileRows];
  float correction[kMaxTileRows];
  // Without the causal mask every row sees up to the last key, as if at its position.
  const size_t window = shape.causal ? shape.window : 0;
  const size_t last_pos = shape.causal ? a.pos0 + a.n_pos - 1 : a.key_end - 1;
  for (size_t t0 = a.key_begin; t0 < a.key_end && t0 <= last_pos; t0 += kKeyTile) {
    const size_t tn = std::min(kKeyTile, a.key_end - t0);
    if (window && t0 + tn - 1 + window <= a.pos0) continue;  // too old for every row
    const T* kt = k_head + t0 * k.pos_stride;
    for (size_t r = 0; r < rows; ++r) {
      // Keys t0 + j visible from position pos: pos - window < t0 + j <= pos.
      const size_t pos = shape.causal ? a.pos0 + r / a.group : last_pos;
      const size_t j1 = std::min(tn, pos + 1 - std::min(pos + 1, t0));
      const size_t j0 = window && pos + 1 > window + t0 ? std::min(j1, pos + 1 - window - t0) : 0;
      visible_begin[r] = j0;
      visible_end[r] = j1;
      correction[r] = 1.f;
      if (j0 == j1) continue;
      const float* qr = a.q + (r / a.group) * a.n_heads * d + (a.head0 + r % a.group) * d;
      float* sr = s[r];
      score_keys<type>(qr, kt, k.pos_stride, tn, d, shape.scale, sr);
      std::fill(sr, sr + j0, minus_inf);
      std::fill(sr + j1, sr + kKeyTile, minus_inf);
      // Online softmax: rescale what this row accumulated to the new maximum.
      vfloat vmax(minus_inf);
      for (size_t j = 0; j < kKeyTile; j += kLanes) vmax = xsimd::max(vmax, vfloat::load_aligned(sr + j));
      const float new_max = std::max(row_max[r], reduce_max(vmax));
      correction[r] = std::exp(row_max[r] - new_max);
      row_max[r] = new_max;
      vfloat vsum(0.f);
      for (size_t j = 0; j < kKeyTile; j += kLanes) {
        const vfloat p = xsimd::exp(vfloat::load_aligned(sr + j) - vfloat(new_max));
        p.store_aligned(sr + j);
        vsum += p;
      }
      row_sum[r] = row_sum[r] * correction[r] + reduce_add(vsum);
    }
    const T* vt = v_head + t0 * v.pos_stride;
    for (size_t r = 0; r < rows; ++r)
      if (visible_begin[r] < visible_end[r])
        accumulate_values<type>(s[r], vt, v.pos_stride, visible_begin[r], visible_end[r], d, correction[r], out + r * d);
  }
}

inline void attend_keys(const AttendTask& a, const KvView& k, const KvView& v, const AttentionShape& shape,
                        float* out, float* row_max, float* row_sum) {
  switch (k.type) {
    case KvType::f32: return attend_keys<KvType::f32>(a, k, v, shape, out, row_max, row_sum);
    case KvType::f16: return attend_keys<KvType::f16>(a, k, v, shape, out, row_max, row_sum);
    case KvType::bf16: return attend_keys<KvType::bf16>(a, k, v, shape, out, row_max, row_sum);
  }
}

inline void check_attention(const float* q, const KvView& k, const KvView& v, const AttentionShape& s,
                            const float* out, const char* who) {
  if (s.n_heads == 0 || s.n_kv_heads == 0 || s.head_dim == 0)
    fail(Error::Kind::config, who, ": n_heads = ", s.n_heads, ", n_kv_heads = ", s.n_kv_heads, ", head_dim = ",
         s.head_dim, " must all be > 0");
  if (s.n_heads % s.n_kv_heads != 0)
    fail(Error::Kind::config, who, ": n_heads = ", s.n_heads, " is not a multiple of n_kv_heads = ", s.n_kv_heads);
  if (!q || !out || !k.data || !v.data) fail(Error::Kind::input, who, ": null query, output or cache pointer");
  if (k.type != v.type) fail(Error::Kind::input, who, ": keys and values must share one cache type");
  if (!(std::isfinite(s.scale))) fail(Error::Kind::config, who, ": scale = ", s.scale, " is not finite");
}

// Query heads per unit of work, at most kMaxTileRows.
inline size_t heads_per_unit(const AttentionShape& s) {
  const size_t group = s.n_heads / s.n_kv_heads;
  size_t h = std::min(group, kMaxTileRows);
  while (group % h != 0) --h;
  return h;
}

}  // namespace detail

// Decode: q holds one query row per head (n_heads x head_dim) for position n_ctx - 1, whose key
// and value are already in the cache with those of positions [0, n_ctx - 1). out gets
// n_heads x head_dim.
inline void attend_decode(const float* q, const KvView& k, const KvView& v, size_t n_ctx, const AttentionShape& shape,
                          float* out, ThreadPool& pool) {
  detail::check_attention(q, k, v, shape, out, "attend_decode");
  if (n_ctx == 0) detail::fail(Error::Kind::input, "attend_decode: n_ctx = 0, the cache holds no position");
  const size_t d = shape.head_dim, pos = n_ctx - 1;
  const size_t begin = shape.window && n_ctx > shape.window ? n_ctx - shape.window : 0;
  const size_t group = shape.n_heads / shape.n_kv_heads, unit_heads = detail::heads_per_unit(shape);
  const size_t units = shape.n_heads / unit_heads;
  // Split the keys when there are fewer units than threads, keeping >= 256 keys per split.
  size_t splits = units >= pool.size() ? 1 : (pool.size() + units - 1) / units;
  splits = std::max<size_t>(1, std::min(splits, (n_ctx - begin) / 256));
  // The caller's scratch, kept between calls: a decode step allocates nothing.
  thread_local std::vector<float> scratch;
  scratch.resize(units * splits * unit_heads * (d + 2));
  float* partial = scratch.data();  // the caller's thread_local, named here for the workers
  auto state = [&](size_t unit, size_t split) { return partial + (unit * splits + split) * unit_heads * (d + 2); };
  pool.run([&](size_t t, size_t nt) {
    for (size_t task = t; task < units * splits; task += nt) {
      const size_t unit = task / splits, split = task % splits, head0 = unit * unit_heads;
      const size_t n_keys = n_ctx - begin;
      const detail::AttendTask a{q, shape.n_heads, head0, unit_heads, pos, 1, head0 / group,
                                 begin + n_keys * split / splits, begin + n_keys * (split + 1) / splits};
      float* st = state(unit, split);
      detail::attend_keys(a, k, v, shape, st, st + unit_heads * d, st + unit_heads * (d + 1));
    }
  });
  for (size_t unit = 0; unit < units; ++unit)
    for (size_t h = 0; h < unit_heads; ++h) {
      float max = -std::numeric_limits<float>::infinity();
      for (size_t sp = 0; sp < splits; ++sp) max = std::max(max, state(unit, sp)[unit_heads * d + h]);
      float* o = out + (unit * unit_heads + h) * d;
      std::fill(o, o + d, 0.f);
      float sum = 0.f;
      for (size_t sp = 0; sp < splits; ++sp) {
        const float* st = state(unit, sp);
        if (st[unit_heads * d + h] == -std::numeric_limits<float>::infinity()) continue;
        const float w = std::exp(st[unit_heads * d + h] - max);
        sum += w * st[unit_heads * (d + 1) + h];
        for (size_t i = 0; i < d; ++i) o[i] += w * st[h * d + i];
      }
      for (size_t i = 0; i < d; ++i) o[i] /= sum;
    }
}

// Prefill: q holds m rows (m x n_heads x head_dim) for positions [pos0, pos0 + m), whose keys
// and values are already in the cache with those of positions [0, pos0). out gets
// m x n_heads x head_dim. Causal unless shape.causal is false (then every row sees all
// pos0 + m keys, as BERT's encoder does).
inline void attend_prefill(const float* q, size_t m, size_t pos0, const KvView& k, const KvView& v,
                           const AttentionShape& shape, float* out, ThreadPool& pool) {
  detail::check_attention(q, k, v, shape, out, "attend_prefill");
  if (m == 0) return;
  const size_t d = shape.head_dim, group = shape.n_heads / shape.n_kv_heads;
  const size_t unit_heads = detail::heads_per_unit(shape), units = shape.n_heads / unit_heads;
  const size_t block = std::max<size_t>(1, detail::kMaxTileRows / unit_heads);  // positions per task
  const size_t blocks = (m + block - 1) / block;
  pool.run([&](size_t t, size_t nt) {
    thread_local std::vector<float> scratch;
    scratch.resize(detail::kMaxTileRows * (d + 2));
    for (size_t task = t; task < units * blocks; task += nt) {
      const size_t unit = task % units, b = task / units, head0 = unit * unit_heads;
      const size_t p0 = pos0 + b * block, n_pos = std::min(block, pos0 + m - p0);
      const size_t window = shape.causal ? shape.window : 0;
      const size_t begin = window && p0 + 1 > window ? p0 + 1 - window : 0;
      const detail::AttendTask a{q + (b * block) * shape.n_heads * d, shape.n_heads, head0, unit_heads, p0, n_pos,
                                 head0 / group, begin, shape.causal ? p0 + n_pos : pos0 + m};
      const size_t rows = n_pos * unit_heads;
      float *o = scratch.data(), *row_max = o + rows * d, *row_sum = row_max + rows;
      detail::attend_keys(a, k, v, shape, o, row_max, row_sum);
      for (size_t r = 0; r < rows; ++r) {
        float* dst = out + ((b * block + r / unit_heads) * shape.n_heads + head0 + r % unit_heads) * d;
        const float inv = 1.f / row_sum[r];
        for (size_t i = 0; i < d; ++i) dst[i] = o[r * d + i] * inv;
      }
    }
  });
}

}  // namespace zest
