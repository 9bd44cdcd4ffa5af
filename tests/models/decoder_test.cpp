// Decoder models against the PyTorch reference's goldens (tests/data/models): last-position and
// per-position logits within 1e-4 in f32, and greedy generation with the KV cache equal to the
// reference up to the first step whose reference top-1 margin is below 1e-3.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/models/decoder.hpp"
#include "test_data.hpp"

namespace {

struct Case {
  std::string model_dir, golden;
};

const Case kCases[] = {
    {"fixtures/tiny-gpt2", "models/fixture-goldens/tiny-gpt2.json"},
    {"fixtures/tiny-llama", "models/fixture-goldens/tiny-llama.json"},
    {"fixtures/tiny-qwen2", "models/fixture-goldens/tiny-qwen2.json"},
    {"models/llama-odd-gqa", "models/llama-odd-gqa/golden.json"},
    {"models/llama-mqa-bf16", "models/llama-mqa-bf16/golden.json"},
    {"models/mistral-sw", "models/mistral-sw/golden.json"},
    {"models/qwen2-gqa3-f16", "models/qwen2-gqa3-f16/golden.json"},
    {"models/gpt2-bf16", "models/gpt2-bf16/golden.json"},
    {"models/gemma2", "models/gemma2/golden.json"},
    {"models/gemma2-v5", "models/gemma2-v5/golden.json"},
    {"models/gemma3-text", "models/gemma3-text/golden.json"},
    {"models/gemma3-text-v5", "models/gemma3-text-v5/golden.json"},
    {"models/gemma3", "models/gemma3/golden.json"},
    {"models/gemma3-v5", "models/gemma3-v5/golden.json"},
    {"models/granite", "models/granite/golden.json"},
    {"models/granite-v5", "models/granite-v5/golden.json"},
    {"models/olmo2", "models/olmo2/golden.json"},
    {"models/olmo2-v5", "models/olmo2-v5/golden.json"},
    {"models/llama3-rope", "models/llama3-rope/golden.json"},
    {"models/llama3-rope-v5", "models/llama3-rope-v5/golden.json"},
    {"models/qwen2-v5", "models/qwen2-v5/golden.json"},
    {"models/llama-dynamic", "models/llama-dynamic/golden.json"},
    {"models/qwen2-yarn", "models/qwen2-yarn/golden.json"},
    {"models/qwen3", "models/qwen3/golden.json"},
    {"models/qwen3-v5", "models/qwen3-v5/golden.json"},
    {"models/phi3", "models/phi3/golden.json"},
    {"models/phi3-v5", "models/phi3-v5/golden.json"},
    {"models/smollm3", "models/smollm3/golden.json"},
    {"models/smollm3-v5", "models/smollm3-v5/golden.json"},
};


double max_diff(const std::vector<std::pair<size_t, double>>& want, const float* got) {
  double worst = 0;
  for (const auto& [id, value] : want) worst = std::max(worst, std::fabs(double(got[id]) - value));
  return worst;
}

}  // namespace

TEST_SUITE_BEGIN("decoder");

