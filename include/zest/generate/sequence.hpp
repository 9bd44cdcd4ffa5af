// One sequence's generation after its prompt: given each position's logits, applies the caller's
// controls (logit bias, presence/frequency penalties, min_new_tokens, a logits processor), picks
// the next token with the Sampler, streams its text, and says when the sequence ends (an
// end-of-sequence id, a stop string or special-token stop, the length limit, a callback). The
// generation loop and the batching engine both drive sequences through it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/sampler.hpp"
#include "zest/generate/stop_strings.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

enum class StopReason { eos, length, stop_string, callback, cancelled };

inline std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::eos: return "eos";
    case StopReason::length: return "length";
    case StopReason::stop_string: return "stop";
    case StopReason::callback: return "callback";
    case StopReason::cancelled: return "cancelled";
  }
  return "?";
}

struct Timings {
  size_t prompt_tokens = 0;  // prefilled
  size_t cached_tokens = 0;  // the prompt's positions a Session's cache already held (not prefilled)
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
  std::vector<TokenInfo> tokens;  // with GenerateParams::logprobs >= 0: one per new id
};

namespace detail {

class SequenceDecoding {
 public:
  // `context`: the ids before the first new one (the prompt, or a session's cache); `tokenizer`
  // may be null (ids only: no text, no stop strings).
  SequenceDecoding(const GenerateParams& params, const Tokenizer* tokenizer, std::span<const int32_t> context,
                   std::span<const int32_t> eos_ids, size_t vocab_size)
      : params_(params), sampler_(params, vocab_size), eos_(eos_ids.begin(), eos_ids.end()), stops_(params.stop) {
    if (context.empty()) fail(Error::Kind::input, "the prompt has no tokens");
    if (!params.stop.empty() && !tokenizer) fail(Error::Kind::input, "stop strings need a tokenizer");
    for (const auto& [id, bias] : params.logit_bias)
      if (id < 0 || size_t(id) >= vocab_size)
        fail(Error::Kind::input, "logit_bias names token ", id, ", outside the vocabulary of ", vocab_size);
    history_.assign(context.begin(), context.end());
    history_.reserve(context.size() + size_t(params.max_new_tokens));
    if (params.presence_penalty != 0 || params.frequency_penalty != 0) counts_.assign(vocab_size, 0);
    if (tokenizer) {
      decoder_.emplace(tokenizer->stream_decoder(/*skip_special_tokens=*/true));
      // The context's last token starts the decoder, so the new text keeps the space that joins it
      // to the prompt (as transformers' pipeline returns it).
      decoder_->step(context.back());
      // A stop that is one special token (<|im_end|>, <end_of_turn>) never shows in the text,
      // which skips special tokens: it matches on its id.
      for (const std::string& stop : params.stop)
        if (const auto id = tokenizer->token_to_id(stop); id && tokenizer->decode({*id}, true).empty())
          stop_ids_.push_back(*id);
    }
  }

  // Picks the token that follows these logits (vocabulary size; overwritten) and streams it.
  // Returns the token, and whether the sequence is over (then finish() has run).
  std::pair<int32_t, bool> step(std::span<float> logits) {
    const size_t n_new = result_.ids.size();
    std::optional<TokenInfo> info;
    if (params_.logprobs >= 0 || params_.on_token) info.emplace();
    if (params_.logprobs >= 0) log_softmax_into(logits);
    for (const auto& [id, bias] : params_.logit_bias) logits[size_t(id)] += bias;
    if (!counts_.empty())
      for (size_t i = 0; i < counts_.size(); ++i)
        if (counts_[i]) logits[i] -= params_.presence_penalty + params_.frequency_penalty * float(counts_[i]);
    if (n_new < size_t(params_.min_new_tokens))
      for (int32_t id : eos_)
        if (id >= 0 && size_t(id) < logits.size()) logits[size_t(id)] = -std::numeric_limits<float>::infinity();
    if (params_.logits_processor) params_.logits_processor(logits, history_);
    const int32_t next = sampler_.next(logits, history_);
    history_.push_back(next);
    result_.ids.push_back(next);
    if (!counts_.empty()) ++counts_[size_t(next)];

    const bool eos = !params_.ignore_eos && std::find(eos_.begin(), eos_.end(), next) != eos_.end();
    const bool stop_id = std::find(stop_ids_.begin(), stop_ids_.end(), next) != stop_ids_.end();
    bool done = eos || stop_id;
    std::string_view piece;  // valid until the next push to stops_
    if (decoder_ && !done) {
      const auto s = stops_.push(decoder_->step(next));
      piece = s.emit;
      if (s.stopped) result_.stop_reason = StopReason::stop_string, done = true;
    }
    if (info) {
      info->id = next;
      info->text = std::string(piece);
      if (params_.logprobs >= 0) {
        info->logprob = logprobs_[size_t(next)];
        info->top_logprobs = top_logprobs(size_t(params_.logprobs));
        result_.tokens.push_back(*info);
      }
    }
    if (!emit(piece) || (params_.on_token && !params_.on_token(*info))) {
      if (!done) result_.stop_reason = StopReason::callback;
      done = true;
    }
    if (eos) result_.stop_reason = StopReason::eos;
    if (stop_id) result_.stop_reason = StopReason::stop_string;
    if (!done && result_.ids.size() == size_t(params_.max_new_tokens)) result_.stop_reason = StopReason::length, done = true;
    if (done) finish();
    return {next, done};
  }

  Generation& result() { return result_; }

 private:
  // Sends text to the result and the on_text callback; false when the callback asks to stop.
  bool emit(std::string_view piece) {
    if (piece.empty()) return true;
    result_.text += piece;
    return !params_.on_text || params_.on_text(piece);
  }

  // Flushes what the decoder and the stop-string matcher still hold, unless a stop or the
  // caller ended the text.
  void finish() {
    if (!decoder_ || result_.stop_reason == StopReason::stop_string || result_.stop_reason == StopReason::callback) return;
    std::string tail(stops_.push(decoder_->finish()).emit);
    if (stops_.matched()) result_.stop_reason = StopReason::stop_string;
    else tail += stops_.flush();
    emit(tail);
  }

  void log_softmax_into(std::span<const float> logits) {
    logprobs_.resize(logits.size());
    const float top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(double(x) - top);
    const float log_sum = float(std::log(sum)) + top;
    for (size_t i = 0; i < logits.size(); ++i) logprobs_[i] = logits[i] - log_sum;
  }

  std::vector<std::pair<int32_t, float>> top_logprobs(size_t k) {
    k = std::min(k, logprobs_.size());
    order_.resize(logprobs_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = int32_t(i);
    auto better = [&](int32_t a, int32_t b) { return logprobs_[a] != logprobs_[b] ? logprobs_[a] > logprobs_[b] : a < b; };
    std::partial_sort(order_.begin(), order_.begin() + ptrdiff_t(k), order_.end(), better);
    std::vector<std::pair<int32_t, float>> top;
    for (size_t j = 0; j < k; ++j) top.emplace_back(order_[j], logprobs_[size_t(order_[j])]);
    return top;
  }

  GenerateParams params_;
  Sampler sampler_;
  std::vector<int32_t> eos_, stop_ids_, history_, order_;
  std::vector<uint32_t> counts_;  // how often each id was generated (presence/frequency penalties)
  std::vector<float> logprobs_;
  std::optional<Tokenizer::StreamDecoder> decoder_;
  StopStringMatcher stops_;
  Generation result_;
};

}  // namespace detail
}  // namespace zest
