// The word cache: pre-tokenized word -> its token ids, bounded, shared by threads without locks.
// Two set-associative tables of slots that hold a key and its ids in one piece: a short one of
// 32-byte slots (words up to 16 bytes, up to 3 ids: almost every word of natural text) and a
// long one of 64-byte slots (up to 24 bytes and 12 ids). A short word with more ids leaves a
// marker in the short table, so that a short word missing there is missing: a miss looks at one
// table. A set is 4 ways, 128 bytes of short slots (a pair of cache lines, which the CPU fetches
// together); a byte per set of "used since the last eviction" bits picks the victim (NRU, an
// approximation of LRU). A hit costs one hash, a look at the set and no write (a used bit is
// written only when it changes). Each slot is a seqlock: a reader that races a writer sees a
// miss; a writer that finds the slot busy skips the insert. Ids only: offsets take the model.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

#include "zest/tokenizer/hash_maps.hpp"
#include "zest/tokenizer/model.hpp"

namespace zest::detail {

// A word as the cache compares it: its bytes zero-padded to 24, and their hash.
struct CacheKey {
  uint64_t words[3] = {};
  uint64_t hash = 0;
  uint8_t size = 0;

  static constexpr size_t max_size = 24;
  static bool fits(std::string_view word) { return !word.empty() && word.size() <= max_size; }

  CacheKey() = default;  // size 0: a word that is not cached
  // word: at most max_size bytes.
  explicit CacheKey(std::string_view word) : size(uint8_t(word.size())) {
    const char* p = word.data();
    const size_t n = word.size();
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    // One masked load, no branch on the length (bytes past the word are neither read nor faulted).
    const __m256i bytes = _mm256_maskz_loadu_epi8(__mmask32((1u << n) - 1), p);
    words[0] = uint64_t(_mm256_extract_epi64(bytes, 0));
    words[1] = uint64_t(_mm256_extract_epi64(bytes, 1));
    words[2] = uint64_t(_mm256_extract_epi64(bytes, 2));
#else
    for (size_t k = 0; k * 8 < n; ++k) words[k] = load_padded(p + k * 8, std::min<size_t>(8, n - k * 8));
#endif
    uint64_t h = 0x9E3779B97F4A7C15ull * (size + 1);
    for (uint64_t w : words) h = (h ^ w) * 0xff51afd7ed558ccdull, h ^= h >> 32;
    hash = h;
  }
};

// One table of the cache: sets of 4 slots of a head word, KeyWords words of key and IdWords
// words of ids (3 of 21 bits each).
template <size_t KeyWords, size_t IdWords>
class CacheTable {
 public:
  static constexpr size_t ways = 4, key_bytes = 8 * KeyWords, max_ids = 3 * IdWords;
  static constexpr int32_t id_bound = 1 << 21;

