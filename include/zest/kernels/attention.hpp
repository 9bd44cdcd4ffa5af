// Scaled dot-product attention over a KV cache: decode (one new query row) and causal prefill
// (m rows), multi-head with GQA / MQA head sharing and an optional sliding window.
//
// Both are tiled ("flash attention"): for a KV head and the query rows that share it (every
// query head of its group, for a block of positions), keys and values are read in tiles of 64
// positions, scores live only for the tile, and a running max / sum per row rescales the output
// (online softmax), so no n x n score matrix exists and K / V are read once per group, not once
// per query head. Decode (few rows) scores row by row (attend_keys) and splits long caches
// across threads by position, merging the partial softmaxes; prefill makes the rows SIMD lanes
// (attend_rows), so each tile is a few small register-tiled GEMMs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "zest/kernels/half.hpp"
#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/activation.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest::detail {

enum class KvType { f32, f16, bf16 };

inline constexpr size_t kKeyTile = 64;
inline constexpr size_t kMaxTileRows = 64;
// Positions per block of a paged cache: one key tile, so a tile never spans two blocks.
inline constexpr size_t kKvBlock = kKeyTile;

// One layer's keys or values: element (position t, kv head h, dim i) is at
// data[t * pos_stride + h * head_stride + i], of type `type`. Strides count elements. Paged
// (blocks set): position t is row t % kKvBlock of block blocks[t / kKvBlock], which starts
// blocks[t / kKvBlock] * block_stride elements from data.
struct KvView {
  const void* data = nullptr;
  KvType type = KvType::f32;
  size_t pos_stride = 0;
  size_t head_stride = 0;
  const int32_t* blocks = nullptr;
  size_t block_stride = 0;

  // Elements from data to (position t, kv head h, dim 0). Rows t..t' share a stride while they
  // are in one key tile (t / kKeyTile == t' / kKeyTile).
  size_t offset(size_t t, size_t h) const {
    if (!blocks) return t * pos_stride + h * head_stride;
    return size_t(blocks[t / kKvBlock]) * block_stride + (t % kKvBlock) * pos_stride + h * head_stride;
  }
};

// Keys [t0, t0 + n) of a tile: up to the next multiple of kKeyTile, or `end`. Every kernel cuts
// tiles at the same absolute positions, so a paged cache and a contiguous one sum alike.
inline size_t tile_keys(size_t t0, size_t end) { return std::min(kKeyTile - t0 % kKeyTile, end - t0); }

