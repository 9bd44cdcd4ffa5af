// Phi3ForCausalLM's config.json (Phi3Config): Phi-3, 3.5 and 4-mini. LLaMA with q/k/v and
// gate/up each stored as one fused tensor, LongRoPE scaling, and a partial rotary factor (4-mini).
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_phi3(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.vocab_size = 32064, .hidden_size = 3072, .intermediate_size = 8192,
                      .max_position_embeddings = 4096, .rms_norm_eps = 1e-5, .bos = 1, .pad = 32000, .eos = {32000}, .phi3_rope_names = true});
  c.layout.fused_qkv = c.layout.fused_gate_up = true;
  read_layer_types(f, c, f.get_int("sliding_window"), [](size_t) { return true; });
}

}  // namespace zest::detail
