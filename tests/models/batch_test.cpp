// A batched decode step (DecoderModel::forward_batch) gives each sequence the logits that its own
// one-token forward pass gives, whatever else is in the batch: sequences of mixed lengths that
// join and leave, sliding windows, soft-capping, length-dependent rotary tables (dynamic NTK, and
// Phi-3's LongRoPE switch, which a row crosses mid-run), in every compute dtype.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "zest/models/decoder.hpp"
#include "test_data.hpp"

namespace {

using zest::detail::DecoderModel;
using zest::detail::DecoderState;

// The largest |a - b| over the largest |b| (at least 1).
double relative_gap(const float* a, const float* b, size_t n) {
  double gap = 0, scale = 1;
  for (size_t i = 0; i < n; ++i) gap = std::max(gap, double(std::fabs(a[i] - b[i]))), scale = std::max(scale, double(std::fabs(b[i])));
  return gap / scale;
}

}  // namespace

TEST_SUITE_BEGIN("batch");

TEST_CASE("a batched decode step equals each sequence's own step") {
  const char* dirs[] = {"fixtures/tiny-llama", "fixtures/tiny-gpt2", "fixtures/tiny-qwen2", "models/gemma2",
                        "models/gemma3-text", "models/phi3",         "models/llama-dynamic", "models/mistral-sw",
                        "models/qwen3"};
  for (const char* dir : dirs)
    for (const auto dtype : {zest::DType::f32, zest::DType::bf16, zest::DType::i8, zest::DType::i4}) {
      CAPTURE(dir);
      CAPTURE(zest::dtype_name(dtype));
      zest::LoadOptions options;
      options.dtype = dtype;
      const DecoderModel model = DecoderModel::load(test_data(dir), options);
      zest::detail::ThreadPool pool(2);
      const size_t vocab = model.vocab_size(), capacity = std::min<size_t>(40, model.config().max_sequence_length());
      // Five sequences; the fourth joins at step 2, the second leaves after step 3.
      const size_t prompt_lengths[] = {3, 9, 1, 12, 6};
      std::vector<std::unique_ptr<DecoderState>> batched, alone;
      std::vector<int32_t> next(5);
      std::vector<float> logits(vocab);
      for (size_t i = 0; i < 5; ++i) {
        std::vector<int32_t> prompt(prompt_lengths[i]);
        for (size_t j = 0; j < prompt.size(); ++j) prompt[j] = int32_t((7 * i + 13 * j + 1) % vocab);
        batched.push_back(std::make_unique<DecoderState>(model, capacity));
        alone.push_back(std::make_unique<DecoderState>(model, capacity));
        model.forward(*batched[i], prompt, logits, pool);
        model.forward(*alone[i], prompt, logits, pool);
        next[i] = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      zest::detail::DecoderScratch scratch(model);
      double worst = 0;
      for (int step = 0; step < 6; ++step) {
        std::vector<DecoderState*> states;
        std::vector<size_t> which;
        for (size_t i = 0; i < 5; ++i)
          if (!(i == 3 && step < 2) && !(i == 1 && step > 3)) states.push_back(batched[i].get()), which.push_back(i);
        std::vector<int32_t> ids;
        for (size_t i : which) ids.push_back(next[i]);
        std::vector<float> rows(states.size() * vocab);
        model.forward_batch(states, ids, rows, scratch, pool);
        for (size_t r = 0; r < which.size(); ++r) {
          const size_t i = which[r];
          model.forward(*alone[i], std::span(&next[i], 1), logits, pool);
          worst = std::max(worst, relative_gap(rows.data() + r * vocab, logits.data(), vocab));
          CHECK(batched[i]->length() == alone[i]->length());
          next[i] = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
      }
      // f32: within 1e-5 relative (seen: 1.8e-6; a GEMM of 4 or more rows sums its inputs in
      // blocks, one row in one pass). int8 and int4: exact (integer dot products). bf16: within 2.5e-4
      // (seen: 1.2e-4 on mistral-sw), as the same 1e-7 differences flip roundings of its f16 KV cache.
      const double bound = dtype == zest::DType::f32 ? 1e-5 : dtype == zest::DType::i8 || dtype == zest::DType::i4 ? 0 : 2.5e-4;
      CHECK(worst <= bound);
    }
}

TEST_CASE("forward_batch refuses what it cannot run") {
  const DecoderModel model = DecoderModel::load(test_data("fixtures/tiny-llama"));
  zest::detail::ThreadPool pool(1);
  zest::detail::DecoderScratch scratch(model);
  DecoderState a(model, 4), b(model, 4);
  std::vector<float> logits(2 * model.vocab_size());
  const std::vector<int32_t> one = {5};
  std::vector<DecoderState*> states = {&a};
  CHECK_THROWS_WITH_AS(model.forward_batch(states, one, logits, scratch, pool), doctest::Contains("prefill it first"), zest::Error);
  model.forward(a, std::vector<int32_t>{1, 2, 3}, logits, pool);
  model.forward(b, std::vector<int32_t>{1}, logits, pool);
  states = {&a, &a};
  CHECK_THROWS_WITH_AS(model.forward_batch(states, std::vector<int32_t>{5, 6}, logits, scratch, pool), doctest::Contains("twice"), zest::Error);
  states = {&a, &b};
  CHECK_THROWS_WITH_AS(model.forward_batch(states, std::vector<int32_t>{5, 8000}, logits, scratch, pool), doctest::Contains("outside the vocabulary"), zest::Error);
  CHECK_THROWS_WITH_AS(model.forward_batch(states, one, logits, scratch, pool), doctest::Contains("2 states for 1 ids"), zest::Error);
  model.forward_batch(states, std::vector<int32_t>{5, 6}, logits, scratch, pool);
  CHECK(a.length() == 4);
  model.forward(a, std::vector<int32_t>(a.capacity() - a.length(), 1), logits, pool);
  CHECK_THROWS_WITH_AS(model.forward_batch(states, std::vector<int32_t>{5, 6}, logits, scratch, pool), doctest::Contains("exceed the session's capacity"), zest::Error);
}

TEST_SUITE_END();
