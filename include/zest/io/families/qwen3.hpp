// Qwen3ForCausalLM's config.json (Qwen3Config): Qwen2 without the q/k/v biases, with an RMSNorm
// on each head's queries and keys before RoPE.
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_qwen3(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.vocab_size = 151936, .intermediate_size = 22016, .head_dim = 128,
                      .max_position_embeddings = 32768, .bos = -1, .eos = {}});
  c.qkv_bias = c.attention_output_bias = f.get_bool("attention_bias", false);
  c.layout.qk_norm = QkNorm::per_head;
  read_qwen_windows(f, c, 28);
}

}  // namespace zest::detail
