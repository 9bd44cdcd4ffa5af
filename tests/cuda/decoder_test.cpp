// The CUDA decoder (bf16 weights, and int8 on the fixtures) against the CPU f32 path on the fixtures and the reference
// models: logits within relative 2e-2 (max |gpu - cpu| / max |cpu|) after the prompt and at every
// decode step (both fed the CPU's greedy id), greedy ids equal up to the first step whose CPU top-1
// margin is below 0.05. A mismatch says where it starts: the first truncation of the model to
// its first k layers whose logits diverge, and whether a decode step's logits differ from a
// prefill of the same ids on the GPU (the decode path: GEMV, graph, attention splits).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.hpp"
#include "zest/backend/cuda/decoder.hpp"
#include "zest/models/decoder.hpp"
#include "zest/zest.hpp"

namespace {

constexpr double kTolerance = 2e-2, kMargin = 0.05;

const zest::LoadOptions kGpu{.dtype = zest::DType::bf16, .threads = 1, .device = zest::Device::cuda(0)};
const zest::LoadOptions kGpuInt8{.dtype = zest::DType::i8, .threads = 1, .device = zest::Device::cuda(0)};
const zest::LoadOptions kCpu{.dtype = zest::DType::f32, .threads = 1, .device = zest::Device::cpu()};

double relative_error(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < cpu.size(); ++i) diff = std::max(diff, std::abs(double(gpu[i]) - cpu[i])), scale = std::max(scale, std::abs(double(cpu[i])));
  return diff / std::max(scale, 1e-30);
}

std::vector<int32_t> prompt_ids(size_t n, int64_t vocab) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = int32_t((i * 7919 + 3) % size_t(vocab));
  return ids;
}

zest::detail::ModelConfig truncated(const std::string& dir, int64_t layers) {
  auto c = zest::detail::load_model_config(dir);
  c.num_hidden_layers = layers;
  c.layers.resize(size_t(layers));
  return c;
}

// Prefill logits of `ids` on both paths, the model cut to its first `layers` layers.
double prefill_error(const std::string& dir, const zest::LoadOptions& options, int64_t layers, const std::vector<int32_t>& ids,
                     zest::detail::ThreadPool& pool) {
  const zest::detail::DecoderModel cpu(truncated(dir, layers), zest::detail::Weights::open(dir), kCpu);
  const zest::detail::CudaDecoder gpu(truncated(dir, layers), zest::detail::Weights::open(dir), options);
  zest::detail::DecoderState cs(cpu, ids.size());
  zest::detail::CudaState gs(gpu, ids.size());
  std::vector<float> lc(cpu.vocab_size()), lg(gpu.vocab_size());
  cpu.forward(cs, ids, lc, pool);
  gpu.forward(gs, ids, lg, pool);
  return relative_error(lg, lc);
}

// Where the prefill logits first diverge: the fewest layers whose logits exceed the tolerance.
std::string first_divergence(const std::string& dir, const zest::LoadOptions& options, const std::vector<int32_t>& ids,
                             zest::detail::ThreadPool& pool) {
  const int64_t layers = zest::detail::load_model_config(dir).num_hidden_layers;
  std::ostringstream out;
  for (int64_t k = 1; k <= layers; ++k) {
    const double e = prefill_error(dir, options, k, ids, pool);
    out << " [" << k << " layers: " << e << "]";
    if (e > kTolerance) return "first diverges with " + std::to_string(k) + " of " + std::to_string(layers) + " layers:" + out.str();
  }
  return "no truncation diverges:" + out.str();
}

// Prefill of `prompt` then `steps` decode steps, compared as the header says.
void check_parity(const std::string& dir, size_t prompt_length, size_t steps, const zest::LoadOptions& options = kGpu) {
  zest::detail::ThreadPool pool(1);
  const zest::detail::DecoderModel cpu = zest::detail::DecoderModel::load(dir, kCpu);
  const zest::detail::CudaDecoder gpu = zest::detail::CudaDecoder::load(dir, options);
  prompt_length = std::min(prompt_length, cpu.config().max_sequence_length() - steps);
  std::vector<int32_t> ids = prompt_ids(prompt_length, cpu.config().vocab_size);
  const size_t capacity = prompt_length + steps;
  zest::detail::DecoderState cs(cpu, capacity);
  zest::detail::CudaState gs(gpu, capacity);
  std::vector<float> lc(cpu.vocab_size()), lg(gpu.vocab_size());
  cpu.forward(cs, ids, lc, pool);
  gpu.forward(gs, ids, lg, pool);
  const double prefill = relative_error(lg, lc);
  if (prefill > kTolerance)
    FAIL(dir << ": prefill of " << ids.size() << " ids: logits differ by " << prefill << "; "
             << first_divergence(dir, options, ids, pool));
  bool ids_compared = true;
  for (size_t step = 0; step < steps; ++step) {
    std::vector<float> sorted = lc;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    const int32_t cpu_top = int32_t(std::max_element(lc.begin(), lc.end()) - lc.begin());
    const int32_t gpu_top = int32_t(std::max_element(lg.begin(), lg.end()) - lg.begin());
    if (sorted[0] - sorted[1] < kMargin) ids_compared = false;  // a near tie: ids may differ from here on
    if (ids_compared && gpu_top != cpu_top)
      FAIL(dir << ": greedy id differs at step " << step << " (position " << ids.size() - 1 << "): cpu " << cpu_top << ", gpu "
               << gpu_top << " (cpu margin " << sorted[0] - sorted[1] << ")");
    ids.push_back(cpu_top);
    cpu.forward(cs, std::span(&ids.back(), 1), lc, pool);
    gpu.forward(gs, std::span(&ids.back(), 1), lg, pool);
    if (const double e = relative_error(lg, lc); e > kTolerance) {
      zest::detail::CudaState fresh(gpu, ids.size());
      std::vector<float> prefilled(gpu.vocab_size());
      gpu.forward(fresh, ids, prefilled, pool);
      FAIL(dir << ": decode step " << step << " (position " << ids.size() - 1 << "): logits differ by " << e
               << "; a GPU prefill of the same ids differs from the CPU by " << relative_error(prefilled, lc)
               << " and from the GPU decode step by " << relative_error(lg, prefilled));
    }
  }
  MESSAGE(dir << " (" << options.dtype << "): prefill " << prompt_length << " ids within " << prefill << ", " << steps << " decode steps within "
              << kTolerance << (ids_compared ? ", greedy ids equal" : ", greedy ids equal up to a near tie"));
}

}  // namespace