TEST_CASE("f32 logits and greedy generation equal the reference") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases) {
    CAPTURE(c.model_dir);
    const zest::detail::DecoderModel model = zest::detail::DecoderModel::load(test_data(c.model_dir));
    const auto golden = load_golden(test_data(c.golden));
    const size_t vocab = model.vocab_size();
    for (const auto& prompt : golden["prompts"]) {
      const auto ids = prompt["ids"].get<std::vector<int32_t>>();
      CAPTURE(ids.size());
      // Every position's logits in one pass, compared where the reference has them.
      zest::detail::DecoderState all(model, ids.size());
      std::vector<float> logits(ids.size() * vocab);
      model.forward(all, ids, logits, pool, /*all_positions=*/true);
      const float* last = logits.data() + (ids.size() - 1) * vocab;
      CHECK(max_diff(golden_logits(field_or_null(prompt, "last_logits"), field_or_null(prompt, "last_logits_at")), last) < 1e-4);
      CHECK(std::max_element(last, last + vocab) - last == prompt["argmax_last"].get<long>());
      const auto& positions = prompt.contains("position_logits") ? prompt["position_logits"] : prompt["position_logits_at"];
      for (const auto& [pos, values] : positions.items()) {
        const bool trimmed = values.is_object();
        const auto want = golden_logits(trimmed ? nlohmann::json() : values, trimmed ? values : nlohmann::json());
        CHECK(max_diff(want, logits.data() + std::stoul(pos) * vocab) < 1e-4);
      }

      // Greedy with the KV cache: prefill, then one token per step.
      const auto& greedy = prompt["greedy"];
      auto want_ids = greedy["ids"].get<std::vector<int32_t>>();
      // Dynamic NTK runs to factor x max_position_embeddings (as vLLM bounds it); transformers
      // runs on, so the goldens may go further.
      want_ids.resize(std::min(want_ids.size(), model.config().max_sequence_length() - ids.size()));
      zest::detail::DecoderState state(model, ids.size() + want_ids.size());
      std::vector<float> step(vocab);
      model.forward(state, ids, step, pool);
      for (size_t i = 0; i < want_ids.size(); ++i) {
        const auto& top5 = greedy["step_top5"][i];
        const double margin = top5[0][1].get<double>() - top5[1][1].get<double>();
        if (margin < 1e-3) break;  // a near tie: either token is right
        const int32_t next = int32_t(std::max_element(step.begin(), step.end()) - step.begin());
        CAPTURE(i);
        REQUIRE(next == want_ids[i]);
        CHECK(std::fabs(step[size_t(next)] - top5[0][1].get<double>()) < 1e-4);
        model.forward(state, std::span(&next, 1), step, pool);
      }
    }
  }
}

long allocation_count();  // tests/generate/allocation_counter.cpp

TEST_CASE("a decode step allocates nothing") {
  zest::detail::ThreadPool pool(2);
  for (zest::DType dtype : {zest::DType::f32, zest::DType::bf16, zest::DType::i8}) {
    CAPTURE(zest::dtype_name(dtype));
    zest::LoadOptions options;
    options.dtype = dtype;
    const zest::detail::DecoderModel model = zest::detail::DecoderModel::load(test_data("fixtures/tiny-qwen2"), options);
    zest::detail::DecoderState state(model, 64);
    std::vector<float> logits(model.vocab_size());
    const std::vector<int32_t> prompt = {11, 22, 33, 44, 55};
    model.forward(state, prompt, logits, pool);
    int32_t next = 7;
    model.forward(state, std::span(&next, 1), logits, pool);  // first step sizes the scratch
    const long before = allocation_count();
    for (int i = 0; i < 16; ++i) model.forward(state, std::span(&next, 1), logits, pool);
    CHECK(allocation_count() == before);
  }
}

TEST_CASE("bad input is refused with an Error") {
  zest::detail::ThreadPool pool(1);
  const zest::detail::DecoderModel model = zest::detail::DecoderModel::load(test_data("fixtures/tiny-llama"));
  zest::detail::DecoderState state(model, 8);
  std::vector<float> logits(model.vocab_size());
  const std::vector<int32_t> bad_id = {1, 8000};
  CHECK_THROWS_WITH_AS(model.forward(state, bad_id, logits, pool), "token id 8000 is outside the vocabulary of 8000", zest::Error);
  CHECK(state.capacity() >= 8);  // whole blocks of the cache
  const std::vector<int32_t> too_long(state.capacity() + 1, 1);
  CHECK_THROWS_WITH_AS(model.forward(state, too_long, logits, pool), doctest::Contains("exceed the session's capacity"), zest::Error);
  CHECK_THROWS_AS(zest::detail::DecoderState(model, 4096), zest::Error);
  CHECK_THROWS_AS(zest::detail::DecoderModel::load(test_data("fixtures/tiny-bert")), zest::Error);
  zest::LoadOptions cuda;
  cuda.device = zest::Device::cuda();
#ifdef ZEST_WITH_CUDA  // no GPU, or the CPU model refusing one
  CHECK_THROWS_AS(zest::detail::DecoderModel::load(test_data("fixtures/tiny-llama"), cuda), zest::Error);
#else
  CHECK_THROWS_WITH_AS(zest::detail::DecoderModel::load(test_data("fixtures/tiny-llama"), cuda),
                       doctest::Contains("built without ZEST_CUDA"), zest::Error);
#endif
}

TEST_SUITE_END();
