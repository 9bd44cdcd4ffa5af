// Gemma 2 and Gemma 3 (Gemma2Config, Gemma3TextConfig; Gemma3Config holds the latter as
// text_config): LLaMA with the embedding scaled by sqrt(hidden_size), RMSNorms that scale by
// (1 + w), four norms a layer (before and after attention and MLP), a GeGLU MLP, attention scaled
// by query_pre_attn_scalar, and sliding-window layers between the global ones. Gemma 2 soft-caps
// attention scores and logits; Gemma 3 normalises q and k per head and gives its local layers a
// rotary table of their own. (Semantics checked against transformers 4.50 to 5.2 by
// tools/reference/modeling_gemma.py.)
#pragma once

#include <cmath>

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_gemma_common(const ConfigFields& f, ModelConfig& c, const DecoderDefaults& d) {
  read_decoder(f, c, d);
  c.qkv_bias = c.attention_output_bias = f.get_bool("attention_bias", false);
  c.layout.attn_out = "post_attention_layernorm";
  c.layout.mlp_in = "pre_feedforward_layernorm";
  c.layout.mlp_out = "post_feedforward_layernorm";
  c.layout.norm_weight_offset = 1;
  c.layout.embedding_scale = std::sqrt(double(c.hidden_size));
  c.layout.attention_scale = 1.0 / std::sqrt(f.get_number("query_pre_attn_scalar", 256));
  // The modeling code uses hidden_activation; hidden_act is an older name it no longer reads.
  f.ignore({"hidden_act", "cache_implementation"});
}

inline void read_gemma2(const ConfigFields& f, ModelConfig& c) {
  read_gemma_common(f, c, {.vocab_size = 256000, .hidden_size = 2304, .intermediate_size = 9216,
                           .num_hidden_layers = 26, .num_attention_heads = 8, .num_key_value_heads = 4,
                           .head_dim = 256, .max_position_embeddings = 8192, .hidden_act = "gelu_pytorch_tanh",
                           .act_key = "hidden_activation", .tie_word_embeddings = true, .bos = 2, .pad = 0, .eos = {1}});
  c.layout.attn_logit_softcap = f.get_number("attn_logit_softcapping").value_or(0);
  c.layout.final_logit_softcap = f.get_number("final_logit_softcapping").value_or(0);
  // Even layers slide (Gemma2DecoderLayer: not layer_idx % 2).
  read_layer_types(f, c, f.get_int("sliding_window", 4096), [](size_t i) { return i % 2 == 0; });
}

inline void read_gemma3_text(const ConfigFields& f, ModelConfig& c) {
  read_gemma_common(f, c, {.vocab_size = 262208, .hidden_size = 2304, .intermediate_size = 9216,
                           .num_hidden_layers = 26, .num_attention_heads = 8, .num_key_value_heads = 4,
                           .head_dim = 256, .max_position_embeddings = 131072, .rope_theta = 1'000'000.0,
                           .hidden_act = "gelu_pytorch_tanh", .act_key = "hidden_activation",
                           .tie_word_embeddings = true, .bos = 2, .pad = 0, .eos = {1}});
  c.layout.qk_norm = QkNorm::per_head;
  if (f.get_bool("use_bidirectional_attention", false))
    f.unsupported("use_bidirectional_attention", "true (EmbeddingGemma's encoder mode) is not supported");
  // Gemma 3 keeps attn_logit_softcapping in its config but never applies it (transformers 4.50 to
  // 5.2); Gemma3ForCausalLM applies final_logit_softcapping (null in released models).
  f.ignore({"attn_logit_softcapping"});
  c.layout.final_logit_softcap = f.get_number("final_logit_softcapping").value_or(0);
  // Local layers: rope_local_base_freq with no scaling (transformers 4), or rope_parameters'
  // sliding_attention entry (transformers 5).
  RopeParameters local;
  local.theta = f.get_number("rope_local_base_freq", 10000.0);
  if (const auto parameters = f.get_object("rope_parameters"); parameters && parameters->has("sliding_attention"))
    local = read_rope(f, local.theta, "sliding_attention");
  c.ropes.push_back(local);
  // Every sliding_window_pattern-th layer is global (pattern 6: five local, one global).
  const int64_t pattern = f.get_int("sliding_window_pattern", 6);
  if (pattern <= 0) f.invalid("sliding_window_pattern", "must be positive");
  read_layer_types(f, c, f.get_int("sliding_window", 4096), [&](size_t i) { return (int64_t(i) + 1) % pattern != 0; });
  for (auto& layer : c.layers) layer.rope = layer.window ? 1 : 0;
  f.ignore({"_sliding_window_pattern"});
}

// Gemma3ForConditionalGeneration: the language model of text_config; the vision tower is unused.
inline void read_gemma3(const ConfigFields& f, ModelConfig& c) {
  const auto text = f.get_object("text_config");
  if (!text) f.invalid("text_config", "is required for model_type gemma3");
  const ConfigFields t(*text, /*top_level=*/true);
  read_gemma3_text(t, c);
  t.ignore({"model_type"});
  t.finish("gemma3's text_config");
  // transformers 5 names the language model model.language_model.*, transformers 4 language_model.model.*
  // (and its head language_model.lm_head).
  c.layout.weight_prefixes = {"model.language_model.", "language_model.model."};
  c.layout.head_prefixes = {"", "language_model."};
  // Gemma3ForConditionalGeneration never applies final_logit_softcapping (transformers 5.2
  // modeling_gemma3.py: only Gemma3ForCausalLM does).
  c.layout.final_logit_softcap = 0;
  // The head is tied by the outer model's setting when it has one (transformers 5 writes it there).
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", c.tie_word_embeddings);
  f.ignore({"vision_config", "mm_tokens_per_image", "boi_token_index", "eoi_token_index", "image_token_index",
            "image_token_id", "boi_token_id", "eoi_token_id", "initializer_range"});
}

}  // namespace zest::detail