TEST_SUITE_BEGIN("cuda_decoder");

TEST_CASE("the fixtures on the GPU match the CPU f32 path") {
  // 750 + 20: the prompt in two passes (512 rows, then 238), the decode steps across the
  // attention split at 768 (3 x 256).
  for (const char* dir : {"fixtures/tiny-llama", "fixtures/tiny-gpt2", "fixtures/tiny-qwen2"}) {
    CAPTURE(dir);
    check_parity(test_data(dir), 750, 20);
  }
}

TEST_CASE("the fixtures with int8 weights on the GPU match the CPU f32 path") {
  for (const char* dir : {"fixtures/tiny-llama", "fixtures/tiny-gpt2", "fixtures/tiny-qwen2"}) {
    CAPTURE(dir);
    check_parity(test_data(dir), 750, 20, kGpuInt8);
  }
}

TEST_CASE("the reference models the CUDA path supports match the CPU; the others are refused by name") {
  for (const char* dir : {"models/llama-odd-gqa", "models/llama-mqa-bf16", "models/qwen2-gqa3-f16", "models/gpt2-bf16",
                          "models/llama3-rope", "models/llama3-rope-v5", "models/qwen2-v5", "models/qwen2-yarn",
                          "models/smollm3", "models/smollm3-v5", "models/mistral-sw", "models/granite", "models/gemma2",
                          "models/gemma3-text", "models/olmo2", "models/qwen3", "models/phi3", "models/llama-dynamic"}) {
    CAPTURE(dir);
    try {
      (void)zest::detail::CudaDecoder::load(test_data(dir), kGpu);
    } catch (const zest::Error& e) {
      REQUIRE(e.kind() == zest::Error::Kind::unsupported);
      MESSAGE(dir << ": refused: " << e.what());
      continue;
    }
    check_parity(test_data(dir), 40, 16);
  }
}

TEST_CASE("Pipeline on Device::cuda: generation, streaming, and what it refuses") {
  const auto dir = test_data("fixtures/tiny-llama");
  const zest::Pipeline gpu = zest::Pipeline::from_pretrained(dir, kGpu);
  CHECK(gpu.on_cuda());
  zest::GenerateParams params;
  params.max_new_tokens = 24;
  params.ignore_eos = true;
  std::string streamed;
  params.on_text = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const zest::Generation g = gpu.generate("The jury said", params);
  CHECK(g.ids.size() == 24);
  CHECK(streamed == g.text);
  CHECK(g.timings.decode_tok_s() > 0);
  CHECK(gpu.weight_bytes() > 0);

  zest::LoadOptions bad = kGpu;
  bad.device = zest::Device::cuda(1 << 20);
  CHECK_THROWS_WITH_AS(zest::Pipeline::from_pretrained(dir, bad), doctest::Contains("out of range"), zest::Error);
  bad = kGpu, bad.dtype = zest::DType::f32;
  CHECK_THROWS_WITH_AS(zest::Pipeline::from_pretrained(dir, bad), doctest::Contains("bf16 or int8"), zest::Error);
  bad = kGpuInt8;  // intermediate_size 48: down_proj not in whole groups of 32
  CHECK_THROWS_WITH_AS(zest::Pipeline::from_pretrained(test_data("models/qwen2-v5"), bad), doctest::Contains("multiple of 32"),
                       zest::Error);
  CHECK_THROWS_WITH_AS(gpu.start_session(), doctest::Contains("does not run on Device::cuda"), zest::Error);
  CHECK_THROWS_WITH_AS(zest::Engine{gpu}, doctest::Contains("does not run on Device::cuda"), zest::Error);
}

TEST_SUITE_END();
