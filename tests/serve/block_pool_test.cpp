// The engine's block accounting: reference counts, the free list, and the prefix cache's
// publish / match / least-recently-released eviction.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "zest/serve/block_pool.hpp"

namespace {

using zest::detail::BlockPool;
using zest::detail::kKvBlock;

// n blocks' worth of tokens, starting at `first`.
std::vector<int32_t> tokens(size_t n_blocks, int32_t first) {
  std::vector<int32_t> t(n_blocks * kKvBlock);
  std::iota(t.begin(), t.end(), first);
  return t;
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("blocks are taken and given back by reference count") {
  BlockPool pool(3);
  const int32_t a = pool.allocate(), b = pool.allocate(), c = pool.allocate();
  CHECK(a != b);
  CHECK(b != c);
  CHECK(pool.allocate() == -1);
  CHECK(pool.in_use() == 3);
  pool.release(b);
  CHECK(pool.available() == 1);
  CHECK(pool.allocate() == b);
  pool.release_all(std::vector<int32_t>{a, b, c});
  CHECK(pool.in_use() == 0);
  CHECK_THROWS_WITH_AS(pool.release(a), doctest::Contains("released more often"), zest::Error);
  CHECK_THROWS_WITH_AS(pool.release(7), doctest::Contains("no block 7"), zest::Error);
}

TEST_CASE("published blocks match a later prompt's leading blocks, and only those") {
  BlockPool pool(8);
  const auto t = tokens(3, 100);
  const int32_t b0 = pool.allocate(), b1 = pool.allocate(), b2 = pool.allocate();
  pool.publish(b0, -1, std::span(t).subspan(0, kKvBlock));
  pool.publish(b1, b0, std::span(t).subspan(kKvBlock, kKvBlock));
  pool.publish(b2, b1, std::span(t).subspan(2 * kKvBlock, kKvBlock));
  CHECK(pool.cached() == 3);

  auto found = pool.match(t, 2);  // at most two
  CHECK(found == std::vector<int32_t>{b0, b1});
  pool.release_all(found);
  found = pool.match(t, 9);
  CHECK(found == std::vector<int32_t>{b0, b1, b2});
  pool.release_all(found);

  auto other = t;
  other[kKvBlock + 5] = 7;  // the second block differs: the first still matches
  found = pool.match(other, 9);
  CHECK(found == std::vector<int32_t>{b0});
  pool.release_all(found);
  other = t;
  other[0] = 7;  // the same later blocks behind a different first one: nothing
  CHECK(pool.match(other, 9).empty());
  CHECK(pool.match(std::span(t).first(kKvBlock - 1), 9).empty());  // no full block

  // A block behind an unpublished one stays private; a second copy of a published prefix too.
  const int32_t loose = pool.allocate(), child = pool.allocate(), copy = pool.allocate();
  pool.publish(child, loose, tokens(1, 900));
  pool.publish(copy, -1, std::span(t).first(kKvBlock));
  CHECK(pool.cached() == 3);
  CHECK_THROWS_AS(pool.publish(copy, -1, std::span(t).first(5)), zest::Error);
}

TEST_CASE("cached blocks nobody reads are evicted least recently released first, later blocks first") {
  BlockPool pool(4);
  const auto t = tokens(3, 0);
  std::vector<int32_t> seq;
  for (size_t i = 0; i < 3; ++i) {
    seq.push_back(pool.allocate());
    pool.publish(seq[i], i ? seq[i - 1] : -1, std::span(t).subspan(i * kKvBlock, kKvBlock));
  }
  pool.release_all(seq);  // last first: the third block is the oldest in the eviction order
  CHECK(pool.in_use() == 0);
  CHECK(pool.available() == 4);
  CHECK(pool.allocate() != -1);     // the free block
  CHECK(pool.allocate() == seq[2]);  // then the least recently released cached one
  CHECK(pool.cached() == 2);
  auto found = pool.match(t, 9);
  CHECK(found == std::vector<int32_t>{seq[0], seq[1]});
  // Taken again by a match, they are not evictable until released.
  CHECK(pool.allocate() == -1);
  pool.release_all(found);
  CHECK(pool.allocate() == seq[1]);
  CHECK(pool.match(t, 9) == std::vector<int32_t>{seq[0]});
}

TEST_SUITE_END();
