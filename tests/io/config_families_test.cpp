// The decoder families' config readers: each family's switches, both config.json forms
// (transformers 4's rope_theta / rope_scaling / torch_dtype, transformers 5's rope_parameters /
// dtype), and the fail-closed rule: a key no reader understood stops the load, naming the key and
// the file.
#include <doctest/doctest.h>

#include <string>

#include "error_of.hpp"
#include "zest/io/config.hpp"

using zest::detail::ModelType;
using zest::detail::parse_model_config;
using zest::detail::QkNorm;
using zest::detail::RopeType;

namespace {

// A small config of `type` with `extra` fields ("" or `, "key": value...`).
std::string config(const std::string& type, const std::string& extra = "") {
  return R"({"model_type": ")" + type + R"(", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 6,
             "intermediate_size": 128, "vocab_size": 256, "eos_token_id": 2)" + extra + "}";
}

}  // namespace

TEST_CASE("rope: transformers 4 and 5 forms read alike") {
  const auto v4 = parse_model_config(config("qwen2", R"(, "rope_theta": 1000000.0, "torch_dtype": "bfloat16")"));
  const auto v5 = parse_model_config(config("qwen2", R"(, "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
                                                       "dtype": "bfloat16")"));
  for (const auto* c : {&v4, &v5}) {
    CHECK(c->ropes.at(0).theta == 1e6);
    CHECK(c->ropes.at(0).type == RopeType::standard);
    CHECK(c->torch_dtype == "bfloat16");
  }
  const std::string llama3 = R"("rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192)";
  const auto a = parse_model_config(config("llama", R"(, "rope_theta": 500000.0, "rope_scaling": {)" + llama3 + "}"));
  const auto b = parse_model_config(config("llama", R"(, "rope_parameters": {"rope_theta": 500000.0, )" + llama3 + "}"));
  for (const auto* c : {&a, &b}) {
    const auto& rope = c->ropes.at(0);
    CHECK(rope.type == RopeType::llama3);
    CHECK(rope.theta == 5e5);
    CHECK(rope.factor == 8.0);
    CHECK(rope.high_freq_factor == 4.0);
    CHECK(rope.original_max_position_embeddings == 8192);
  }
  const auto yarn = parse_model_config(config("qwen2", R"(, "rope_scaling": {"type": "yarn", "factor": 4.0,
                                                          "original_max_position_embeddings": 32768})"));
  CHECK(yarn.ropes.at(0).type == RopeType::yarn);
  const auto dynamic = parse_model_config(config("llama", R"(, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0})"));
  CHECK(dynamic.ropes.at(0).type == RopeType::dynamic);
}

