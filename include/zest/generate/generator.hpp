// The generation loop: prefill the prompt into a fresh KV cache, then one token per decode step,
// each picked by the Sampler, until an end-of-sequence id, a stop string, the length limit or the
// caller's callback ends it. Text is streamed in whole UTF-8 characters.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/sampler.hpp"
#include "zest/generate/stop_strings.hpp"
#include "zest/models/decoder.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

enum class StopReason { eos, length, stop_string, callback };

inline std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::eos: return "eos";
    case StopReason::length: return "length";
    case StopReason::stop_string: return "stop";
    case StopReason::callback: return "callback";
  }
  return "?";
}

struct Timings {
  size_t prompt_tokens = 0;
  size_t decode_steps = 0;   // one-token forward passes (the first new token comes from the prefill)
  double prefill_s = 0;      // prompt forward pass and first token
  double decode_s = 0;       // all one-token steps
  double prefill_tok_s() const { return prefill_s > 0 ? double(prompt_tokens) / prefill_s : 0; }
  double decode_tok_s() const { return decode_s > 0 ? double(decode_steps) / decode_s : 0; }
};

struct Generation {
  std::string text;           // the new text only, as it continues the prompt (special tokens skipped,
                              // stop string excluded)
  std::vector<int32_t> ids;   // the new ids only (an end-of-sequence id included, as in HF)
  StopReason stop_reason = StopReason::length;
  Timings timings;
};

namespace detail {

// Runs one generation. `tokenizer` may be null (ids only: no text, no stop strings).
inline Generation generate(const DecoderModel& model, const Tokenizer* tokenizer, std::span<const int32_t> prompt,
                           const GenerateParams& params, std::span<const int32_t> eos_ids, ThreadPool& pool) {
  using clock = std::chrono::steady_clock;
  validate(params);
  if (prompt.empty()) fail(Error::Kind::input, "the prompt has no tokens");
  const size_t limit = model.config().max_sequence_length();
  if (prompt.size() + size_t(params.max_new_tokens) > limit)
    fail(Error::Kind::input, "the prompt's ", prompt.size(), " tokens + max_new_tokens ", params.max_new_tokens,
         " exceed the model's maximum length of ", limit, " (max_position_embeddings = ",
         model.config().max_position_embeddings, ")");
  if (!params.stop.empty() && !tokenizer) fail(Error::Kind::input, "stop strings need a tokenizer");

  Generation result;
  result.timings.prompt_tokens = prompt.size();
  DecoderState state(model, prompt.size() + size_t(params.max_new_tokens));
  Sampler sampler(params, model.vocab_size());
  std::vector<float> logits(model.vocab_size());
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.reserve(prompt.size() + size_t(params.max_new_tokens));
  std::optional<Tokenizer::StreamDecoder> decoder;
  if (tokenizer) decoder.emplace(tokenizer->stream_decoder(/*skip_special_tokens=*/true));
  StopStringMatcher stops(params.stop);

  // Sends text to the result and the callback; false when the callback asks to stop.
  auto emit = [&](std::string_view piece) {
    if (piece.empty()) return true;
    result.text += piece;
    return !params.on_text || params.on_text(piece);
  };

  auto start = clock::now();
  model.forward(state, prompt, logits, pool);  // also checks the prompt's ids against the vocabulary
  // The prompt's last token is the decoder's context, so the new text keeps the space that joins
  // it to the prompt (as transformers' pipeline returns it), not decoded as if it began a text.
  if (decoder) decoder->step(prompt.back());
  bool prefill = true;
  for (int i = 0;; ++i) {
    const int32_t next = sampler.next(logits, history);
    history.push_back(next);
    result.ids.push_back(next);
    const bool eos = !params.ignore_eos && std::find(eos_ids.begin(), eos_ids.end(), next) != eos_ids.end();
    bool stop = false;
    if (decoder && !eos) {
      const auto step = stops.push(decoder->step(next));
      if (!emit(step.emit)) {
        result.stop_reason = StopReason::callback;
        stop = true;
      }
      if (step.stopped) {
        result.stop_reason = StopReason::stop_string;
        stop = true;
      }
    }
    if (eos) result.stop_reason = StopReason::eos;
    if (!eos && !stop && i + 1 == params.max_new_tokens) result.stop_reason = StopReason::length;
    const bool done = eos || stop || i + 1 == params.max_new_tokens;
    const auto now = clock::now();
    (prefill ? result.timings.prefill_s : result.timings.decode_s) += std::chrono::duration<double>(now - start).count();
    prefill = false;
    if (done) break;
    start = clock::now();
    model.forward(state, std::span(&next, 1), logits, pool);
    ++result.timings.decode_steps;
  }
  if (decoder && result.stop_reason != StopReason::stop_string && result.stop_reason != StopReason::callback) {
    std::string tail(stops.push(decoder->finish()).emit);
    if (stops.matched()) result.stop_reason = StopReason::stop_string;
    else tail += stops.flush();
    emit(tail);
  }
  return result;
}

}  // namespace detail
}  // namespace zest
