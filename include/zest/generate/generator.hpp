// The generation loop: prefill the prompt into a fresh KV cache, then one token per decode step,
// each picked by a SequenceDecoding, until it says the sequence is over. Text is streamed in whole
// UTF-8 characters.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/sequence.hpp"
#include "zest/models/decoder.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest::detail {

// Runs one generation continuing `state` (empty for a fresh one) with `prompt`, the new ids to
// prefill. `tokenizer` may be null (ids only: no text, no stop strings). Model and State: a
// DecoderModel and its DecoderState, or the CUDA backend's CudaDecoder and CudaState.
template <typename Model, typename State>
Generation generate(const Model& model, const Tokenizer* tokenizer, State& state, std::span<const int32_t> prompt,
                    const GenerateParams& params, std::span<const int32_t> eos_ids, ThreadPool& pool) {
  using clock = std::chrono::steady_clock;
  validate(params);
  if (prompt.empty()) fail(Error::Kind::input, "the prompt has no tokens");
  const size_t limit = model.config().max_sequence_length(), total = state.length() + prompt.size();
  if (total + size_t(params.max_new_tokens) > std::min(limit, state.capacity()))
    fail(Error::Kind::input, "the prompt's ", total, " tokens + max_new_tokens ", params.max_new_tokens,
         " exceed the model's maximum length of ", std::min(limit, state.capacity()), " (max_position_embeddings = ",
         model.config().max_position_embeddings, ")");

  std::vector<float> logits(model.vocab_size());
  // Penalties see every id before the new ones: the cached and the prompt's.
  std::vector<int32_t> context(state.ids().begin(), state.ids().end());
  context.insert(context.end(), prompt.begin(), prompt.end());
  SequenceDecoding sequence(params, tokenizer, context, eos_ids, model.vocab_size());
  Timings timings;
  timings.prompt_tokens = prompt.size();
  auto start = clock::now();
  model.forward(state, prompt, logits, pool);  // also checks the prompt's ids against the vocabulary
  for (bool prefill = true;; prefill = false) {
    const auto [next, done] = sequence.step(logits);
    const auto now = clock::now();
    (prefill ? timings.prefill_s : timings.decode_s) += std::chrono::duration<double>(now - start).count();
    if (done) break;
    start = clock::now();
    model.forward(state, std::span(&next, 1), logits, pool);
    ++timings.decode_steps;
  }
  Generation result = std::move(sequence.result());
  result.timings = timings;
  return result;
}

// A generation from a fresh KV cache sized for the prompt and max_new_tokens.
inline Generation generate(const DecoderModel& model, const Tokenizer* tokenizer, std::span<const int32_t> prompt,
                           const GenerateParams& params, std::span<const int32_t> eos_ids, ThreadPool& pool) {
  validate(params);
  DecoderState state(model, std::min(model.config().max_sequence_length(), prompt.size() + size_t(params.max_new_tokens)));
  return generate(model, tokenizer, state, prompt, params, eos_ids, pool);
}

}  // namespace zest::detail
