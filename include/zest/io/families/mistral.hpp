// MistralForCausalLM's config.json (MistralConfig): LLaMA with a sliding window on every layer.
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_mistral(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.intermediate_size = 14336, .num_key_value_heads = 8, .max_position_embeddings = 4096 * 32});
  // Present but null: no window (Mistral 7B v0.2 on); absent: the class default, 4096.
  const std::optional<int64_t> window = f.contains("sliding_window") ? f.get_int("sliding_window") : 4096;
  read_layer_types(f, c, window, [](size_t) { return true; });
}

}  // namespace zest::detail