  // Room for capacity words (rounded up to a power of two; 0: none).
  void allocate(size_t capacity) {
    sets_ = 0;
    memory_.reset();
    if (capacity == 0) return;
    size_t sets = 1;
    while (sets * ways < capacity) sets *= 2;
    // Slots of a huge page or more start on one and ask for transparent huge pages: words land
    // all over the slots, and with 4 KiB pages each look-up would also miss the TLB. The memory
    // is zeroed here, so its pages take their first faults at load: faults while encoding cost
    // more, as threads that share the cache take them together (2 threads over brown.txt from
    // an empty cache: +18% with the pages touched here, for 2 ms more of gpt2's load).
    const size_t slot_bytes = sets * ways * sizeof(Slot);
    const size_t align = slot_bytes >= huge_page ? huge_page : sizeof(Slot) * ways;
    memory_.reset(std::malloc(slot_bytes + sets + align));
    if (!memory_) throw std::bad_alloc();
    const auto at = (reinterpret_cast<std::uintptr_t>(memory_.get()) + align - 1) & ~(align - 1);
#if defined(__linux__)
    if (align == huge_page) madvise(reinterpret_cast<void*>(at), slot_bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    std::memset(reinterpret_cast<void*>(at), 0, slot_bytes + sets);
    slots_ = reinterpret_cast<Slot*>(at);
    used_ = reinterpret_cast<uint8_t*>(at + slot_bytes);
    sets_ = sets;
  }
  size_t capacity() const { return sets_ * ways; }

  // Starts loading the set of key into the CPU cache: look-ups of a line's words overlap.
  void prefetch(const CacheKey& key) const {
    __builtin_prefetch(set_of(key));
  }

  // Appends the ids of the word and returns how many (0: a marker), or returns -1.
  template <typename Out>
  int get(const CacheKey& key, Out& out) const {
    Slot* set = set_of(key);
    const uint64_t tag = tag_of(key);
    for (size_t w = 0; w < ways; ++w) {
      uint64_t ids[IdWords];
      const int count = set[w].read(tag, key, ids);
      if (count < 0) continue;
      std::atomic_ref<uint8_t> used(used_[key.hash & (sets_ - 1)]);
      const auto bits = used.load(std::memory_order_relaxed);
      if (!(bits >> w & 1)) used.store(uint8_t(bits | 1u << w), std::memory_order_relaxed);
      for (int k = 0; k < count; ++k) out.push_back(int32_t(ids[k / 3] >> (21 * (k % 3)) & (id_bound - 1)));
      return count;
    }
    return -1;
  }

  // Stores the ids of the tokens (count 0: a marker) if they fit, in place of an empty slot of
  // the set, else one not used since the last eviction.
  void put(const CacheKey& key, const Token* tokens, size_t count) const {
    if (count > max_ids || key.size == 0 || key.size > key_bytes) return;
    uint64_t c[Slot::size] = {tag_of(key) | uint64_t(count) << 40};
    std::memcpy(c + 1, key.words, key_bytes);
    for (size_t k = 0; k < count; ++k) {
      if (tokens[k].id < 0 || tokens[k].id >= id_bound) return;
      c[1 + KeyWords + k / 3] |= uint64_t(tokens[k].id) << (21 * (k % 3));
    }
    Slot* set = set_of(key);
    std::atomic_ref<uint8_t> used(used_[key.hash & (sets_ - 1)]);
    unsigned bits = used.load(std::memory_order_relaxed);
    if (bits == (1u << ways) - 1) bits = 0;  // all used lately: start a new round
    size_t victim = 0;
    while (victim < ways && (bits >> victim & 1)) ++victim;
    for (size_t w = 0; w < ways; ++w)
      if (set[w].empty()) {
        victim = w;
        break;
      }
    if (set[victim].write(c)) used.store(uint8_t(bits | 1u << victim), std::memory_order_relaxed);
  }

 private:
  // Words read and written atomically: head (seqlock counter << 48 | count << 40 | key size
  // << 32 | hash check), the key, the ids.
  struct alignas(8 * (1 + KeyWords + IdWords)) Slot {
    static constexpr size_t size = 1 + KeyWords + IdWords;

    // The id count of key when the slot holds it (its ids copied out), else -1, also when it is
    // being written. The tag is checked first: most ways of a set hold other words.
    int read(uint64_t tag, const CacheKey& key, uint64_t* ids) {
      const uint64_t seq = word(0).load(std::memory_order_acquire);
      if ((seq & (odd | tag_bits)) != tag) return -1;
      // Acquire loads, not a fence (which TSan does not model): the check of seq below cannot
      // move before them, and one that reads a writer's release store sees that writer's seq.
      bool same = true;
      for (size_t k = 0; k < KeyWords; ++k) same &= word(1 + k).load(std::memory_order_acquire) == key.words[k];
      for (size_t k = 0; k < IdWords; ++k) ids[k] = word(1 + KeyWords + k).load(std::memory_order_acquire);
      if (!same || word(0).load(std::memory_order_relaxed) != seq) return -1;
      return int(seq >> 40 & 0xFF);
    }

    bool empty() { return (word(0).load(std::memory_order_relaxed) & content) == 0; }

    // Replaces the content, or returns false when another writer has the slot.
    bool write(const uint64_t* c) {
      uint64_t seq = word(0).load(std::memory_order_relaxed);
      if ((seq & odd) || !word(0).compare_exchange_strong(seq, seq | odd, std::memory_order_acquire)) return false;
      for (size_t k = 1; k < size; ++k) word(k).store(c[k], std::memory_order_release);  // see read()
      word(0).store(((seq & ~content) + 2 * odd) | c[0], std::memory_order_release);          // counter + 1, even
      return true;
    }

    std::atomic_ref<uint64_t> word(size_t k) { return std::atomic_ref<uint64_t>(words[k]); }

    static constexpr uint64_t odd = 1ull << 48, content = odd - 1;  // the counter is the top 16 bits
    static constexpr uint64_t tag_bits = (1ull << 40) - 1;          // key size and hash check
    uint64_t words[size];  // only through atomic_ref
  };

  // The head's key size and hash check (never 0: size >= 1): what read() compares.
  static uint64_t tag_of(const CacheKey& key) {
    return uint64_t(key.size) << 32 | (key.hash >> 32);
  }

  Slot* set_of(const CacheKey& key) const { return slots_ + (key.hash & (sets_ - 1)) * ways; }

  static constexpr size_t huge_page = size_t{2} << 20;
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  size_t sets_ = 0;
  std::unique_ptr<void, Free> memory_;  // the slots, then used_
  Slot* slots_ = nullptr;
  uint8_t* used_ = nullptr;  // per set: bit w set when way w was used since the last eviction (through atomic_ref)
};

class WordCache {
 public:
  explicit WordCache(size_t capacity) { set_capacity(capacity); }

  // Capacity in words of the short table (rounded up to a power of two; 0 turns the cache
  // off); the long one has an eighth. Not thread-safe: call before sharing the tokenizer.
  void set_capacity(size_t capacity) {
    short_.allocate(capacity);
    long_.allocate(capacity == 0 ? 0 : std::max<size_t>(capacity / 8, Long::ways));
  }
  size_t capacity() const { return short_.capacity(); }
  bool enabled() const { return short_.capacity() > 0; }

  static bool cacheable(std::string_view word) { return CacheKey::fits(word); }

  void prefetch(const CacheKey& key) const {
    if (key.size <= Short::key_bytes) short_.prefetch(key);
    else long_.prefetch(key);
  }

  // Appends the cached ids of the word and returns true, or returns false. Out: a vector of ids.
  template <typename Out>
  bool get(const CacheKey& key, Out& out) const {
    if (key.size <= Short::key_bytes)
      if (const int n = short_.get(key, out); n != 0) return n > 0;  // else a marker: in the long table
    return long_.get(key, out) > 0;
  }

  // Stores the ids of the word's tokens when they fit.
  void put(const CacheKey& key, const Token* tokens, size_t count) const {
    if (count == 0 || count > Long::max_ids || key.size == 0) return;
    if (key.size <= Short::key_bytes) {
      if (count <= Short::max_ids) return short_.put(key, tokens, count);
      short_.put(key, tokens, 0);
    }
    long_.put(key, tokens, count);
  }

 private:
  using Short = CacheTable<2, 1>;
  using Long = CacheTable<3, 4>;
  Short short_;
  Long long_;
};

}  // namespace zest::detail
