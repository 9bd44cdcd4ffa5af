// Flat open-addressing hash maps for the hot look-ups: token string -> id, id pair -> (rank,
// id), and BPE's merge pair -> rank. Built once at load time, then read-only (safe to share between threads).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace zest::detail {

// The n (0 to 8) bytes at p, zero-padded to a word, with fixed-size loads only: a memcpy of
// variable size would leave the word to a slow store-to-load forward.
inline uint64_t load_padded(const char* p, size_t n) {
  uint64_t w = 0;
  if (n == 8) {
    std::memcpy(&w, p, 8);
  } else if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    w = lo | uint64_t(hi) << (8 * (n - 4));  // overlapping bytes agree
  } else if (n > 0) {
    const auto b = [&](size_t i) { return uint64_t(static_cast<unsigned char>(p[i])); };
    w = b(0) | b(n / 2) << (8 * (n / 2)) | b(n - 1) << (8 * (n - 1));
  }
  return w;
}

inline uint64_t hash_bytes(std::string_view s) {
  // FNV-1a over 8-byte words, then a final mix: one multiply per 8 bytes and one for the tail,
  // for the short strings of vocabularies (not measured against other hashes).
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  h = (h ^ load_padded(s.data() + i, s.size() - i)) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

// Whether the n bytes at a and b are equal, with fixed-size loads inline (the last ones
// overlapping): vocabulary strings are short, and a call to memcmp costs more than comparing
// (with load_padded for the hash's tail: gpt2's load 29 -> 24 ms of CPU on a loaded machine,
// commit c68a97f).
inline bool bytes_equal(const char* a, const char* b, size_t n) {
  const auto load8 = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (load8(a + i) != load8(b + i)) return false;
    return load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) {
    uint32_t x, y, u, v;
    std::memcpy(&x, a, 4), std::memcpy(&y, b, 4), std::memcpy(&u, a + n - 4, 4), std::memcpy(&v, b + n - 4, 4);
    return x == y && u == v;
  }
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

// string -> int32, keys kept in one arena. A Bloom filter of two bits per key (in one 64-bit
// word, 8 bits per slot) answers most look-ups of absent keys without touching the slots: the
// filter stays in the CPU's caches where the slots do not (WordPiece's longest-match search
// and BPE's whole-token check mostly ask for strings that are not tokens).
class StringMap {
 public:
  // Room for n keys without growing.
  void reserve(size_t n) {
    size_t size = 64;
    while (size * 3 <= n * 4) size *= 2;
    if (size > slots_.size()) rehash(size);
  }

  // Inserts or overwrites.
  void insert(std::string_view key, int32_t value) {
    if ((count_ + 1) * 4 >= slots_.size() * 3) grow();
    const uint64_t h = hash_bytes(key);
    Slot* s = &slots_[probe(key, h)];
    if (s->value == empty) {
      s->tag = uint32_t(h >> 32);
      mark(h);
      s->offset = uint32_t(arena_.size());
      s->length = uint32_t(key.size());
      arena_ += key;
      ++count_;
    }
    s->value = value;
  }

  // The value of key, or -1.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(key);
    if (!may_hold(h)) return -1;
    const Slot& s = slots_[probe(key, h)];
    return s.value == empty ? -1 : s.value;
  }

  size_t size() const { return count_; }

  template <typename F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.value != empty) f(std::string_view(arena_).substr(s.offset, s.length), s.value);
  }

 private:
  static constexpr int32_t empty = INT32_MIN;
  struct Slot {
    uint32_t offset = 0, length = 0;
    int32_t value = empty;
    uint32_t tag = 0;
  };

  // The filter's word and two bits for hash h: bits of h that neither the slot index (low)
  // nor the tag (high) uses, mixed.
  struct FilterBits {
    size_t word;
    uint64_t bits;
  };
  FilterBits filter_bits(uint64_t h) const {
    const uint64_t g = h * 0x9E3779B97F4A7C15ull;
    return {size_t(g >> 40) & (filter_.size() - 1), 1ull << (g >> 20 & 63) | 1ull << (g >> 26 & 63)};
  }
  void mark(uint64_t h) {
    const FilterBits f = filter_bits(h);
    filter_[f.word] |= f.bits;
  }
  bool may_hold(uint64_t h) const {
    const FilterBits f = filter_bits(h);
    return (filter_[f.word] & f.bits) == f.bits;
  }

  // The slot holding key (of hash h), or the empty slot where it would go. Reads only: find()
  // runs on many threads at once.
  size_t probe(std::string_view key, uint64_t h) const {
    const uint32_t tag = uint32_t(h >> 32);
    size_t i = h & (slots_.size() - 1);
    while (true) {
      const Slot& s = slots_[i];
      if (s.value == empty) return i;
      if (s.tag == tag && s.length == key.size() && bytes_equal(arena_.data() + s.offset, key.data(), key.size()))
        return i;
      i = (i + 1) & (slots_.size() - 1);
    }
  }

  void grow() { rehash(slots_.empty() ? 64 : slots_.size() * 2); }

  void rehash(size_t size) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    filter_.assign(size / 8, 0);  // 8 bits a slot; size is a power of two of 64 or more
    for (const auto& o : old) {
      if (o.value == empty) continue;
      const std::string_view key = std::string_view(arena_).substr(o.offset, o.length);
      const uint64_t h = hash_bytes(key);
      slots_[probe(key, h)] = o;
      mark(h);
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint64_t> filter_;  // the Bloom filter of the keys
  std::string arena_;
  size_t count_ = 0;
};

