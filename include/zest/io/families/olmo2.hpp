// Olmo2ForCausalLM's config.json (Olmo2Config): LLaMA with its norms after attention and MLP
// (on each block's output, before the residual add) and an RMSNorm over the whole q and k
// projections.
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_olmo2(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.vocab_size = 50304, .rms_norm_eps = 1e-5, .bos = -1, .pad = 1, .eos = {50279}});
  c.qkv_bias = c.attention_output_bias = f.get_bool("attention_bias", false);
  c.layout.attn_in = "";
  c.layout.attn_out = "post_attention_layernorm";
  c.layout.mlp_in = "";
  c.layout.mlp_out = "post_feedforward_layernorm";
  c.layout.qk_norm = QkNorm::whole;
}

}  // namespace zest::detail
