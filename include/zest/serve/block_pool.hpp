// The batching engine's share-out of its KV blocks (zest/models/kv_cache.hpp): reference counts,
// a free list, and the prefix cache. A full block of a prompt is published under a key chained
// from its tokens and its predecessor's key (vLLM's automatic prefix caching), so a later
// prompt that starts with the same tokens takes the same blocks instead of recomputing them. A
// cached block nobody reads stays cached until a new block is needed and it is the least
// recently released one. A match compares the tokens and the predecessor too, so a hash
// collision can cost a cache miss, never a wrong prefix.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "zest/error.hpp"
#include "zest/kernels/attention.hpp"

namespace zest::detail {

class BlockPool {
 public:
  explicit BlockPool(size_t n_blocks) : blocks_(n_blocks) {
    for (size_t i = n_blocks; i-- > 0;) free_.push_back(int32_t(i));
  }

  size_t size() const { return blocks_.size(); }
  // Blocks a sequence could take now: free, or cached with no reader.
  size_t available() const { return free_.size() + idle_.size(); }
  size_t in_use() const { return size() - available(); }
  // Blocks holding a published prefix, read or not.
  size_t cached() const { return index_.size(); }

  // A block for new positions, with one reference; -1 when every block is in use.
  int32_t allocate() {
    int32_t id = -1;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else if (!idle_.empty()) {  // evict the least recently released cached block
      id = idle_.front();
      take_from_idle(id);
      index_.erase(blocks_[size_t(id)].key);
      blocks_[size_t(id)].published = false;
    } else {
      return -1;
    }
    blocks_[size_t(id)].refs = 1;
    return id;
  }

  // Drops one reference. A block nobody reads goes back to the free list, or, if it holds a
  // published prefix, to the end of the eviction order.
  void release(int32_t id) {
    Block& b = block(id);
    if (b.refs == 0) fail(Error::Kind::input, "BlockPool: block ", id, " released more often than taken");
    if (--b.refs > 0) return;
    if (b.published) b.idle_at = idle_.insert(idle_.end(), id), b.idle = true;
    else free_.push_back(id);
  }
  // Releases a sequence's blocks, last first: its later blocks are evicted before the earlier
  // ones that other prompts are likelier to share.
  void release_all(std::span<const int32_t> table) {
    for (size_t i = table.size(); i-- > 0;) release(table[i]);
  }

  // The cached blocks that hold `ids`' first full blocks, at most max_blocks of them, each with
  // a reference taken for the caller.
  std::vector<int32_t> match(std::span<const int32_t> ids, size_t max_blocks) {
    std::vector<int32_t> found;
    uint64_t key = kSeed;
    for (size_t i = 0; i < max_blocks && (i + 1) * kKvBlock <= ids.size(); ++i) {
      const auto tokens = ids.subspan(i * kKvBlock, kKvBlock);
      key = chain(key, tokens);
      const auto it = index_.find(key);
      if (it == index_.end()) break;
      Block& b = block(it->second);
      if (b.parent != (found.empty() ? -1 : found.back()) || !std::equal(tokens.begin(), tokens.end(), b.tokens.begin())) break;
      if (b.idle) take_from_idle(it->second);
      ++b.refs;
      found.push_back(it->second);
    }
    return found;
  }

  // Publishes block `id` as holding `tokens` (kKvBlock of them) right after block `parent` (-1:
  // at the start of a sequence), whose own publication must stand. A block whose prefix is
  // published already (another sequence computed the same one) stays private.
  void publish(int32_t id, int32_t parent, std::span<const int32_t> tokens) {
    Block& b = block(id);
    if (tokens.size() != kKvBlock) fail(Error::Kind::input, "BlockPool: a block holds ", kKvBlock, " positions, not ", tokens.size());
    if (b.published) return;
    if (parent >= 0 && !block(parent).published) return;
    const uint64_t key = chain(parent >= 0 ? block(parent).key : kSeed, tokens);
    if (!index_.emplace(key, id).second) return;
    b.published = true;
    b.key = key;
    b.parent = parent;
    b.tokens.assign(tokens.begin(), tokens.end());
  }

 private:
  struct Block {
    uint32_t refs = 0;
    bool published = false, idle = false;
    uint64_t key = 0;
    int32_t parent = -1;
    std::vector<int32_t> tokens;
    std::list<int32_t>::iterator idle_at;
  };
  static constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;

  Block& block(int32_t id) {
    if (id < 0 || size_t(id) >= blocks_.size()) fail(Error::Kind::input, "BlockPool: no block ", id, " in a pool of ", blocks_.size());
    return blocks_[size_t(id)];
  }

  void take_from_idle(int32_t id) {
    Block& b = blocks_[size_t(id)];
    idle_.erase(b.idle_at);
    b.idle = false;
  }

  // The key of a block of `tokens` after a block keyed `parent` (splitmix64's finalizer per token).
  static uint64_t chain(uint64_t parent, std::span<const int32_t> tokens) {
    uint64_t h = parent;
    for (int32_t t : tokens) {
      h ^= uint64_t(uint32_t(t)) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
      h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
      h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
      h ^= h >> 31;
    }
    return h;
  }

  std::vector<Block> blocks_;
  std::vector<int32_t> free_;
  std::list<int32_t> idle_;  // cached blocks with no reader, least recently released first
  std::unordered_map<uint64_t, int32_t> index_;
};

}  // namespace zest::detail