// (id, id) -> (rank, merged id).
class PairMap {
 public:
  struct Value {
    int32_t rank = -1, id = -1;
  };

  void reserve(size_t n) {
    size_t size = 64;
    while (size * 3 < n * 4 + 4) size *= 2;
    slots_.assign(size, Slot{});
  }

  // Inserts or overwrites (HF's merge map keeps the last duplicate).
  void insert(int32_t a, int32_t b, Value v) {
    if ((count_ + 1) * 4 >= slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    const uint64_t key = pack(a, b);
    size_t i = mix64(key) & (slots_.size() - 1);
    while (slots_[i].value.rank >= 0) {
      if (slots_[i].key == key) {
        slots_[i].value = v;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = {key, v};
    ++count_;
  }

  Value find(int32_t a, int32_t b) const {
    if (slots_.empty()) return {};
    const uint64_t key = pack(a, b);
    size_t i = mix64(key) & (slots_.size() - 1);
    while (slots_[i].value.rank >= 0) {
      if (slots_[i].key == key) return slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    return {};
  }

 private:
  struct Slot {
    uint64_t key = 0;
    Value value;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }
  void rehash(size_t size) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    count_ = 0;
    for (const auto& s : old)
      if (s.value.rank >= 0) insert(int32_t(s.key >> 32), int32_t(s.key & 0xffffffff), s.value);
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

// BPE's merges: (left id, right id) -> rank, a slot in 8 bytes, so that GPT-2's 50k merges
// take 1 MiB and mostly stay in the CPU's caches (the merge loop waits on these look-ups).
class MergeMap {
 public:
  MergeMap() { reserve(0); }

  static constexpr int id_bits = 21, rank_bits = 64 - 2 * id_bits;
  static constexpr size_t max_ids = size_t{1} << id_bits, max_ranks = (size_t{1} << rank_bits) - 1;

  // Room for n merges at most 40% full: short probes, also for the many pairs that are absent.
  void reserve(size_t n) {
    shift_ = 64 - 6;
    while ((size_t{1} << (64 - shift_)) * 2 < n * 5) --shift_;
    slots_.assign(size_t{1} << (64 - shift_), 0);
  }

  // Inserts or overwrites (HF's merge map keeps the last duplicate). Ids below max_ids, ranks
  // below max_ranks, and reserve() called for all the merges.
  void insert(int32_t a, int32_t b, int32_t rank) {
    const uint64_t key = pack(a, b);
    size_t i = home(key);
    while (slots_[i] != 0 && slots_[i] >> rank_bits != key) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = key << rank_bits | (uint64_t(rank) + 1);
  }

  // The rank of merging a and b, or -1.
  int32_t find(int32_t a, int32_t b) const {
    const uint64_t key = pack(a, b);
    for (size_t i = home(key);; i = (i + 1) & (slots_.size() - 1)) {
      const uint64_t s = slots_[i];
      if (s == 0) return -1;
      if (s >> rank_bits == key) return int32_t(s & ((uint64_t{1} << rank_bits) - 1)) - 1;
    }
  }

 private:
  static uint64_t pack(int32_t a, int32_t b) {
    return uint64_t(uint32_t(a)) << id_bits | uint32_t(b);
  }
  size_t home(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  std::vector<uint64_t> slots_;  // key << rank_bits | (rank + 1); 0: empty
  int shift_ = 64;
};

}  // namespace zest::detail