struct AttentionShape {
  size_t n_heads = 0;     // query heads
  size_t n_kv_heads = 0;  // key / value heads; n_heads is a multiple of it
  size_t head_dim = 0;
  float scale = 0.f;      // usually 1 / sqrt(head_dim)
  size_t window = 0;      // query at position i sees keys (i - window, i]; 0 means unlimited
  bool causal = true;     // false (BERT's encoder): every query sees every key; window unused
  float softcap = 0.f;    // > 0 (Gemma 2): scaled scores become softcap * tanh(score / softcap)
};

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
  const float* q;  // row (position pos0, head 0); positions q_stride floats apart
  size_t q_stride, head0, group, pos0, n_pos, kv_head, key_begin, key_end;
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
  for (size_t t0 = a.key_begin, tn = 0; t0 < a.key_end && t0 <= last_pos; t0 += tn) {
    tn = tile_keys(t0, a.key_end);
    if (window && t0 + tn - 1 + window <= a.pos0) continue;  // too old for every row
    const T* kt = static_cast<const T*>(k.data) + k.offset(t0, a.kv_head);
    for (size_t r = 0; r < rows; ++r) {
      // Keys t0 + j visible from position pos: pos - window < t0 + j <= pos.
      const size_t pos = shape.causal ? a.pos0 + r / a.group : last_pos;
      const size_t j1 = std::min(tn, pos + 1 - std::min(pos + 1, t0));
      const size_t j0 = window && pos + 1 > window + t0 ? std::min(j1, pos + 1 - window - t0) : 0;
      visible_begin[r] = j0;
      visible_end[r] = j1;
      correction[r] = 1.f;
      if (j0 == j1) continue;
      const float* qr = a.q + (r / a.group) * a.q_stride + (a.head0 + r % a.group) * d;
      float* sr = s[r];
      score_keys<type>(qr, kt, k.pos_stride, tn, d, shape.scale, sr);
      if (shape.softcap > 0.f) soft_cap(sr + j0, j1 - j0, shape.softcap);
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
    const T* vt = static_cast<const T*>(v.data) + v.offset(t0, a.kv_head);
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

// Prefill runs a second kernel over the same tasks, built for many query rows: the task's rows
// (padded to whole batches) are the lanes. Queries are transposed once per task, so the scores
// of a key tile, its softmax and the weighted sum of values are small register-tiled GEMMs,
// with no horizontal reductions: S^T[j][rows] = sum_i k_j[i] * Q^T[i][rows] (a key element
// broadcast against batches of rows), the online softmax down each lane, then
// O[r][dims] += sum_j P^T[j][r] * v_j[dims] (a probability broadcast against batches of dims).

// Rows or keys per register tile, with 4 batches each: 24 accumulators on AVX-512's 32
// registers, 12 on AVX2's 16.
inline constexpr int kAttendBlock = kLanes >= 16 ? 6 : 3;
inline constexpr size_t kAttendBatches = 4;

// Calls f(std::integral_constant<int, n>) for a runtime n in [1, N].
template <int N, typename F>
inline void with_constant(size_t n, F f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    ((n == size_t(I + 1) ? (f(std::integral_constant<int, I + 1>{}), 0) : 0), ...);
  }(std::make_integer_sequence<int, N>{});
}

// st[j][0, RV * kLanes) = sum_i k[j][i] * qt[i][.] for the JB keys at k (rows k_stride apart);
// qt and st rows are lanes floats apart.
template <int JB, int RV>
inline void score_tile(const float* qt, size_t lanes, const float* k, size_t k_stride, size_t d, float* st) {
  vfloat acc[JB][RV];
  for (int j = 0; j < JB; ++j)
    for (int b = 0; b < RV; ++b) acc[j][b] = vfloat(0.f);
  for (size_t i = 0; i < d; ++i) {
    vfloat q[RV];
    for (int b = 0; b < RV; ++b) q[b] = vfloat::load_aligned(qt + i * lanes + b * kLanes);
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) {
      const vfloat kj(k[j * k_stride + i]);
      for (int b = 0; b < RV; ++b) acc[j][b] = xsimd::fma(kj, q[b], acc[j][b]);
    }
  }
  for (int j = 0; j < JB; ++j)
    for (int b = 0; b < RV; ++b) acc[j][b].store_aligned(st + j * lanes + b * kLanes);
}

