// GPT2LMHeadModel's config.json (GPT2Config).
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_gpt2(const ConfigFields& f, ModelConfig& c) {
  c.vocab_size = f.get_int("vocab_size", 50257);
  c.max_position_embeddings = f.get_int("n_positions", 1024);
  c.hidden_size = f.get_int("n_embd", 768);
  c.num_hidden_layers = f.get_int("n_layer", 12);
  c.num_attention_heads = c.num_key_value_heads = f.get_int("n_head", 12);
  c.intermediate_size = f.get_int("n_inner", 4 * c.hidden_size);
  c.hidden_act = parse_activation(f, "activation_function", "gelu_new");
  c.norm_eps = f.get_number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", true);
  c.qkv_bias = c.attention_output_bias = c.mlp_bias = true;
  c.scale_attn_weights = f.get_bool("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = f.get_bool("scale_attn_by_inverse_layer_idx", false);
  c.reorder_and_upcast_attn = f.get_bool("reorder_and_upcast_attn", false);  // an f32 upcast: zest computes in f32
  if (c.num_hidden_layers > 0 && c.num_hidden_layers <= 100'000) c.layers.assign(size_t(c.num_hidden_layers), {});
  // n_ctx: an old alias of n_positions; summary_*: GPT2DoubleHeadsModel's multiple-choice head.
  f.ignore({"n_ctx", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
            "summary_first_dropout"});
  if (f.get_bool("add_cross_attention", false)) f.unsupported("add_cross_attention", "true is not supported");
  read_special_ids(f, 50256, {50256}, std::nullopt, c);
}

}  // namespace zest::detail
