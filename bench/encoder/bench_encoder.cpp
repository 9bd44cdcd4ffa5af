// BERT encoder forward passes: latency of 1 x 128 tokens and throughput of 8 x 128, per compute
// dtype. The model directory is $ZEST_BENCH_BERT (bench/peers/onnxruntime/make_bert_base.py
// writes a bert-base-shaped one; run.sh there measures ONNX Runtime on the same weights in the
// same run); threads: $ZEST_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "zest/models/encoder.hpp"

namespace {

const char* model_dir() { return std::getenv("ZEST_BENCH_BERT"); }

size_t threads() {
  const char* t = std::getenv("ZEST_BENCH_THREADS");
  return t ? size_t(std::atoi(t)) : 2;
}

const zest::detail::EncoderModel& model(zest::DType dtype) {
  static std::map<zest::DType, std::unique_ptr<zest::detail::EncoderModel>> models;
  auto& m = models[dtype];
  if (!m) {
    zest::LoadOptions options;
    options.dtype = dtype;
    m = std::make_unique<zest::detail::EncoderModel>(zest::detail::EncoderModel::load(model_dir(), options));
  }
  return *m;
}

void forward(benchmark::State& state, zest::DType dtype) {
  if (!model_dir()) {
    state.SkipWithError("set ZEST_BENCH_BERT to a BERT directory (bench/peers/onnxruntime/make_bert_base.py)");
    return;
  }
  const size_t batch = size_t(state.range(0)), len = size_t(state.range(1));
  const zest::detail::EncoderModel& m = model(dtype);
  zest::detail::ThreadPool pool(threads());
  std::mt19937 rng(12345);
  std::vector<std::vector<int32_t>> ids(batch, std::vector<int32_t>(len));
  for (auto& text : ids) {
    for (auto& id : text) id = 1000 + int32_t(rng() % 29000);
    text[0] = 101;
  }
  std::vector<zest::detail::EncoderInput> inputs;
  for (const auto& text : ids) inputs.push_back({text, {}});
  for (auto _ : state) benchmark::DoNotOptimize(m.forward(inputs, pool).hidden.data());
  state.counters["seq_per_s"] = benchmark::Counter(double(batch * state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(threads()) + " threads");
}

}  // namespace

BENCHMARK_CAPTURE(forward, f32, zest::DType::f32)->Args({1, 128})->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(forward, bf16, zest::DType::bf16)->Args({1, 128})->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(forward, int8, zest::DType::i8)->Args({1, 128})->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
