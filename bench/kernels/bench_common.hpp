// Shared pieces of the kernel benchmarks: thread pools of 1 and 2 threads, buffers larger than
// the last-level cache, and Google Benchmark rate counters: bytes/s and FLOP/s.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "zest/runtime/thread_pool.hpp"

namespace bench {

// Working sets are cycled through enough copies to exceed this, so weight and cache reads come
// from DRAM as in a real model's decode step, not from the 32 MiB L3.
inline constexpr size_t kBeyondCache = size_t(128) << 20;

inline zest::detail::ThreadPool& pool(size_t threads) {
  static zest::detail::ThreadPool one(1), two(2);
  return threads == 1 ? one : two;
}

inline std::vector<float> random_floats(size_t n, float scale = 1.f, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline void set_rates(benchmark::State& state, double bytes, double flops) {
  // Shown as e.g. "bytes=15.2G/s FLOP=4.3G/s".
  if (bytes > 0)
    state.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  if (flops > 0)
    state.counters["FLOP"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void register_matmul();
void register_attention();
void register_runtime();

}  // namespace bench
