// What the decoder families' config readers share: activations, special ids, the LLaMA-like size
// fields with each configuration class's defaults, and which layers slide.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config_fields.hpp"
#include "zest/io/model_config.hpp"
#include "zest/io/rope_config.hpp"

namespace zest::detail {

inline Activation parse_activation(const ConfigFields& fields, std::string_view key, std::string_view fallback) {
  const std::string name = fields.get_string(key, fallback);
  if (name == "gelu") return Activation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "relu") return Activation::relu;
  fail(Error::Kind::unsupported, fields.file(), ": ", key, " '", name,
       "' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, relu)");
}

// bos/eos/pad ids: present but null means "none", as in Python; absent means the class default.
inline void read_special_ids(const ConfigFields& f, std::optional<int32_t> bos, std::vector<int32_t> eos,
                             std::optional<int32_t> pad, ModelConfig& c) {
  c.bos_token_id = f.contains("bos_token_id") ? f.get_id("bos_token_id") : bos;
  c.eos_token_ids = f.contains("eos_token_id") ? f.get_ids("eos_token_id") : eos;
  c.pad_token_id = f.contains("pad_token_id") ? f.get_id("pad_token_id") : pad;
}

// A LLaMA-like configuration class's defaults (transformers' configuration_<family>.py).
struct DecoderDefaults {
  int64_t vocab_size = 32000, hidden_size = 4096, intermediate_size = 11008, num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 0;             // 0: num_attention_heads
  int64_t head_dim = 0;                        // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  std::string_view hidden_act = "silu", act_key = "hidden_act";
  bool tie_word_embeddings = false;
  int32_t bos = 1, pad = -1;  // -1: none
  std::vector<int32_t> eos = {2};
  bool phi3_rope_names = false;  // "su" and "yarn" mean longrope (Phi3Config)
};

// The fields every LLaMA-like family shares, one rope table for all layers, no window.
inline void read_decoder(const ConfigFields& f, ModelConfig& c, const DecoderDefaults& d) {
  c.vocab_size = f.get_int("vocab_size", d.vocab_size);
  c.hidden_size = f.get_int("hidden_size", d.hidden_size);
  c.intermediate_size = f.get_int("intermediate_size", d.intermediate_size);
  c.num_hidden_layers = f.get_int("num_hidden_layers", d.num_hidden_layers);
  c.num_attention_heads = f.get_int("num_attention_heads", d.num_attention_heads);
  c.num_key_value_heads = f.get_int("num_key_value_heads", d.num_key_value_heads ? d.num_key_value_heads : c.num_attention_heads);
  c.head_dim = f.get_int("head_dim", d.head_dim);
  c.hidden_act = parse_activation(f, d.act_key, d.hidden_act);
  c.max_position_embeddings = f.get_int("max_position_embeddings", d.max_position_embeddings);
  c.norm_eps = f.get_number("rms_norm_eps", d.rms_norm_eps);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", d.tie_word_embeddings);
  c.ropes = {read_rope(f, d.rope_theta, "full_attention", d.phi3_rope_names)};
  c.partial_rotary_factor = f.get_number("partial_rotary_factor", 1.0);
  if (const auto parameters = f.get_object("rope_parameters"))  // transformers 5 may keep it there
    if (const auto factor = parameters->get_number("partial_rotary_factor")) c.partial_rotary_factor = *factor;
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1)) f.invalid("partial_rotary_factor", "must be in (0, 1]");
  if (c.num_hidden_layers > 0 && c.num_hidden_layers <= 100'000) c.layers.assign(size_t(c.num_hidden_layers), {});
  auto id = [](int32_t v) { return v < 0 ? std::nullopt : std::optional<int32_t>(v); };
  read_special_ids(f, id(d.bos), d.eos, id(d.pad), c);
  f.ignore({"pretraining_tp"});  // transformers 4's sliced matmuls: the same product
}

// The attention bias flags of families that have LLaMA's `attention_bias` / `mlp_bias`.
inline void read_bias_flags(const ConfigFields& f, ModelConfig& c) {
  c.qkv_bias = c.attention_output_bias = f.get_bool("attention_bias", false);
  c.mlp_bias = f.get_bool("mlp_bias", false);
}

// Which layers use the sliding window: `layer_types` when present (transformers 4.53+), else
// `is_sliding(i)`. Values other than full_attention / sliding_attention are refused. A sliding
// layer without a window attends to everything, as transformers' masks do with sliding_window None.
template <typename IsSliding>
inline void read_layer_types(const ConfigFields& f, ModelConfig& c, std::optional<int64_t> window, IsSliding is_sliding) {
  std::vector<bool> sliding(c.layers.size());
  if (const nlohmann::json* types = f.find("layer_types")) {
    if (!types->is_array() || types->size() != c.layers.size())
      f.invalid("layer_types", "must list one type per layer (" + std::to_string(c.layers.size()) + ")");
    for (size_t i = 0; i < sliding.size(); ++i) {
      const auto& t = (*types)[i];
      if (t == "sliding_attention") sliding[i] = true;
      else if (t != "full_attention")
        f.unsupported("layer_types", "value " + t.dump() + " is not supported (supported: full_attention, sliding_attention)");
    }
  } else {
    for (size_t i = 0; i < sliding.size(); ++i) sliding[i] = is_sliding(i);
  }
  for (size_t i = 0; i < sliding.size(); ++i)
    if (sliding[i] && window) {
      c.layers[i].window = window;
      c.sliding_window = window;
    }
}

// Qwen2 / Qwen3 / SmolLM3: use_sliding_window, sliding_window and max_window_layers (layers from
// max_window_layers on slide), or layer_types.
inline void read_qwen_windows(const ConfigFields& f, ModelConfig& c, int64_t max_window_layers) {
  const bool use = f.get_bool("use_sliding_window", false);
  const auto window = f.get_int("sliding_window");
  const int64_t first = f.get_int("max_window_layers", max_window_layers);
  if (!use) {
    // transformers writes layer_types from these; without use_sliding_window every layer is full.
    read_layer_types(f, c, std::nullopt, [](size_t) { return false; });
    return;
  }
  read_layer_types(f, c, window.value_or(4096), [&](size_t i) { return int64_t(i) >= first; });
}

}  // namespace zest::detail
