#include <atomic>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>

#include "zest/runtime/thread_pool.hpp"

using zest::detail::ThreadPool;

TEST_CASE("run calls every thread index exactly once per job") {
  for (size_t n : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(n);
    CHECK(pool.size() == n);
    for (int job = 0; job < 200; ++job) {
      std::vector<std::atomic<int>> hits(n);
      pool.run([&](size_t t, size_t nt) {
        CHECK(nt == n);
        hits[t].fetch_add(1);
      });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_for covers the range once, in grain-aligned slices") {
  ThreadPool pool(3);
  for (size_t n : {0u, 1u, 5u, 64u, 1001u}) {
    std::vector<std::atomic<int>> seen(n);
    pool.parallel_for(n, 4, [&](size_t b, size_t e) {
      CHECK(b % 4 == 0);
      CHECK(b < e);
      for (size_t i = b; i < e; ++i) seen[i].fetch_add(1);
    });
    for (auto& s : seen) CHECK(s.load() == 1);
  }
}

TEST_CASE("workers that went to sleep wake up for the next job") {
  ThreadPool pool(4, std::chrono::microseconds(0));
  std::atomic<long> sum{0};
  for (int job = 0; job < 300; ++job) {
    pool.run([&](size_t t, size_t) { sum.fetch_add(long(t) + 1); });
    if (job % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(sum.load() == 300L * (1 + 2 + 3 + 4));
}

TEST_CASE("an exception in a task reaches the caller and the pool stays usable") {
  ThreadPool pool(2);
  CHECK_THROWS_AS(pool.run([](size_t t, size_t) {
    if (t == 1) throw std::runtime_error("task failed");
  }), std::runtime_error);
  std::atomic<int> count{0};
  pool.run([&](size_t, size_t) { count.fetch_add(1); });
  CHECK(count.load() == 2);
}

TEST_CASE("a nested run executes inline instead of deadlocking") {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.run([&](size_t, size_t) {
    pool.run([&](size_t t, size_t nt) {
      CHECK(t == 0);
      CHECK(nt == 1);
      inner.fetch_add(1);
    });
  });
  CHECK(inner.load() == 2);
}

TEST_CASE("an absurd thread count is a zest::Error") {
  CHECK_THROWS_AS(ThreadPool(100000), zest::Error);
}
