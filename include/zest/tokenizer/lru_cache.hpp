// A bounded, thread-safe LRU map from a pre-tokenized word to its tokens: sharded by hash, one
// mutex per shard, so that threads encoding with one Tokenizer rarely wait for each other.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zest/tokenizer/hash_maps.hpp"
#include "zest/tokenizer/model.hpp"

namespace zest::detail {

class WordCache {
 public:
  static constexpr std::size_t shards = 16;

  explicit WordCache(std::size_t capacity) { set_capacity(capacity); }

  // Not thread-safe: call before sharing.
  void set_capacity(std::size_t capacity) {
    per_shard_ = (capacity + shards - 1) / shards;
    for (auto& s : shards_) {
      s.map.clear();
      s.order.clear();
    }
  }
  std::size_t capacity() const { return per_shard_ * shards; }
  bool enabled() const { return per_shard_ > 0; }

  // Appends the cached tokens of word to out and returns true, or returns false.
  bool get(std::string_view word, std::uint64_t hash, std::vector<Token>& out) {
    Shard& s = shard(hash);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(Key{word, hash});
    if (it == s.map.end()) return false;
    s.order.splice(s.order.begin(), s.order, it->second);
    const auto& tokens = it->second->tokens;
    out.insert(out.end(), tokens.begin(), tokens.end());
    return true;
  }

  void put(std::string_view word, std::uint64_t hash, const Token* tokens, std::size_t count) {
    Shard& s = shard(hash);
    std::lock_guard lock(s.mutex);
    if (s.map.find(Key{word, hash}) != s.map.end()) return;
    if (s.map.size() >= per_shard_) {
      const Entry& last = s.order.back();
      s.map.erase(Key{last.word, last.hash});
      s.order.pop_back();
    }
    s.order.push_front(Entry{std::string(word), hash, std::vector<Token>(tokens, tokens + count)});
    const Entry& e = s.order.front();
    s.map.emplace(Key{e.word, hash}, s.order.begin());
  }

 private:
  struct Entry {
    std::string word;
    std::uint64_t hash;
    std::vector<Token> tokens;
  };
  struct Key {
    std::string_view word;
    std::uint64_t hash;
    bool operator==(const Key& o) const { return hash == o.hash && word == o.word; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return static_cast<std::size_t>(k.hash); }
  };
  struct Shard {
    std::mutex mutex;
    std::list<Entry> order;  // most recent first
    std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> map;
  };

  Shard& shard(std::uint64_t hash) { return shards_[(hash >> 59) & (shards - 1)]; }

  std::size_t per_shard_ = 0;
  std::array<Shard, shards> shards_;
};

}  // namespace zest::detail
