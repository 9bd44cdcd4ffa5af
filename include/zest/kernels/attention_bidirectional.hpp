// Bidirectional (encoder) attention over a packed batch: every query of a sequence sees every
// key of the same sequence and none of the others, which is what BERT's padding mask computes
// for the real tokens of a right-padded batch, without the padding.
//
// Sequences are short (BERT: at most 512), so a unit of work holds a whole score row: for a
// (sequence, head, block of queries) the keys are transposed once into scratch (head_dim x n),
// scores for kLanes keys at a time accumulate in registers (no horizontal sums), a row softmax,
// then the output row accumulates p_j * v_j over head_dim in registers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "zest/error.hpp"
#include "zest/kernels/simd.hpp"
#include "zest/kernels/softmax.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest {

// Where the projections are: row t of the packed batch holds its query at qkv[t * stride],
// the key at + key_offset and the value at + value_offset, each n_heads * head_dim floats,
// head h at + h * head_dim.
struct PackedQkv {
  const float* data = nullptr;
  size_t stride = 0, key_offset = 0, value_offset = 0;
};

namespace detail {

inline constexpr size_t kBidirectionalQueryBlock = 32;

// Query rows [q0, q1) of one head of the sequence of rows [begin, begin + n).
inline void attend_block(const PackedQkv& p, size_t begin, size_t n, size_t q0, size_t q1, size_t head,
                         size_t head_dim, float scale, float* out, size_t out_stride, AlignedVector<float>& kt,
                         AlignedVector<float>& scores) {
  const size_t d = head_dim, n_pad = (n + kLanes - 1) / kLanes * kLanes;
  kt.assign(d * n_pad, 0.f);
  scores.resize(n_pad);
  for (size_t j = 0; j < n; ++j) {
    const float* k = p.data + (begin + j) * p.stride + p.key_offset + head * d;
    for (size_t i = 0; i < d; ++i) kt[i * n_pad + j] = k[i];
  }
  for (size_t r = q0; r < q1; ++r) {
    const float* q = p.data + (begin + r) * p.stride + head * d;
    for (size_t j = 0; j < n_pad; j += kLanes) {
      vfloat acc(0.f);
      const float* col = kt.data() + j;
      for (size_t i = 0; i < d; ++i) acc = xsimd::fma(vfloat(q[i]), vfloat::load_aligned(col + i * n_pad), acc);
      (acc * vfloat(scale)).store_aligned(scores.data() + j);
    }
    softmax(scores.data(), 1, n);
    float* o = out + (begin + r) * out_stride + head * d;
    const size_t d_vec = d / kLanes * kLanes;
    std::fill(o, o + d, 0.f);
    for (size_t i0 = 0; i0 < d_vec; i0 += kLanes) {
      vfloat acc(0.f);
      for (size_t j = 0; j < n; ++j) {
        const float* v = p.data + (begin + j) * p.stride + p.value_offset + head * d;
        acc = xsimd::fma(vfloat(scores[j]), vfloat::load_unaligned(v + i0), acc);
      }
      acc.store_unaligned(o + i0);
    }
    for (size_t j = 0; j < n && d_vec < d; ++j) {
      const float* v = p.data + (begin + j) * p.stride + p.value_offset + head * d;
      for (size_t i = d_vec; i < d; ++i) o[i] += scores[j] * v[i];
    }
  }
}

}  // namespace detail

// out (row t, head h at out[t * out_stride + h * head_dim]) = softmax(scale * q k^T) v over the
// keys of row t's own sequence; sequence s is rows [offsets[s], offsets[s + 1]).
inline void attend_bidirectional(const PackedQkv& qkv, std::span<const size_t> offsets, size_t n_heads,
                                 size_t head_dim, float scale, float* out, size_t out_stride, ThreadPool& pool) {
  if (!qkv.data || !out) detail::fail(Error::Kind::input, "attend_bidirectional: null projections or output");
  if (n_heads == 0 || head_dim == 0)
    detail::fail(Error::Kind::config, "attend_bidirectional: n_heads = ", n_heads, ", head_dim = ", head_dim, " must be > 0");
  if (offsets.size() < 2) return;
  struct Task {
    size_t seq, head, q0;
  };
  std::vector<Task> tasks;
  for (size_t s = 0; s + 1 < offsets.size(); ++s) {
    if (offsets[s + 1] < offsets[s]) detail::fail(Error::Kind::input, "attend_bidirectional: offsets decrease at ", s);
    for (size_t h = 0; h < n_heads; ++h)
      for (size_t q0 = 0; q0 < offsets[s + 1] - offsets[s]; q0 += detail::kBidirectionalQueryBlock)
        tasks.push_back({s, h, q0});
  }
  pool.run([&](size_t t, size_t nt) {
    thread_local detail::AlignedVector<float> kt, scores;
    for (size_t i = t; i < tasks.size(); i += nt) {
      const Task& task = tasks[i];
      const size_t begin = offsets[task.seq], n = offsets[task.seq + 1] - begin;
      detail::attend_block(qkv, begin, n, task.q0, std::min(n, task.q0 + detail::kBidirectionalQueryBlock), task.head,
                           head_dim, scale, out, out_stride, kt, scores);
    }
  });
}

}  // namespace zest
