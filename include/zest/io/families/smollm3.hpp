// SmolLM3ForCausalLM's config.json (SmolLM3Config): LLaMA where some layers skip RoPE
// (no_rope_layers: 1 = rotary, 0 = none; by default every no_rope_layer_interval-th layer skips it).
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_smollm3(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {.vocab_size = 128256, .hidden_size = 2048, .intermediate_size = 11008,
                      .num_hidden_layers = 36, .num_attention_heads = 16, .num_key_value_heads = 4,
                      .max_position_embeddings = 32768, .rope_theta = 2'000'000.0, .tie_word_embeddings = true,
                      .bos = 128000, .pad = 128004, .eos = {128001}});
  read_bias_flags(f, c);
  read_qwen_windows(f, c, 28);
  const int64_t interval = f.get_int("no_rope_layer_interval", 4);
  if (const nlohmann::json* flags = f.find("no_rope_layers")) {
    if (!flags->is_array() || flags->size() != c.layers.size())
      f.invalid("no_rope_layers", "must hold one 0 or 1 per layer (" + std::to_string(c.layers.size()) + ")");
    for (size_t i = 0; i < c.layers.size(); ++i) {
      const auto& flag = (*flags)[i];
      if (flag != 0 && flag != 1) f.invalid("no_rope_layers", "must hold only 0 and 1, got " + flag.dump());
      c.layers[i].rope = flag == 1 ? 0 : -1;
    }
  } else {
    if (interval <= 0) f.invalid("no_rope_layer_interval", "must be positive");
    for (size_t i = 0; i < c.layers.size(); ++i) c.layers[i].rope = (int64_t(i) + 1) % interval != 0 ? 0 : -1;
  }
}

}  // namespace zest::detail
