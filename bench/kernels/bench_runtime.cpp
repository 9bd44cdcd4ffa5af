// The machine's limits: STREAM-triad bandwidth (a[i] = b[i] + s * c[i] over arrays far beyond
// the L3, counted as STREAM counts it, 12 bytes per element) split across the pool's threads,
// the f32 FMA peak (independent register-resident FMA chains: the GEMM roofline), and the
// pool's fork/join cost for an empty task, beside an OpenMP parallel region's.
#include <omp.h>

#include "bench_common.hpp"
#include "zest/kernels/simd.hpp"

namespace bench {

void register_runtime() {
  for (size_t threads : {1u, 2u}) {
    benchmark::RegisterBenchmark(("triad/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      const size_t n = kBeyondCache / sizeof(float);
      std::vector<float> a(n, 0.f), b(n, 1.f), c(n, 2.f);
      for (auto _ : state) {
        pool(threads).parallel_for(n, 4096, [&](size_t begin, size_t end) {
          float* __restrict pa = a.data();
          const float* __restrict pb = b.data();
          const float* __restrict pc = c.data();
          for (size_t i = begin; i < end; ++i) pa[i] = pb[i] + 3.f * pc[i];
        });
        benchmark::DoNotOptimize(a.data());
        benchmark::ClobberMemory();
      }
      set_rates(state, 3.0 * n * sizeof(float), 0);
    })->UseRealTime()->Unit(benchmark::kMillisecond);

    benchmark::RegisterBenchmark(("fma_peak/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      using zest::detail::vfloat;
      constexpr size_t kChains = 12, kSteps = 1 << 16;  // 12 chains cover FMA latency x throughput
      for (auto _ : state) {
        pool(threads).run([&](size_t t, size_t) {
          vfloat acc[kChains];
          for (size_t c = 0; c < kChains; ++c) acc[c] = vfloat(float(t + c));
          const vfloat a(0.999f), b(0.001f);
          for (size_t i = 0; i < kSteps; ++i)
#pragma GCC unroll 12
            for (size_t c = 0; c < kChains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
          float sum = 0;
          for (size_t c = 0; c < kChains; ++c) sum += zest::detail::reduce_add(acc[c]);
          benchmark::DoNotOptimize(sum);
        });
      }
      set_rates(state, 0, 2.0 * kChains * kSteps * zest::detail::kLanes * threads);
    })->UseRealTime()->Unit(benchmark::kMillisecond);

    benchmark::RegisterBenchmark(("fork_join_empty/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      for (auto _ : state) pool(threads).run([](size_t t, size_t) { benchmark::DoNotOptimize(t); });
    })->UseRealTime()->Unit(benchmark::kMicrosecond);

    // The same with an OpenMP parallel region (libgomp, default wait policy), for comparison.
    benchmark::RegisterBenchmark(("fork_join_empty_openmp/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      for (auto _ : state) {
#pragma omp parallel num_threads(int(threads))
        benchmark::DoNotOptimize(omp_get_thread_num());
      }
    })->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace bench
