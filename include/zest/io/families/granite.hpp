// GraniteForCausalLM's config.json (GraniteConfig): LLaMA with four multipliers (on the
// embedding, on each block's output, as the attention scale, and a divisor of the logits).
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_granite(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.bos = 1, .eos = {2}});
  read_bias_flags(f, c);
  c.layout.embedding_scale = f.get_number("embedding_multiplier", 1.0);
  c.layout.residual_scale = f.get_number("residual_multiplier", 1.0);
  c.layout.attention_scale = f.get_number("attention_multiplier", 1.0);
  c.layout.logits_divisor = f.get_number("logits_scaling", 1.0);
  if (!(c.layout.logits_divisor > 0)) f.invalid("logits_scaling", "must be positive");
}

}  // namespace zest::detail
