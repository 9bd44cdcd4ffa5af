// GenerateParams: how one generate() call picks its tokens, with defaults from a model's
// generation_config.json (detail::GenerationConfig, parsed in zest/io/config.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config.hpp"

namespace zest {

// The defaults are Hugging Face's for a generation_config.json that sets nothing: greedy decoding,
// and when sampling is switched on, temperature 1, top-k 50, no top-p, min-p or penalty. The
// processors run in HF's order: repetition penalty, then (sampling only) temperature, top-k,
// top-p, min-p.
// One generated token's details, for on_token and Generation::tokens: its id, the text it completed
// (often empty mid-character), and with GenerateParams::logprobs its log-probability and the most
// likely alternatives under the model's distribution (the raw logits' log-softmax, before any
// penalty, bias or temperature, as vLLM reports them by default).
struct TokenInfo {
  int32_t id = 0;
  std::string text;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top_logprobs;  // most likely first
};

struct GenerateParams {
  int max_new_tokens = 128;         // HF's own default is max_length = 20 in all; zest counts new tokens
  bool do_sample = false;           // false: greedy (argmax after the repetition penalty)
  float temperature = 1.0f;         // 0 means greedy even when do_sample is set
  int top_k = 50;                   // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off; applies to the prompt's and the generated ids
  std::optional<uint64_t> seed;     // none: seeded from std::random_device
  std::vector<std::string> stop;    // stop strings, matched on the decoded text; one that is a
                                    // special token (<|im_end|>) matches its id
  bool ignore_eos = false;
  int min_new_tokens = 0;           // end-of-sequence ids masked until this many new tokens (HF's MinNewTokensLength)
  // OpenAI's penalties over the ids generated so far: logit -= presence_penalty * (count > 0)
  // + frequency_penalty * count. Range [-2, 2].
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // OpenAI's: added to the id's logit, [-100, 100]
  int logprobs = -1;                // -1: none; k >= 0: each token's log-probability and the k most likely ones
  // Called on every step's logits after the bias, penalties and min_new_tokens mask, before the
  // repetition penalty, temperature and top-k/top-p/min-p: the seam for grammars and other
  // constraints (set a logit to -inf to forbid a token). `ids`: the prompt's and the new ids so far.
  std::function<void(std::span<float> logits, std::span<const int32_t> ids)> logits_processor;
  std::function<bool(std::string_view piece)> on_text;  // streaming; return false to stop
  std::function<bool(const TokenInfo& token)> on_token;  // every new token; return false to stop

  // True when the next token is drawn at random, false when it is the argmax.
  bool sampling() const { return do_sample && temperature > 0.0f; }
};

namespace detail {

// Throws Error(input) naming the first parameter out of its range (the ranges HF's processors
// accept; temperature 0 is accepted and means greedy).
inline void validate(const GenerateParams& p) {
  constexpr auto bad = Error::Kind::input;
  if (p.max_new_tokens <= 0) fail(bad, "max_new_tokens must be positive, got ", p.max_new_tokens);
  if (!(p.temperature >= 0.0f) || std::isinf(p.temperature))
    fail(bad, "temperature must be a finite number >= 0, got ", p.temperature);
  if (p.top_k < 0) fail(bad, "top_k must be >= 0 (0 turns it off), got ", p.top_k);
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) fail(bad, "top_p must be in [0, 1], got ", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail(bad, "min_p must be in [0, 1], got ", p.min_p);
  if (!(p.repetition_penalty > 0.0f) || std::isinf(p.repetition_penalty))
    fail(bad, "repetition_penalty must be a finite number > 0, got ", p.repetition_penalty);
  for (const std::string& s : p.stop)
    if (s.empty()) fail(bad, "stop strings must not be empty");
  if (p.min_new_tokens < 0) fail(bad, "min_new_tokens must be >= 0, got ", p.min_new_tokens);
  if (!(std::fabs(p.presence_penalty) <= 2.0f)) fail(bad, "presence_penalty must be in [-2, 2], got ", p.presence_penalty);
  if (!(std::fabs(p.frequency_penalty) <= 2.0f)) fail(bad, "frequency_penalty must be in [-2, 2], got ", p.frequency_penalty);
  for (const auto& [id, bias] : p.logit_bias)
    if (!(std::fabs(bias) <= 100.0f)) fail(bad, "logit_bias of token ", id, " must be in [-100, 100], got ", bias);
  if (p.logprobs < -1 || p.logprobs > 20) fail(bad, "logprobs must be -1 (none) or 0 to 20, got ", p.logprobs);
}

// The parameters a model's generation_config.json asks for; max_new_tokens keeps zest's default
// when the file does not set it. (Its eos_token_ids stay in the GenerationConfig.)
inline GenerateParams default_params(const GenerationConfig& g) {
  GenerateParams p;
  if (g.max_new_tokens)
    p.max_new_tokens = int(std::min<int64_t>(*g.max_new_tokens, std::numeric_limits<int>::max()));
  p.do_sample = g.do_sample;
  p.temperature = float(g.temperature);
  p.top_k = int(std::min<int64_t>(g.top_k, std::numeric_limits<int>::max()));
  p.top_p = float(g.top_p);
  p.min_p = float(g.min_p);
  p.repetition_penalty = float(g.repetition_penalty);
  return p;
}

}  // namespace detail
}  // namespace zest
