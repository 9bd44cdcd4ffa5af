// The typed form of a config.json: one ModelConfig for every family. Each family's reader
// (io/families/) turns its configuration class's names and defaults into these fields, so that the
// model code reads one vocabulary and a family is a configuration plus a few named switches
// (DecoderLayout), not a copy of the forward pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/io/rope_config.hpp"

namespace zest::detail {

enum class ModelType { gpt2, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, gemma3, phi3, smollm3, olmo2, granite, bert, roberta, xlm_roberta };

// The feed-forward activation, by hidden_act / activation_function / hidden_activation.
enum class Activation {
  gelu_erf,   // "gelu": exact, with erf
  gelu_tanh,  // "gelu_new", "gelu_pytorch_tanh", "gelu_fast": the tanh approximation
  silu,       // "silu", "swish"
  relu,
};

inline std::string_view to_string(ModelType type) {
  switch (type) {
    case ModelType::gpt2: return "gpt2";
    case ModelType::llama: return "llama";
    case ModelType::mistral: return "mistral";
    case ModelType::qwen2: return "qwen2";
    case ModelType::qwen3: return "qwen3";
    case ModelType::gemma2: return "gemma2";
    case ModelType::gemma3_text: return "gemma3_text";
    case ModelType::gemma3: return "gemma3";
    case ModelType::phi3: return "phi3";
    case ModelType::smollm3: return "smollm3";
    case ModelType::olmo2: return "olmo2";
    case ModelType::granite: return "granite";
    case ModelType::bert: return "bert";
    case ModelType::roberta: return "roberta";
    case ModelType::xlm_roberta: return "xlm-roberta";
  }
  return "?";
}

// Where q and k are normalised after their projection, before RoPE.
enum class QkNorm {
  none,
  per_head,  // Qwen3, Gemma 3: RMSNorm over each head's head_dim values
  whole,     // OLMo 2: RMSNorm over all heads' values of the projection at once
};

// How a decoder family's layer differs from LLaMA's, as data the one forward pass reads.
struct DecoderLayout {
  // Tensor-name stems of the four norm positions of a layer; empty: no norm there.
  //   pre-norm (LLaMA):        attn_in, mlp_in
  //   sandwich (Gemma 2, 3):   all four
  //   post-norm (OLMo 2):      attn_out, mlp_out (applied to the block's output before the residual add)
  std::string attn_in = "input_layernorm", attn_out, mlp_in = "post_attention_layernorm", mlp_out;
  QkNorm qk_norm = QkNorm::none;
  bool fused_qkv = false;       // Phi-3: self_attn.qkv_proj
  bool fused_gate_up = false;   // Phi-3: mlp.gate_up_proj
  float norm_weight_offset = 0;  // Gemma's RMSNorm scales by (1 + w): the offset is added at load
  double embedding_scale = 1;   // Gemma: sqrt(hidden_size); Granite: embedding_multiplier
  double residual_scale = 1;    // Granite: residual_multiplier, on each block's output
  double logits_divisor = 1;    // Granite: logits_scaling
  std::optional<double> attention_scale;  // Gemma: query_pre_attn_scalar^-0.5; Granite: attention_multiplier
  double attn_logit_softcap = 0;   // Gemma 2: scores become cap * tanh(scores / cap); 0: none
  double final_logit_softcap = 0;  // Gemma 2: the same on the logits
  std::vector<std::string> weight_prefixes = {"model.", ""};  // before the layers' names
  std::vector<std::string> head_prefixes = {""};              // before lm_head.weight
};

// One decoder layer's attention: its sliding window (none: full) and its rotary table.
struct LayerAttention {
  std::optional<int64_t> window;
  int rope = 0;  // index into ModelConfig::ropes; -1: this layer has no rotary embedding (SmolLM3)
};

struct ModelConfig {
  ModelType model_type = ModelType::llama;
  std::vector<std::string> architectures;
  std::string torch_dtype;  // as saved ("float32", "bfloat16", ...; transformers 5: "dtype"), empty when absent

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;               // gpt2: n_embd
  int64_t num_hidden_layers = 0;         // gpt2: n_layer
  int64_t num_attention_heads = 0;       // gpt2: n_head
  int64_t num_key_value_heads = 0;       // = num_attention_heads unless GQA/MQA
  int64_t head_dim = 0;                  // hidden_size / num_attention_heads unless given
  int64_t intermediate_size = 0;         // gpt2: n_inner, else 4 * n_embd
  int64_t max_position_embeddings = 0;   // gpt2: n_positions
  Activation hidden_act = Activation::silu;
  double norm_eps = 1e-6;                // layer_norm_epsilon / rms_norm_eps / layer_norm_eps
  bool tie_word_embeddings = false;

  // Which projections carry a bias.
  bool qkv_bias = false;                 // llama: attention_bias; qwen2: always; gpt2, bert: always
  bool attention_output_bias = false;    // llama: attention_bias; qwen2: never; gpt2, bert: always
  bool mlp_bias = false;                 // llama: mlp_bias; gpt2, bert: always

  // Decoders with rotary embeddings: the tables layers use (Gemma 3: global and local), and the
  // share of each head that rotates.
  std::vector<RopeParameters> ropes;
  double partial_rotary_factor = 1.0;
  DecoderLayout layout;
  std::vector<LayerAttention> layers;    // one per layer (decoders)
  std::optional<int64_t> sliding_window; // the window of the layers that slide

  // GPT-2's attention scaling switches.
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool reorder_and_upcast_attn = false;

  // BERT.
  int64_t type_vocab_size = 0;
  std::vector<std::string> id2label;     // classification labels by index
  std::string problem_type;              // "", "single_label_classification", "multi_label_classification", "regression"
  // RoBERTa / XLM-R: position ids start at padding_idx + 1 (pad_token_id + 1), padding keeps padding_idx.
  int64_t position_offset = 0;

  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> pad_token_id;

  bool is_encoder() const {
    return model_type == ModelType::bert || model_type == ModelType::roberta || model_type == ModelType::xlm_roberta;
  }
  bool uses_rope() const { return !ropes.empty(); }
  bool uses_rms_norm() const { return model_type != ModelType::gpt2 && !is_encoder(); }
  size_t rotary_dim() const { return size_t(double(head_dim) * partial_rotary_factor) / 2 * 2; }
  // The most positions a sequence may hold: max_position_embeddings, but for dynamic NTK scaling,
  // whose point is to stretch the trained context, factor times that.
  size_t max_sequence_length() const {
    if (!ropes.empty() && ropes.front().type == RopeType::dynamic)
      return size_t(double(max_position_embeddings) * ropes.front().factor);
    return size_t(max_position_embeddings);
  }
};

}  // namespace zest::detail
