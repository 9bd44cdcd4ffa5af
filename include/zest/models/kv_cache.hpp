// KV-cache storage in blocks of kKvBlock (64) positions. A block holds, for every layer, the keys
// and then the values of each KV head's 64 positions ([layer][k, v][kv head][position][head_dim]),
// so one block id places a position in every layer. A sequence lists its blocks in position
// order (its block table); attention reads the cache through that table (KvView::blocks).
// A sequence may own its blocks (a Session, one generate call: the table is 0, 1, 2, ...) or
// take them from a pool that the batching engine shares out between sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "zest/error.hpp"
#include "zest/kernels/attention.hpp"
#include "zest/kernels/simd.hpp"

namespace zest::detail {

inline size_t kv_element_size(KvType type) { return type == KvType::f32 ? sizeof(float) : sizeof(uint16_t); }

class KvBlocks {
 public:
  struct Shape {
    size_t layers = 0, kv_heads = 0, head_dim = 0;
    KvType type = KvType::f32;
  };

  KvBlocks(const Shape& shape, size_t n_blocks) : shape_(shape) {
    head_elements_ = kKvBlock * shape.head_dim;
    block_elements_ = shape.layers * 2 * shape.kv_heads * head_elements_;
    grow(n_blocks);
  }

  size_t size() const { return n_blocks_; }
  const Shape& shape() const { return shape_; }
  size_t block_bytes() const { return block_elements_ * kv_element_size(shape_.type); }

  // Grows to n_blocks, keeping the blocks' contents (their ids stay valid).
  // The memory is left unwritten: a position is stored before anything reads it, and an Engine's
  // pool of thousands of blocks costs resident memory only as sequences fill it.
  void grow(size_t n_blocks) {
    if (n_blocks <= n_blocks_) return;
    const size_t bytes = n_blocks * block_bytes();
    Buffer grown(AlignedAllocator<std::byte>().allocate(bytes), Free{bytes});
    if (n_blocks_) std::memcpy(grown.get(), data_.get(), n_blocks_ * block_bytes());
    data_ = std::move(grown);
    n_blocks_ = n_blocks;
  }

  // Layer li's keys (values = false) or values through a block table.
  KvView view(size_t li, bool values, std::span<const int32_t> table) const {
    return KvView{data_.get() + first_row(li, values) * kv_element_size(shape_.type), shape_.type, shape_.head_dim,
                  head_elements_, table.data(), block_elements_};
  }
  // Where (position t, kv head h) of layer li's keys or values is stored.
  std::byte* row(size_t li, bool values, std::span<const int32_t> table, size_t t, size_t h) {
    const size_t at = size_t(table[t / kKvBlock]) * block_elements_ + first_row(li, values) +
                      (t % kKvBlock) * shape_.head_dim + h * head_elements_;
    return data_.get() + at * kv_element_size(shape_.type);
  }

 private:
  size_t first_row(size_t li, bool values) const { return (li * 2 + (values ? 1 : 0)) * shape_.kv_heads * head_elements_; }

  struct Free {
    size_t bytes;
    void operator()(std::byte* p) const { AlignedAllocator<std::byte>().deallocate(p, bytes); }
  };
  using Buffer = std::unique_ptr<std::byte[], Free>;

  Shape shape_;
  size_t head_elements_ = 0, block_elements_ = 0, n_blocks_ = 0;
  Buffer data_{nullptr, Free{0}};
};

}  // namespace zest::detail
