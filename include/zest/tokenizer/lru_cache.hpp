// The word cache: pre-tokenized word -> its tokens, bounded, shared by threads without locks.
// A word maps to a 4-way set of 64-byte slots (key and tokens in one cache line each) with one
// byte of "used since the last eviction" bits per set: eviction takes a way not used lately
// (NRU, an approximation of LRU). Four ways, not two: with two, the rare words of brown.txt
// that share a set keep evicting each other, and their BPE costs more than the extra lines.
// A hit costs one hash, a look at up to four adjacent cache lines and no write (a used bit is
// written only when it changes). Each slot is a seqlock: a reader that races a writer sees a
// miss; a writer that finds the slot busy skips the insert. Words up to 24 bytes with up to 8
// tokens are cached: almost all words of natural text.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

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
  std::uint64_t words[3] = {};
  std::uint64_t hash = 0;
  std::uint8_t size = 0;

  static constexpr std::size_t max_size = 24;
  static bool fits(std::string_view word) { return !word.empty() && word.size() <= max_size; }

  CacheKey() = default;  // size 0: a word that is not cached
  // word: at most max_size bytes.
  explicit CacheKey(std::string_view word) : size(static_cast<std::uint8_t>(word.size())) {
    const char* p = word.data();
    const std::size_t n = word.size();
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    // One masked load, no branch on the length (bytes past the word are neither read nor faulted).
    const __m256i bytes = _mm256_maskz_loadu_epi8(static_cast<__mmask32>((1u << n) - 1), p);
    words[0] = static_cast<std::uint64_t>(_mm256_extract_epi64(bytes, 0));
    words[1] = static_cast<std::uint64_t>(_mm256_extract_epi64(bytes, 1));
    words[2] = static_cast<std::uint64_t>(_mm256_extract_epi64(bytes, 2));
#else
    for (std::size_t k = 0; k * 8 < n; ++k) words[k] = load_padded(p + k * 8, std::min<std::size_t>(8, n - k * 8));
#endif
    std::uint64_t h = 0x9E3779B97F4A7C15ull * (size + 1);
    for (std::uint64_t w : words) h = (h ^ w) * 0xff51afd7ed558ccdull, h ^= h >> 32;
    hash = h;
  }
};

class WordCache {
 public:
  static constexpr std::size_t max_tokens = 8, ways = 4;

  explicit WordCache(std::size_t capacity) { set_capacity(capacity); }

