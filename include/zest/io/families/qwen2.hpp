// Qwen2ForCausalLM's config.json (Qwen2Config): LLaMA with q/k/v biases.
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_qwen2(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.vocab_size = 151936, .intermediate_size = 22016, .max_position_embeddings = 32768,
                      .bos = -1, .eos = {}});
  c.qkv_bias = true;
  read_qwen_windows(f, c, 28);
}

}  // namespace zest::detail
