// The machine's limits: STREAM-triad bandwidth (a[i] = b[i] + s * c[i] over arrays far beyond
// the L3, counted as STREAM counts it, 12 bytes per element) split across the pool's threads;
// the read bandwidth of streaming one buffer of a given size again and again, as a decode step
// streams a model's weights (sizes in MiB from ZEST_BENCH_READ_MIB, default 64,256,1024: where
// the L3 holds the buffer, faster than the triad: read/128MiB 49 GB/s on 2 threads of the Intel
// Xeon against a triad of 28.5, bench/LOG.md, end-to-end); the f32 FMA peak (independent
// register-resident FMA chains: the GEMM roofline) and, with AVX-512 VNNI, the int8 vpdpbusd peak
// (the int8 kernels' roofline); and the pool's fork/join cost for an empty
// task, beside an OpenMP parallel region's.
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <cstdlib>
#include <sstream>

#include "bench_common.hpp"
#include "zest/kernels/matmul_int8.hpp"
#include "zest/kernels/simd.hpp"

namespace bench {

namespace {

std::vector<size_t> read_sizes_mib() {
  const char* env = std::getenv("ZEST_BENCH_READ_MIB");
  std::istringstream in(env && *env ? env : "64,256,1024");
  std::vector<size_t> sizes;
  for (std::string item; std::getline(in, item, ',');)
    if (const size_t mib = std::strtoull(item.c_str(), nullptr, 10)) sizes.push_back(mib);
  return sizes;
}

void read_stream(benchmark::State& state, size_t mib, size_t threads) {
  using zest::detail::vfloat;
  constexpr size_t kLanes = zest::detail::kLanes;
  const size_t n = (mib << 20) / sizeof(float);
  zest::detail::AlignedVector<float> buffer(n, 1.f);
  std::vector<float> sums(threads);
  for (auto _ : state) {
    pool(threads).run([&](size_t t, size_t nt) {
      const size_t begin = n / nt * t / kLanes * kLanes, end = t + 1 == nt ? n : n / nt * (t + 1) / kLanes * kLanes;
      vfloat acc[4] = {vfloat(0.f), vfloat(0.f), vfloat(0.f), vfloat(0.f)};
      size_t i = begin;
      for (; i + 4 * kLanes <= end; i += 4 * kLanes)
        for (size_t c = 0; c < 4; ++c) acc[c] += vfloat::load_aligned(buffer.data() + i + c * kLanes);
      float sum = zest::detail::reduce_add(acc[0] + acc[1] + acc[2] + acc[3]);
      for (; i < end; ++i) sum += buffer[i];
      sums[t] = sum;
    });
    benchmark::DoNotOptimize(sums.data());
  }
  set_rates(state, double(n * sizeof(float)), 0);
}

}  // namespace

void register_runtime() {
  for (size_t mib : read_sizes_mib())
    for (size_t threads : {1u, 2u})
      benchmark::RegisterBenchmark(("read/" + std::to_string(mib) + "MiB/threads:" + std::to_string(threads)).c_str(),
                                   [=](benchmark::State& state) { read_stream(state, mib, threads); })
          ->UseRealTime()->Unit(benchmark::kMillisecond);
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

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    // The int8 kernels' limit: vpdpbusd (64 byte products a lane-quad) in independent chains;
    // FLOP counts 2 per product, as the int8 GEMMs count theirs.
    benchmark::RegisterBenchmark(("vnni_peak/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      constexpr size_t kChains = 12, kSteps = 1 << 16;
      for (auto _ : state) {
        pool(threads).run([&](size_t t, size_t) {
          __m512i acc[kChains];
          for (size_t c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(int(t + c));
          const __m512i x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
          for (size_t i = 0; i < kSteps; ++i)
#pragma GCC unroll 12
            for (size_t c = 0; c < kChains; ++c) acc[c] = zest::detail::dpbusd(acc[c], x, w);
          int32_t sum = 0;
          for (size_t c = 0; c < kChains; ++c) sum += _mm512_reduce_add_epi32(acc[c]);
          benchmark::DoNotOptimize(sum);
        });
      }
      set_rates(state, 0, 2.0 * 64 * kChains * kSteps * threads);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

    benchmark::RegisterBenchmark(("fork_join_empty/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      for (auto _ : state) pool(threads).run([](size_t t, size_t) { benchmark::DoNotOptimize(t); });
    })->UseRealTime()->Unit(benchmark::kMicrosecond);

#if defined(_OPENMP)
    // The same with an OpenMP parallel region (libgomp, default wait policy), for comparison.
    benchmark::RegisterBenchmark(("fork_join_empty_openmp/threads:" + std::to_string(threads)).c_str(), [threads](benchmark::State& state) {
      for (auto _ : state) {
#pragma omp parallel num_threads(int(threads))
        benchmark::DoNotOptimize(omp_get_thread_num());
      }
    })->UseRealTime()->Unit(benchmark::kMicrosecond);
#endif
  }
}

}  // namespace bench
