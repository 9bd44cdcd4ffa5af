// The word cache: pre-tokenized word -> its tokens, bounded, shared by threads. A hit costs one
// hash and one look at a 4-way set of cache-line-sized slots under that shard's lock; eviction
// is CLOCK within the set (each slot's "recently used" bit), an approximation of LRU.
// Words up to 24 bytes with up to 8 tokens are cached: almost all words of natural text.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <string_view>
#include <vector>

#include "zest/tokenizer/model.hpp"

namespace zest::detail {

// A spin lock: the critical sections here are a few dozen instructions.
class SpinLock {
 public:
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire))
      while (flag_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

class WordCache {
 public:
  static constexpr std::size_t max_key = 24, max_tokens = 8, ways = 4, shards = 16;

  explicit WordCache(std::size_t capacity) { set_capacity(capacity); }

  // Capacity in words (rounded up to a power of two per shard; 0 turns the cache off).
  // Not thread-safe: call before sharing the tokenizer.
  void set_capacity(std::size_t capacity) {
    sets_per_shard_ = 0;
    if (capacity == 0) {
      for (auto& s : shards_) s.slots.reset();
      return;
    }
    std::size_t sets = 1;
    while (sets * ways * shards < capacity) sets *= 2;
    sets_per_shard_ = sets;
    for (auto& s : shards_) s.slots = std::make_unique<Slot[]>(sets * ways);
  }
  std::size_t capacity() const { return sets_per_shard_ * ways * shards; }
  bool enabled() const { return sets_per_shard_ > 0; }

  static bool cacheable(std::string_view word) { return word.size() <= max_key && !word.empty(); }

  // Starts loading the set of hash into the CPU cache: lookups of a line's words overlap.
  void prefetch(std::uint64_t hash) const {
    if (!enabled()) return;
    const Slot* set = &shards_[hash & (shards - 1)].slots[((hash >> 4) & (sets_per_shard_ - 1)) * ways];
    __builtin_prefetch(set);
    __builtin_prefetch(set + 2);
  }

  // Appends the cached tokens of word and returns true, or returns false. Out is a vector of
  // Token, or of ids alone.
  template <typename Out>
  bool get(std::string_view word, std::uint64_t hash, Out& out) {
    Shard& sh = shards_[hash & (shards - 1)];
    Slot* set = &sh.slots[((hash >> 4) & (sets_per_shard_ - 1)) * ways];
    const auto check = static_cast<std::uint32_t>(hash >> 32);
    std::lock_guard lock(sh.mutex);
    for (std::size_t w = 0; w < ways; ++w) {
      Slot& s = set[w];
      if (s.check == check && s.key_len == word.size() && s.count > 0 && std::memcmp(s.key, word.data(), word.size()) == 0) {
        s.recent = 1;
        if constexpr (std::is_same_v<typename Out::value_type, Token>) {
          std::uint32_t begin = 0;
          for (std::size_t k = 0; k < s.count; ++k) {
            const std::uint32_t end = s.tokens[k] >> 24;
            out.push_back({static_cast<std::int32_t>(s.tokens[k] & 0xFFFFFF), begin, end});
            begin = end;
          }
        } else {
          for (std::size_t k = 0; k < s.count; ++k) out.push_back(static_cast<std::int32_t>(s.tokens[k] & 0xFFFFFF));
        }
        return true;
      }
    }
    return false;
  }

  // Stores the tokens of word if they fit (contiguous from 0, ends < 256, ids < 2^24). The
  // tokens' offsets may be in another spelling of the word (ByteLevel's) than the key.
  void put(std::string_view word, std::uint64_t hash, const Token* tokens, std::size_t count) {
    if (count == 0 || count > max_tokens || !cacheable(word)) return;
    std::uint32_t packed[max_tokens];
    std::uint32_t at = 0;
    for (std::size_t k = 0; k < count; ++k) {
      if (tokens[k].begin != at || tokens[k].end > 255 || tokens[k].id < 0 || tokens[k].id >= (1 << 24)) return;
      packed[k] = static_cast<std::uint32_t>(tokens[k].id) | (tokens[k].end << 24);
      at = tokens[k].end;
    }
    Shard& sh = shards_[hash & (shards - 1)];
    Slot* set = &sh.slots[((hash >> 4) & (sets_per_shard_ - 1)) * ways];
    std::lock_guard lock(sh.mutex);
    // An empty slot, else the first one not used since the hand last passed (CLOCK).
    Slot* victim = nullptr;
    for (std::size_t w = 0; w < ways && !victim; ++w)
      if (set[w].count == 0) victim = &set[w];
    while (!victim) {
      Slot& s = set[sh.hand++ % ways];
      if (s.recent) s.recent = 0;
      else victim = &s;
    }
    victim->check = static_cast<std::uint32_t>(hash >> 32);
    victim->key_len = static_cast<std::uint8_t>(word.size());
    victim->count = static_cast<std::uint8_t>(count);
    victim->recent = 1;
    std::memcpy(victim->key, word.data(), word.size());
    std::memcpy(victim->tokens, packed, count * sizeof(std::uint32_t));
  }

 private:
  struct alignas(64) Slot {
    std::uint32_t check = 0;
    std::uint8_t key_len = 0, count = 0, recent = 0;
    char key[max_key] = {};
    std::uint32_t tokens[max_tokens] = {};  // id | end << 24
  };
  static_assert(sizeof(Slot) == 64);

  struct alignas(64) Shard {
    SpinLock mutex;
    std::unique_ptr<Slot[]> slots;
    std::size_t hand = 0;
  };

  std::size_t sets_per_shard_ = 0;
  Shard shards_[shards];
};

}  // namespace zest::detail
