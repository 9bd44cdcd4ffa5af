// The word cache on its own: words of every size and id count it takes come back as stored
// (short slots, the long table behind a marker, the long table alone), ids of 0 and of 21 bits
// too; what does not fit is a miss, never a wrong answer; eviction keeps the last word.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "zest/tokenizer/word_cache.hpp"

namespace {

using zest::detail::CacheKey;
using zest::detail::Token;
using zest::detail::WordCache;

std::vector<Token> tokens_of(const std::vector<int32_t>& ids) {
  std::vector<Token> t;
  for (size_t k = 0; k < ids.size(); ++k) t.push_back({ids[k], uint32_t(k), uint32_t(k + 1)});
  return t;
}

// The ids the cache gives for word after storing ids, or {-1} for a miss.
std::vector<int32_t> round_trip(const WordCache& cache, const std::string& word, const std::vector<int32_t>& ids) {
  const CacheKey key(word);
  const auto tokens = tokens_of(ids);
  cache.put(key, tokens.data(), tokens.size());
  std::vector<int32_t> out;
  return cache.get(key, out) ? out : std::vector<int32_t>{-1};
}

}  // namespace

TEST_CASE("the word cache gives back what it stored, and misses what does not fit") {
  const WordCache cache(1024);
  const std::vector<int32_t> twelve = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, (1 << 21) - 1};
  CHECK(round_trip(cache, " the", {262}) == std::vector<int32_t>{262});
  CHECK(round_trip(cache, "zero", {0, 0, 0}) == std::vector<int32_t>{0, 0, 0});           // 3 ids: a short slot
  CHECK(round_trip(cache, "sixteen-bytes-ab", {5, 6, 7, 8}) == std::vector<int32_t>{5, 6, 7, 8});  // 4 ids: the long table
  CHECK(round_trip(cache, "seventeen-bytes-a", {9}) == std::vector<int32_t>{9});            // over 16 bytes: long alone
  CHECK(round_trip(cache, std::string(24, 'x'), twelve) == twelve);
  CHECK(round_trip(cache, std::string(24, 'y'), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}) == std::vector<int32_t>{-1});
  CHECK(round_trip(cache, "big", {1 << 21}) == std::vector<int32_t>{-1});  // ids of 21 bits at most
  // Words that differ only past the first 8 bytes, or by a trailing zero byte, are different words.
  CHECK(round_trip(cache, "abcdefgh1", {1}) == std::vector<int32_t>{1});
  CHECK(round_trip(cache, "abcdefgh2", {2}) == std::vector<int32_t>{2});
  CHECK(round_trip(cache, std::string("ab\0", 3), {3}) == std::vector<int32_t>{3});
  std::vector<int32_t> out;
  CHECK(cache.get(CacheKey("abcdefgh1"), out));
  CHECK(out == std::vector<int32_t>{1});
  CHECK(cache.get(CacheKey("ab"), out) == false);
}

TEST_CASE("a full word cache evicts, and the newest word is found") {
  const WordCache cache(8);  // 2 sets of 4: most words evict another
  for (int i = 0; i < 200; ++i) {
    const std::string word = "w" + std::to_string(i);
    CHECK(round_trip(cache, word, {i, i + 1}) == std::vector<int32_t>{i, i + 1});
  }
  const WordCache off(0);
  CHECK(!off.enabled());
}