TEST_CASE("families: what each one switches on") {
  const auto qwen3 = parse_model_config(config("qwen3", R"(, "head_dim": 32)"));
  CHECK(qwen3.model_type == ModelType::qwen3);
  CHECK(qwen3.layout.qk_norm == QkNorm::per_head);
  CHECK(qwen3.head_dim == 32);
  CHECK_FALSE(qwen3.qkv_bias);

  const auto gemma2 = parse_model_config(config("gemma2", R"(, "head_dim": 16, "query_pre_attn_scalar": 16,
      "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "sliding_window": 8)"));
  CHECK(gemma2.layout.norm_weight_offset == 1);
  CHECK(gemma2.layout.embedding_scale == doctest::Approx(8.0));
  CHECK(gemma2.layout.attention_scale == doctest::Approx(0.25));
  CHECK(gemma2.layout.attn_logit_softcap == 50.0);
  CHECK(gemma2.layout.final_logit_softcap == 30.0);
  CHECK(gemma2.layout.mlp_out == "post_feedforward_layernorm");
  CHECK(gemma2.layers.at(0).window == 8);  // even layers slide
  CHECK_FALSE(gemma2.layers.at(1).window);
  CHECK(gemma2.hidden_act == zest::detail::Activation::gelu_tanh);

  const auto gemma3 = parse_model_config(config("gemma3_text", R"(, "head_dim": 16, "sliding_window": 8,
      "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window_pattern": 3,
      "rope_scaling": {"rope_type": "linear", "factor": 8.0})"));
  CHECK(gemma3.layout.qk_norm == QkNorm::per_head);
  CHECK(gemma3.ropes.size() == 2);
  CHECK(gemma3.ropes.at(0).type == RopeType::linear);
  CHECK(gemma3.ropes.at(1).theta == 10000.0);
  CHECK(gemma3.ropes.at(1).type == RopeType::standard);
  for (size_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    const bool global = (i + 1) % 3 == 0;
    CHECK(gemma3.layers.at(i).window.has_value() == !global);
    CHECK(gemma3.layers.at(i).rope == (global ? 0 : 1));
  }
  // transformers 5: layer_types and one rope_parameters entry per layer type.
  const auto gemma3_v5 = parse_model_config(config("gemma3_text", R"(, "head_dim": 16, "sliding_window": 8,
      "layer_types": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention"],
      "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})"));
  CHECK(gemma3_v5.ropes.at(0).type == RopeType::linear);
  CHECK(gemma3_v5.ropes.at(0).theta == 1e6);
  CHECK(gemma3_v5.ropes.at(1).theta == 1e4);
  for (size_t i = 0; i < 6; ++i) CHECK(gemma3_v5.layers.at(i).rope == gemma3.layers.at(i).rope);

  const auto phi3 = parse_model_config(config("phi3", R"(, "partial_rotary_factor": 0.75, "original_max_position_embeddings": 32,
      "max_position_embeddings": 128, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, 1, 1, 1, 1],
      "long_factor": [2, 2, 2, 2, 2, 2]})"));
  CHECK(phi3.layout.fused_qkv);
  CHECK(phi3.layout.fused_gate_up);
  CHECK(phi3.rotary_dim() == 12);
  CHECK(phi3.ropes.at(0).type == RopeType::longrope);
  CHECK(phi3.ropes.at(0).original_max_position_embeddings == 32);

  const auto smollm3 = parse_model_config(config("smollm3", R"(, "no_rope_layer_interval": 3)"));
  for (size_t i = 0; i < 6; ++i) CHECK(smollm3.layers.at(i).rope == ((i + 1) % 3 == 0 ? -1 : 0));

  const auto olmo2 = parse_model_config(config("olmo2"));
  CHECK(olmo2.layout.attn_in.empty());
  CHECK(olmo2.layout.attn_out == "post_attention_layernorm");
  CHECK(olmo2.layout.qk_norm == QkNorm::whole);

  const auto granite = parse_model_config(config("granite", R"(, "embedding_multiplier": 12.0, "residual_multiplier": 0.22,
      "attention_multiplier": 0.0078125, "logits_scaling": 8.0)"));
  CHECK(granite.layout.embedding_scale == 12.0);
  CHECK(granite.layout.residual_scale == 0.22);
  CHECK(granite.layout.attention_scale == 0.0078125);
  CHECK(granite.layout.logits_divisor == 8.0);
}

TEST_CASE("fail closed: keys that could change the maths and that zest does not read") {
  struct Case {
    std::string json, expected;
  };
  const Case cases[] = {
      {config("llama", R"(, "attn_logit_softcapping": 50.0)"), "key 'attn_logit_softcapping' is not understood for model_type llama"},
      {config("qwen2", R"(, "final_logit_softcapping": 30.0)"), "key 'final_logit_softcapping' is not understood for model_type qwen2"},
      {config("llama", R"(, "quantization_config": {"quant_method": "gptq", "bits": 4})"), "'quantization_config' is present"},
      {config("llama", R"(, "rope_scaling": {"rope_type": "mrope", "factor": 2})"), "rope_type' 'mrope' is not supported"},
      {config("llama", R"(, "rope_scaling": {"rope_type": "linear", "factor": 2, "mrope_section": [1, 2]})"),
       "key 'mrope_section' is not understood for rope type linear"},
      {config("llama", R"(, "rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0})"), "'factor' is required by rope type linear"},
      {config("llama", R"(, "rope_parameters": {"rope_type": "default"}, "rope_scaling": {"rope_type": "linear", "factor": 2})"),
       "rope_parameters' and rope_scaling are both present"},
      {config("llama", R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8})"), "original_max_position_embeddings"},
      {config("qwen2", R"(, "layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention", "full_attention", "full_attention"])"),
       "value \"chunked_attention\" is not supported"},
      {config("qwen2", R"(, "layer_types": ["full_attention"])"), "must list one type per layer (6)"},
      {config("gemma3_text", R"(, "rope_parameters": {"full_attention": {"rope_theta": 1e6}, "chunked_attention": {"rope_theta": 1e4}})"),
       "layer type 'chunked_attention' is not supported"},
      {config("gemma3_text", R"(, "use_bidirectional_attention": true)"), "use_bidirectional_attention"},
      {config("smollm3", R"(, "no_rope_layers": [1, 1, 2, 1, 1, 1])"), "must hold only 0 and 1, got 2"},
      {config("phi3", R"(, "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [1]},
                          "original_max_position_embeddings": 64)"), "need 8 values"},
      {config("granite", R"(, "position_embedding_multiplier": 2.0)"), "key 'position_embedding_multiplier' is not understood"},
      {config("gemma3", R"(, "text_config": {"hidden_size": 64, "num_attention_heads": 4, "head_dim": 16, "attn_logit_softcapping": 50.0,
                            "vision_soft_tokens": 256})"),
       "key 'vision_soft_tokens' is not understood for gemma3's text_config"},
      {config("mistral", R"(, "clip_qkv": 8.0)"), "key 'clip_qkv' is not understood for model_type mistral"},
      {config("bert", R"(, "is_decoder": true)"), "'is_decoder' true is not supported"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of([&] { parse_model_config(c.json, "dir/config.json"); });
    CAPTURE(c.json);
    CAPTURE(message);
    CHECK(message.find("dir/config.json") == 0);
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("keys that do not change the maths pass") {
  // Dropout rates, training switches and transformers 4's generation defaults.
  const auto c = parse_model_config(config("llama", R"(, "attention_dropout": 0.1, "hidden_dropout": 0.0, "initializer_range": 0.02,
      "use_cache": true, "pretraining_tp": 1, "num_beams": 1, "output_attentions": false, "transformers_version": "5.17.0",
      "architectures": ["LlamaForCausalLM"], "some_future_switch": null)"));
  CHECK(c.model_type == ModelType::llama);
}
