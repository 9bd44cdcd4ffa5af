// GEMV (decode) and GEMM (prefill) for each weight format at gpt2-small and 1B-LLaMA shapes,
// beside OpenBLAS cblas_sgemv / cblas_sgemm and Eigen. GEMV counts the weight bytes it streams
// (GB/s, to compare with the triad); GEMM counts 2 M N K flops. decode_rows is a batched decode
// step's Linear: M = 1..64 rows against weights beyond the cache, as the GEMV reads them.
#include <memory>
#include <string>
#include <string_view>

#include <Eigen/Dense>
#include <cblas.h>

#include "bench_common.hpp"
#include "zest/kernels/matmul.hpp"

namespace bench {
namespace {

struct Shape {
  size_t in, out;  // K and N: y[out] = W[out][in] x[in]
};
const Shape kShapes[] = {{768, 768}, {768, 3072}, {3072, 768}, {768, 50257}, {2048, 2048}, {2048, 8192}, {8192, 2048}};

std::string shape_name(Shape s) { return std::to_string(s.in) + "x" + std::to_string(s.out); }

// A weight format as the models pack it: int8 is the encoders' scheme, int8r the decoders'
// (blocks of 32, a residual activation level), int4 the decoders' --dtype int4 (blocks of 32,
// one level).
struct Format {
  const char* name;
  zest::detail::WeightFormat weights;
  zest::detail::Int8Scheme int8{};
  bool operator==(const Format& o) const { return std::string_view(name) == o.name; }
};
using zest::detail::WeightFormat;
const Format kF32{"f32", WeightFormat::f32}, kBf16{"bf16", WeightFormat::bf16}, kF16{"f16", WeightFormat::f16},
    kInt8{"int8", WeightFormat::int8}, kInt8r{"int8r", WeightFormat::int8, {32, true}},
    kInt4{"int4", WeightFormat::int4, {32, false}};

// Weights for one shape, built on first use and kept while consecutive benchmarks share them.
struct Weights {
  Shape shape{};
  std::vector<float> raw;                          // out x in
  std::vector<std::vector<float>> raw_copies;      // for GEMV peers, cycled beyond the cache
  std::vector<zest::detail::PackedMatrix> packed;          // copies of one format
  Format format = kF32;
  bool beyond_cache = false;
};

Weights& weights(Shape s) {
  static Weights w;
  if (w.shape.in != s.in || w.shape.out != s.out) {
    w = Weights{};
    w.shape = s;
    w.raw = random_floats(s.in * s.out, 0.05f, 7);
  }
  return w;
}

// Copies of the packed weights: enough to exceed the cache for GEMV, one for GEMM.
const std::vector<zest::detail::PackedMatrix>& packed(Shape s, Format format, bool beyond_cache) {
  Weights& w = weights(s);
  if (w.packed.empty() || w.format != format || w.beyond_cache != beyond_cache) {
    w.packed.clear();
    w.format = format;
    w.beyond_cache = beyond_cache;
    w.packed.emplace_back(w.raw.data(), s.out, s.in, format.weights, format.int8);
    const size_t copies = beyond_cache ? kBeyondCache / w.packed[0].bytes() + 1 : 1;
    for (size_t c = 1; c < copies; ++c) w.packed.push_back(w.packed[0]);
  }
  return w.packed;
}

const std::vector<std::vector<float>>& raw_copies(Shape s) {
  Weights& w = weights(s);
  if (w.raw_copies.empty()) {
    const size_t copies = kBeyondCache / (w.raw.size() * 4) + 1;
    w.raw_copies.assign(copies, w.raw);
  }
  return w.raw_copies;
}

void gemv(benchmark::State& state, Shape s, Format format, size_t threads) {
  const auto& mats = packed(s, format, true);
  const auto x = random_floats(s.in, 1.f, 3);
  std::vector<float> y(s.out);
  size_t i = 0;
  for (auto _ : state) {
    zest::detail::matmul(x.data(), 1, mats[i], y.data(), pool(threads));
    i = (i + 1) % mats.size();
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(state, double(mats[0].bytes()), 2.0 * s.in * s.out);
}

// A batched decode step's Linear: m rows (one token of each of m sequences) times weights read
// from beyond the cache, cycled as the GEMV cycles them. The time is one step's; `per_row` the
// step's time over m (seconds, shown in the unit of the counter), `m` the rows, `bytes` the weight
// bytes read per second.
void decode_rows(benchmark::State& state, Shape s, size_t m, Format format, size_t threads) {
  const auto& mats = packed(s, format, true);
  const auto x = random_floats(m * s.in, 1.f, 3);
  std::vector<float> y(m * s.out);
  size_t i = 0;
  for (auto _ : state) {
    zest::detail::matmul(x.data(), m, mats[i], y.data(), pool(threads));
    i = (i + 1) % mats.size();
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(state, double(mats[0].bytes()), 2.0 * m * s.in * s.out);
  state.counters["per_row"] = benchmark::Counter(double(m), benchmark::Counter::kIsIterationInvariantRate |
                                                               benchmark::Counter::kInvert);
  state.counters["m"] = double(m);
}

// Packing at load, one thread: weights per second (`items`).
void pack(benchmark::State& state, Shape s, Format format) {
  const auto& raw = weights(s).raw;
  for (auto _ : state) {
    zest::detail::PackedMatrix m(raw.data(), s.out, s.in, format.weights, format.int8);
    benchmark::DoNotOptimize(m.panels());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(s.in * s.out));
}

void gemv_openblas(benchmark::State& state, Shape s, size_t threads) {
  const auto& mats = raw_copies(s);
  const auto x = random_floats(s.in, 1.f, 3);
  std::vector<float> y(s.out);
  openblas_set_num_threads(int(threads));
  size_t i = 0;
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(s.out), int(s.in), 1.f, mats[i].data(), int(s.in), x.data(), 1, 0.f,
                y.data(), 1);
    i = (i + 1) % mats.size();
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(state, double(s.in) * s.out * 4, 2.0 * s.in * s.out);
}

void gemm(benchmark::State& state, Shape s, size_t m, Format format, size_t threads) {
  const auto& mat = packed(s, format, false)[0];
  const auto x = random_floats(m * s.in, 1.f, 4);
  std::vector<float> y(m * s.out);
  for (auto _ : state) {
    zest::detail::matmul(x.data(), m, mat, y.data(), pool(threads));
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(state, double(mat.bytes()), 2.0 * m * s.in * s.out);
}

void gemm_openblas(benchmark::State& state, Shape s, size_t m, size_t threads) {
  const auto& w = weights(s).raw;
  const auto x = random_floats(m * s.in, 1.f, 4);
  std::vector<float> y(m * s.out);
  openblas_set_num_threads(int(threads));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(s.out), int(s.in), 1.f, x.data(), int(s.in),
                w.data(), int(s.in), 0.f, y.data(), int(s.out));
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(state, double(s.in) * s.out * 4, 2.0 * m * s.in * s.out);
}

// Eigen's GEMM threads with OpenMP, which this benchmark links.
void gemm_eigen(benchmark::State& state, Shape s, size_t m, size_t threads) {
  Eigen::setNbThreads(int(threads));
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto& w = weights(s).raw;
  const Eigen::Map<const Matrix> W(w.data(), Eigen::Index(s.out), Eigen::Index(s.in));
  const auto xv = random_floats(m * s.in, 1.f, 4);
  const Eigen::Map<const Matrix> X(xv.data(), Eigen::Index(m), Eigen::Index(s.in));
  Matrix Y(m, s.out);
  for (auto _ : state) {
    Y.noalias() = X * W.transpose();
    benchmark::DoNotOptimize(Y.data());
  }
  set_rates(state, double(s.in) * s.out * 4, 2.0 * m * s.in * s.out);
}

}  // namespace

void register_matmul() {
  for (Shape s : kShapes) {
    for (const Format& f : {kF32, kBf16, kF16, kInt8, kInt8r, kInt4})
      for (size_t t : {1u, 2u})
        benchmark::RegisterBenchmark(("gemv/" + std::string(f.name) + "/" + shape_name(s) + "/threads:" + std::to_string(t)).c_str(),
                                     [=](benchmark::State& st) { gemv(st, s, f, t); })
            ->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (size_t t : {1u, 2u})
      benchmark::RegisterBenchmark(("gemv/openblas/" + shape_name(s) + "/threads:" + std::to_string(t)).c_str(),
                                   [=](benchmark::State& st) { gemv_openblas(st, s, t); })
          ->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  for (const Format& f : {kBf16, kInt8r, kInt4})
    benchmark::RegisterBenchmark(("pack/" + std::string(f.name) + "/2048x2048").c_str(),
                                 [=](benchmark::State& st) { pack(st, Shape{2048, 2048}, f); })
        ->UseRealTime()->Unit(benchmark::kMillisecond);
  // Batched decode, gpt2-small's shapes: qkv, MLP up, MLP down, the vocabulary head.
  for (Shape s : {Shape{768, 2304}, Shape{768, 3072}, Shape{3072, 768}, Shape{768, 50257}})
    for (const Format& f : {kF32, kBf16, kInt8r, kInt4})
      for (size_t m : {1u, 2u, 4u, 8u, 16u, 32u, 64u})
        for (size_t t : {1u, 2u})
          benchmark::RegisterBenchmark(("decode_rows/" + std::string(f.name) + "/" + shape_name(s) + "/m:" +
                                        std::to_string(m) + "/threads:" + std::to_string(t)).c_str(),
                                       [=](benchmark::State& st) { decode_rows(st, s, m, f, t); })
              ->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (Shape s : kShapes) {
    if (s.out > 10000) continue;  // the vocabulary head runs once per sequence, as a GEMV
    for (size_t m : {128u, 512u}) {
      const std::string tail = "/" + shape_name(s) + "/m:" + std::to_string(m);
      for (const Format& f : {kF32, kBf16, kInt8, kInt8r, kInt4})
        for (size_t t : {1u, 2u})
          benchmark::RegisterBenchmark(("gemm/" + std::string(f.name) + tail + "/threads:" + std::to_string(t)).c_str(),
                                       [=](benchmark::State& st) { gemm(st, s, m, f, t); })
              ->UseRealTime()->Unit(benchmark::kMillisecond);
      for (size_t t : {1u, 2u})
        benchmark::RegisterBenchmark(("gemm/openblas" + tail + "/threads:" + std::to_string(t)).c_str(),
                                     [=](benchmark::State& st) { gemm_openblas(st, s, m, t); })
            ->UseRealTime()->Unit(benchmark::kMillisecond);
      for (size_t t : {1u, 2u})
        benchmark::RegisterBenchmark(("gemm/eigen" + tail + "/threads:" + std::to_string(t)).c_str(),
                                     [=](benchmark::State& st) { gemm_eigen(st, s, m, t); })
            ->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace bench