  // Capacity in words (rounded up to a power of two; 0 turns the cache off).
  // Not thread-safe: call before sharing the tokenizer.
  void set_capacity(std::size_t capacity) {
    sets_ = 0;
    memory_.reset();
    if (capacity == 0) return;
    std::size_t sets = 1;
    while (sets * ways < capacity) sets *= 2;
    // calloc: zeroed memory that a large allocation gets from the kernel untouched, so pages
    // cost their first fault only once a word lands on them, not all at load time. Slots of a
    // huge page or more start on one and ask for transparent huge pages: words land all over
    // the slots, and with 4 KiB pages each look-up would also miss the TLB (and the first
    // ones fault in a page each).
    const std::size_t slot_bytes = sets * ways * sizeof(Slot);
    const std::size_t align = slot_bytes >= huge_page ? huge_page : alignof(Slot);
    memory_.reset(std::calloc(slot_bytes + sets + align, 1));
    if (!memory_) throw std::bad_alloc();
    const auto at = (reinterpret_cast<std::uintptr_t>(memory_.get()) + align - 1) & ~(align - 1);
#if defined(__linux__)
    if (align == huge_page) madvise(reinterpret_cast<void*>(at), slot_bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    slots_ = reinterpret_cast<Slot*>(at);
    used_ = reinterpret_cast<std::uint8_t*>(at + slot_bytes);
    sets_ = sets;
  }
  std::size_t capacity() const { return sets_ * ways; }
  bool enabled() const { return sets_ > 0; }

  static bool cacheable(std::string_view word) { return CacheKey::fits(word); }

  // Starts loading the set of key into the CPU cache: lookups of a line's words overlap. Its
  // first line only (ways 0 and 1 with the adjacent line): a set fills from way 0, and a
  // prefetch of the second half too kept the line fill buffers full for ways seldom used.
  void prefetch(const CacheKey& key) const {
    if (!enabled()) return;
    const Slot* set = set_of(key);
    __builtin_prefetch(set);
    __builtin_prefetch(&used_[key.hash & (sets_ - 1)]);
  }

  // Appends the cached tokens of the word and returns true, or returns false. Out is a vector
  // of Token, or of ids alone.
  template <typename Out>
  bool get(const CacheKey& key, Out& out) const {
    Slot* set = set_of(key);
    const std::uint64_t tag = head_of(key, 0);
    for (std::size_t w = 0; w < ways; ++w) {
      Slot::Copy c;
      if (!set[w].read(tag, c) || c.key[0] != key.words[0] || c.key[1] != key.words[1] || c.key[2] != key.words[2]) continue;
      std::atomic_ref<std::uint8_t> used(used_[key.hash & (sets_ - 1)]);
      const auto bits = used.load(std::memory_order_relaxed);
      if (!(bits >> w & 1)) used.store(static_cast<std::uint8_t>(bits | 1u << w), std::memory_order_relaxed);
      std::uint32_t begin = 0;
      for (std::size_t k = 0; k < c.count(); ++k) {
        const std::uint32_t t = c.tokens[k];
        if constexpr (std::is_same_v<typename Out::value_type, Token>) {
          out.push_back({static_cast<std::int32_t>(t & 0xFFFFFF), begin, t >> 24});
          begin = t >> 24;
        } else {
          out.push_back(static_cast<std::int32_t>(t & 0xFFFFFF));
        }
      }
      return true;
    }
    return false;
  }

  // Stores the tokens of the word if they fit (contiguous from 0, ends < 256, ids < 2^24),
  // in place of an empty slot of the set, else one not used since the last eviction. The
  // tokens' offsets may be in another spelling of the word (ByteLevel's) than the key.
  void put(const CacheKey& key, const Token* tokens, std::size_t count) const {
    if (count == 0 || count > max_tokens || key.size == 0) return;
    Slot::Copy c{};
    std::uint32_t at = 0;
    for (std::size_t k = 0; k < count; ++k) {
      if (tokens[k].begin != at || tokens[k].end > 255 || tokens[k].id < 0 || tokens[k].id >= (1 << 24)) return;
      c.tokens[k] = static_cast<std::uint32_t>(tokens[k].id) | (tokens[k].end << 24);
      at = tokens[k].end;
    }
    c.head = head_of(key, count);
    std::memcpy(c.key, key.words, sizeof c.key);
    Slot* set = set_of(key);
    std::atomic_ref<std::uint8_t> used(used_[key.hash & (sets_ - 1)]);
    unsigned bits = used.load(std::memory_order_relaxed);
    if (bits == (1u << ways) - 1) bits = 0;  // all used lately: start a new round
    std::size_t victim = 0;
    while (victim < ways && (bits >> victim & 1)) ++victim;
    for (std::size_t w = 0; w < ways; ++w)
      if (set[w].empty()) {
        victim = w;
        break;
      }
    if (set[victim].write(c)) used.store(static_cast<std::uint8_t>(bits | 1u << victim), std::memory_order_relaxed);
  }

 private:
  // One cached word as 8 words, read and written atomically: head (seqlock counter << 48 |
  // count << 40 | size << 32 | hash check), the key's 3 words, the tokens (id | end << 24) two
  // to a word.
  struct alignas(64) Slot {
    struct Copy {
      std::uint64_t head;
      std::uint64_t key[3];
      std::uint32_t tokens[max_tokens];
      std::size_t count() const { return (head >> 40) & 0xFF; }
    };

    // A consistent copy of a word whose head has this tag (see head_of), or false when it has
    // another, is empty or is being written. The tag is checked first: most ways of a set hold
    // other words, and their keys and tokens are not copied.
    bool read(std::uint64_t tag, Copy& c) {
      const std::uint64_t seq = word(0).load(std::memory_order_acquire);
      if ((seq & (odd | tag_bits)) != tag) return false;
      c.head = seq & content;
      // Acquire loads, not a fence (which TSan does not model): the check of seq below cannot
      // move before them, and one that reads a writer's release store sees that writer's seq.
      for (int k = 0; k < 3; ++k) c.key[k] = word(1 + k).load(std::memory_order_acquire);
      for (int k = 0; k < 4; ++k) {
        const std::uint64_t t = word(4 + k).load(std::memory_order_acquire);
        c.tokens[2 * k] = static_cast<std::uint32_t>(t), c.tokens[2 * k + 1] = static_cast<std::uint32_t>(t >> 32);
      }
      return word(0).load(std::memory_order_relaxed) == seq;
    }

    bool empty() { return (word(0).load(std::memory_order_relaxed) & content) == 0; }

    // Replaces the content, or returns false when another writer has the slot.
    bool write(const Copy& c) {
      std::uint64_t seq = word(0).load(std::memory_order_relaxed);
      if ((seq & odd) || !word(0).compare_exchange_strong(seq, seq | odd, std::memory_order_acquire)) return false;
      for (int k = 0; k < 3; ++k) word(1 + k).store(c.key[k], std::memory_order_release);  // see read()
      for (int k = 0; k < 4; ++k)
        word(4 + k).store(c.tokens[2 * k] | static_cast<std::uint64_t>(c.tokens[2 * k + 1]) << 32, std::memory_order_release);
      word(0).store(((seq & ~content) + 2 * odd) | c.head, std::memory_order_release);  // counter + 1, even
      return true;
    }

    std::atomic_ref<std::uint64_t> word(int k) { return std::atomic_ref<std::uint64_t>(words[k]); }

    static constexpr std::uint64_t odd = 1ull << 48, content = odd - 1;  // the counter is the top 16 bits
    static constexpr std::uint64_t tag_bits = (1ull << 40) - 1;          // key size and hash check
    std::uint64_t words[8];  // only through atomic_ref
  };
  static_assert(sizeof(Slot) == 64);

  // The head's low 48 bits: token count, key size and a hash check (never 0: size >= 1); with
  // count 0, the tag that read() compares.
  static std::uint64_t head_of(const CacheKey& key, std::size_t count) {
    return static_cast<std::uint64_t>(count) << 40 | static_cast<std::uint64_t>(key.size) << 32 | (key.hash >> 32);
  }

  Slot* set_of(const CacheKey& key) const { return slots_ + (key.hash & (sets_ - 1)) * ways; }

  static constexpr std::size_t huge_page = std::size_t{2} << 20;
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::size_t sets_ = 0;
  std::unique_ptr<void, Free> memory_;  // the slots, then used_
  Slot* slots_ = nullptr;
  std::uint8_t* used_ = nullptr;  // per set: bit w set when way w was used since the last eviction (through atomic_ref)
};

}  // namespace zest::detail