// o[r][i0, i0 + DB * kLanes) = o * corr[r] + sum_{j < tn} pt[j][r] * v[j][.] for the RB rows
// from r0; o rows d apart, pt rows lanes apart.
template <int RB, int DB>
inline void value_tile(const float* pt, size_t lanes, size_t r0, const float* v, size_t v_stride, size_t tn,
                       size_t i0, const float* corr, float* o, size_t d) {
  vfloat acc[RB][DB];
  for (int r = 0; r < RB; ++r)
    for (int b = 0; b < DB; ++b) acc[r][b] = vfloat::load_unaligned(o + (r0 + r) * d + i0 + b * kLanes) * vfloat(corr[r0 + r]);
  for (size_t j = 0; j < tn; ++j) {
    vfloat vj[DB];
    for (int b = 0; b < DB; ++b) vj[b] = vfloat::load_unaligned(v + j * v_stride + i0 + b * kLanes);
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
      const vfloat p(pt[j * lanes + r0 + r]);
      for (int b = 0; b < DB; ++b) acc[r][b] = xsimd::fma(p, vj[b], acc[r][b]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int b = 0; b < DB; ++b) acc[r][b].store_unaligned(o + (r0 + r) * d + i0 + b * kLanes);
}

// buf[j][0..d) = rows[j * stride][0..d) as f32, for j < tn.
template <KvType type, typename T>
inline void copy_f32_rows(const T* rows, size_t stride, size_t tn, size_t d, float* buf) {
  for (size_t j = 0; j < tn; ++j) {
    size_t i = 0;
    for (; i + kLanes <= d; i += kLanes) KvElement<type>::batch(rows + j * stride + i).store_unaligned(buf + j * d + i);
    for (; i < d; ++i) buf[j * d + i] = KvElement<type>::one(rows[j * stride + i]);
  }
}

// attend_keys for prefill tasks: the same results, the rows as lanes. scratch is reused.
template <KvType type>
inline void attend_rows(const AttendTask& a, const KvView& k, const KvView& v, const AttentionShape& shape,
                        float* out, float* row_max, float* row_sum, AlignedVector<float>& scratch) {
  using T = typename KvElement<type>::T;
  const size_t d = shape.head_dim, rows = a.n_pos * a.group, lanes = (rows + kLanes - 1) / kLanes * kLanes;
  constexpr float minus_inf = -std::numeric_limits<float>::infinity();
  scratch.resize(lanes * (d + kKeyTile + 3) + 2 * kKeyTile * d);
  float *qt = scratch.data(), *st = qt + lanes * d, *max = st + lanes * kKeyTile, *sum = max + lanes,
        *corr = sum + lanes, *kbuf = corr + lanes, *vbuf = kbuf + kKeyTile * d;
  // Scaled queries, transposed; padding lanes are zero and their results unused.
  std::fill(qt, qt + lanes * d, 0.f);
  for (size_t r = 0; r < rows; ++r) {
    const float* qr = a.q + (r / a.group) * a.q_stride + (a.head0 + r % a.group) * d;
    for (size_t i = 0; i < d; ++i) qt[i * lanes + r] = qr[i] * shape.scale;
  }
  std::fill(out, out + rows * d, 0.f);
  std::fill(max, max + lanes, minus_inf);
  std::fill(sum, sum + lanes, 0.f);
  // Row r sees keys [lo[r], hi[r]): all of them without the causal mask.
  const size_t window = shape.causal ? shape.window : 0;
  const size_t last_pos = shape.causal ? a.pos0 + a.n_pos - 1 : a.key_end - 1;
  alignas(64) float lo[kMaxTileRows] = {}, hi[kMaxTileRows] = {};  // lanes <= kMaxTileRows
  for (size_t r = 0; r < lanes; ++r) {
    const size_t pos = shape.causal ? a.pos0 + std::min(r, rows - 1) / a.group : last_pos;
    hi[r] = float(pos + 1);
    lo[r] = window && pos + 1 > window ? float(pos + 1 - window) : 0.f;
  }
  for (size_t t0 = a.key_begin, tn = 0; t0 < a.key_end && t0 <= last_pos; t0 += tn) {
    tn = tile_keys(t0, a.key_end);
    if (window && t0 + tn - 1 + window <= a.pos0) continue;  // too old for every row
    const T* k_tile = static_cast<const T*>(k.data) + k.offset(t0, a.kv_head);
    const T* v_tile = static_cast<const T*>(v.data) + v.offset(t0, a.kv_head);
    // Keys are read once per tile: in place if f32. Values are read once per block of rows, so
    // they are copied whole: rows a cache stride apart (often a multiple of 1 KiB) would share a
    // few L1 sets and evict each other between the blocks.
    size_t ks = d;
    const float* kt = kbuf;
    if constexpr (type == KvType::f32) kt = k_tile, ks = k.pos_stride;
    else copy_f32_rows<type>(k_tile, k.pos_stride, tn, d, kbuf);
    copy_f32_rows<type>(v_tile, v.pos_stride, tn, d, vbuf);
    for (size_t b0 = 0; b0 < lanes / kLanes; b0 += kAttendBatches) {
      const size_t nb = std::min(kAttendBatches, lanes / kLanes - b0);
      for (size_t j = 0; j < tn; j += kAttendBlock)
        with_constant<kAttendBlock>(std::min<size_t>(kAttendBlock, tn - j), [&](auto jb) {
          with_constant<kAttendBatches>(nb, [&](auto rb) {
            score_tile<jb.value, rb.value>(qt + b0 * kLanes, lanes, kt + j * ks, ks, d, st + j * lanes + b0 * kLanes);
          });
        });
    }
    if (shape.softcap > 0.f) soft_cap(st, tn * lanes, shape.softcap);
    // Online softmax down each lane: mask, rescale to the new maximum, exponentiate.
    const bool masked = shape.causal && (t0 + tn > a.pos0 + 1 || window);
    for (size_t b = 0; b < lanes; b += kLanes) {
      const vfloat vlo = vfloat::load_aligned(lo + b), vhi = vfloat::load_aligned(hi + b);
      vfloat vmax(minus_inf);
      for (size_t j = 0; j < tn; ++j) {
        vfloat s = vfloat::load_aligned(st + j * lanes + b);
        if (masked) {
          const vfloat key(float(t0 + j));
          s = xsimd::select(key >= vlo && key < vhi, s, vfloat(minus_inf));
          s.store_aligned(st + j * lanes + b);
        }
        vmax = xsimd::max(vmax, s);
      }
      const vfloat old_max = vfloat::load_aligned(max + b), new_max = xsimd::max(old_max, vmax);
      const vfloat base = xsimd::select(new_max == vfloat(minus_inf), vfloat(0.f), new_max);  // no key seen yet
      const vfloat c = xsimd::exp(old_max - base);
      vfloat vsum(0.f);
      for (size_t j = 0; j < tn; ++j) {
        const vfloat p = xsimd::exp(vfloat::load_aligned(st + j * lanes + b) - base);
        p.store_aligned(st + j * lanes + b);
        vsum += p;
      }
      new_max.store_aligned(max + b);
      c.store_aligned(corr + b);
      (vfloat::load_aligned(sum + b) * c + vsum).store_aligned(sum + b);
    }
    for (size_t r0 = 0; r0 < rows; r0 += kAttendBlock) {
      const size_t rb = std::min<size_t>(kAttendBlock, rows - r0);
      size_t i0 = 0;
      for (; i0 + kAttendBatches * kLanes <= d; i0 += kAttendBatches * kLanes)
        with_constant<kAttendBlock>(rb, [&](auto n) { value_tile<n.value, kAttendBatches>(st, lanes, r0, vbuf, d, tn, i0, corr, out, d); });
      for (; i0 + kLanes <= d; i0 += kLanes)
        with_constant<kAttendBlock>(rb, [&](auto n) { value_tile<n.value, 1>(st, lanes, r0, vbuf, d, tn, i0, corr, out, d); });
      for (size_t r = r0; r < r0 + rb; ++r)
        for (size_t i = i0; i < d; ++i) {
          float acc = out[r * d + i] * corr[r];
          for (size_t j = 0; j < tn; ++j) acc += st[j * lanes + r] * vbuf[j * d + i];
          out[r * d + i] = acc;
        }
    }
  }
  std::copy_n(max, rows, row_max);
  std::copy_n(sum, rows, row_sum);
}

inline void attend_rows(const AttendTask& a, const KvView& k, const KvView& v, const AttentionShape& shape,
                        float* out, float* row_max, float* row_sum, AlignedVector<float>& scratch) {
  switch (k.type) {
    case KvType::f32: return attend_rows<KvType::f32>(a, k, v, shape, out, row_max, row_sum, scratch);
    case KvType::f16: return attend_rows<KvType::f16>(a, k, v, shape, out, row_max, row_sum, scratch);
    case KvType::bf16: return attend_rows<KvType::bf16>(a, k, v, shape, out, row_max, row_sum, scratch);
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


// One sequence's row of a decode step: q holds one query row per head (n_heads x head_dim) for
// position n_ctx - 1, whose key and value are already in the cache with those of positions
// [0, n_ctx - 1). out gets n_heads x head_dim.
struct DecodeRow {
  const float* q = nullptr;
  KvView k, v;
  size_t n_ctx = 0;
  float* out = nullptr;
};

// Decode attention for the rows of a batched step (or one sequence's), in one fork/join: each
// row's query heads in units that share a KV head, and when the units are fewer than the threads
// (one short batch), each unit's keys split by position, the partial softmaxes merged after.
inline void attend_decode(std::span<const DecodeRow> rows, const AttentionShape& shape, ThreadPool& pool) {
  for (const DecodeRow& row : rows) {
    detail::check_attention(row.q, row.k, row.v, shape, row.out, "attend_decode");
    if (row.n_ctx == 0) detail::fail(Error::Kind::input, "attend_decode: n_ctx = 0, the cache holds no position");
  }
  if (rows.empty()) return;
  const size_t d = shape.head_dim;
  const size_t group = shape.n_heads / shape.n_kv_heads, unit_heads = detail::heads_per_unit(shape);
  const size_t units = shape.n_heads / unit_heads, row_units = rows.size() * units;
  // Split the keys when there are fewer units than threads, keeping >= 256 keys per split.
  size_t shortest = rows[0].n_ctx;
  for (const DecodeRow& row : rows) shortest = std::min(shortest, row.n_ctx);
  size_t splits = row_units >= pool.size() ? 1 : (pool.size() + row_units - 1) / row_units;
  splits = std::max<size_t>(1, std::min(splits, shortest / 256));
  // The caller's scratch, kept between calls: a decode step allocates nothing.
  thread_local std::vector<float> scratch;
  scratch.resize(row_units * splits * unit_heads * (d + 2));
  float* partial = scratch.data();  // the caller's thread_local, named here for the workers
  auto state = [&](size_t unit, size_t split) { return partial + (unit * splits + split) * unit_heads * (d + 2); };
  pool.run([&](size_t t, size_t nt) {
    for (size_t task = t; task < row_units * splits; task += nt) {
      const size_t unit = task / splits, split = task % splits, head0 = unit % units * unit_heads;
      const DecodeRow& row = rows[unit / units];
      const size_t begin = shape.window && row.n_ctx > shape.window ? row.n_ctx - shape.window : 0;
      const size_t n_keys = row.n_ctx - begin;
      const detail::AttendTask a{row.q, shape.n_heads * d, head0, unit_heads, row.n_ctx - 1, 1, head0 / group,
                                 begin + n_keys * split / splits, begin + n_keys * (split + 1) / splits};
      float* st = state(unit, split);
      detail::attend_keys(a, row.k, row.v, shape, st, st + unit_heads * d, st + unit_heads * (d + 1));
    }
  });
  for (size_t unit = 0; unit < row_units; ++unit)
    for (size_t h = 0; h < unit_heads; ++h) {
      float max = -std::numeric_limits<float>::infinity();
      for (size_t sp = 0; sp < splits; ++sp) max = std::max(max, state(unit, sp)[unit_heads * d + h]);
      float* o = rows[unit / units].out + (unit % units * unit_heads + h) * d;
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

// Decode attention of one sequence (see DecodeRow).
inline void attend_decode(const float* q, const KvView& k, const KvView& v, size_t n_ctx, const AttentionShape& shape,
                          float* out, ThreadPool& pool) {
  const DecodeRow row{q, k, v, n_ctx, out};
  attend_decode(std::span(&row, 1), shape, pool);
}

// Prefill: q holds m rows (m x n_heads x head_dim) for positions [pos0, pos0 + m), whose keys
// and values are already in the cache with those of positions [0, pos0). out gets
// m x n_heads x head_dim. Causal unless shape.causal is false (then every row sees all
// pos0 + m keys, as BERT's encoder does). q_stride: floats from one position's queries to the
// next, when they sit in a wider row (a fused q/k/v projection); 0 means n_heads x head_dim.
inline void attend_prefill(const float* q, size_t m, size_t pos0, const KvView& k, const KvView& v,
                           const AttentionShape& shape, float* out, ThreadPool& pool, size_t q_stride = 0) {
  detail::check_attention(q, k, v, shape, out, "attend_prefill");
  if (m == 0) return;
  const size_t d = shape.head_dim, group = shape.n_heads / shape.n_kv_heads;
  const size_t unit_heads = detail::heads_per_unit(shape), units = shape.n_heads / unit_heads;
  if (q_stride == 0) q_stride = shape.n_heads * d;
  const size_t block = std::max<size_t>(1, detail::kMaxTileRows / unit_heads);  // positions per task
  const size_t blocks = (m + block - 1) / block;
  pool.run([&](size_t t, size_t nt) {
    thread_local std::vector<float> scratch;
    thread_local detail::AlignedVector<float> tiles;
    scratch.resize(detail::kMaxTileRows * (d + 2));
    for (size_t task = t; task < units * blocks; task += nt) {
      const size_t unit = task % units, b = task / units, head0 = unit * unit_heads;
      const size_t p0 = pos0 + b * block, n_pos = std::min(block, pos0 + m - p0);
      const size_t window = shape.causal ? shape.window : 0;
      const size_t begin = window && p0 + 1 > window ? p0 + 1 - window : 0;
      const detail::AttendTask a{q + (b * block) * q_stride, q_stride, head0, unit_heads, p0, n_pos,
                                 head0 / group, begin, shape.causal ? p0 + n_pos : pos0 + m};
      const size_t rows = n_pos * unit_heads;
      float *o = scratch.data(), *row_max = o + rows * d, *row_sum = row_max + rows;
      detail::attend_rows(a, k, v, shape, o, row_max, row_sum, tiles);
      for (size_t r = 0; r < rows; ++r) {
        float* dst = out + ((b * block + r / unit_heads) * shape.n_heads + head0 + r % unit_heads) * d;
        const float inv = 1.f / row_sum[r];
        for (size_t i = 0; i < d; ++i) dst[i] = o[r * d + i] * inv;
      }
    }
  });
}

}  // namespace zest::detail
