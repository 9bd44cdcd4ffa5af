// config.json and generation_config.json -> typed structs.
//
// One ModelConfig serves every family: each family's config.json names are read (GPT-2's n_embd,
// BERT's layer_norm_eps, ...) with the defaults of its Hugging Face configuration class when a field
// is absent, and normalised to one vocabulary, so the model code reads the same fields everywhere
// and Mistral or Qwen2 are differences of configuration, not of code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"

namespace zest::detail {

enum class ModelType { gpt2, llama, mistral, qwen2, bert, roberta, xlm_roberta };

// The feed-forward activation, by hidden_act / activation_function.
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
    case ModelType::bert: return "bert";
    case ModelType::roberta: return "roberta";
    case ModelType::xlm_roberta: return "xlm-roberta";
  }
  return "?";
}

struct ModelConfig {
  ModelType model_type = ModelType::llama;
  std::vector<std::string> architectures;
  std::string torch_dtype;  // as saved ("float32", "bfloat16", ...), empty when absent

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

  // Rotary position embeddings (llama family).
  double rope_theta = 10000.0;
  double rope_linear_factor = 1.0;       // rope_scaling {"type": "linear", "factor": f}: positions / f

  // Sliding-window attention: layers from `sliding_window_first_layer` on see at most
  // `sliding_window` keys (mistral: all layers; qwen2: use_sliding_window and max_window_layers).
  std::optional<int64_t> sliding_window;
  int64_t sliding_window_first_layer = 0;

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
  bool uses_rope() const { return model_type != ModelType::gpt2 && !is_encoder(); }
  bool uses_rms_norm() const { return uses_rope(); }
  std::optional<int64_t> sliding_window_of_layer(int64_t layer) const {
    return layer >= sliding_window_first_layer ? sliding_window : std::nullopt;
  }
};

// Sampling defaults, as in transformers' GenerationConfig.
struct GenerationConfig {
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  std::optional<int64_t> max_new_tokens;
  int64_t max_length = 20;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> pad_token_id;
};


inline Activation parse_activation(const JsonRef& fields, std::string_view key, std::string_view fallback) {
  const std::string name = fields.get_string(key, fallback);
  if (name == "gelu") return Activation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "relu") return Activation::relu;
  fail(Error::Kind::unsupported, fields.file(), ": ", key, " '", name,
       "' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, relu)");
}

inline void read_special_ids(const JsonRef& fields, std::optional<int32_t> bos, std::vector<int32_t> eos,
                             std::optional<int32_t>& bos_out, std::vector<int32_t>& eos_out,
                             std::optional<int32_t>& pad_out) {
  // Present but null means "none", as in Python; absent means the class default.
  bos_out = fields.raw().contains("bos_token_id") ? fields.get_id("bos_token_id") : bos;
  eos_out = fields.raw().contains("eos_token_id") ? fields.get_ids("eos_token_id") : eos;
  pad_out = fields.get_id("pad_token_id");
}

// The llama family: llama, mistral, qwen2, with each configuration class's defaults.
inline void read_llama_family(const JsonRef& f, ModelConfig& c) {
  const bool mistral = c.model_type == ModelType::mistral, qwen2 = c.model_type == ModelType::qwen2;
  c.vocab_size = f.get_int("vocab_size", qwen2 ? 151936 : 32000);
  c.hidden_size = f.get_int("hidden_size", 4096);
  c.intermediate_size = f.get_int("intermediate_size", mistral ? 14336 : qwen2 ? 22016 : 11008);
  c.num_hidden_layers = f.get_int("num_hidden_layers", 32);
  c.num_attention_heads = f.get_int("num_attention_heads", 32);
  c.num_key_value_heads = f.get_int("num_key_value_heads", mistral ? 8 : c.num_attention_heads);
  c.head_dim = f.get_int("head_dim", 0);
  c.hidden_act = parse_activation(f, "hidden_act", "silu");
  c.max_position_embeddings = f.get_int("max_position_embeddings", mistral ? 131072 : qwen2 ? 32768 : 2048);
  c.norm_eps = f.get_number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", false);
  c.rope_theta = f.get_number("rope_theta", 10000.0);
  if (const auto scaling = f.get_object("rope_scaling")) {
    const std::string type = scaling->get_string("rope_type").value_or(scaling->get_string("type", "default"));
    if (type == "linear") {
      c.rope_linear_factor = scaling->get_number("factor").value_or(0.0);
      if (!(c.rope_linear_factor > 0)) f.invalid("rope_scaling", "of type linear needs a positive 'factor'");
    } else if (type != "default") {
      fail(Error::Kind::unsupported, f.file(), ": rope_scaling type '", type, "' is not supported (supported: linear)");
    }
  }
  if (qwen2) {
    c.qkv_bias = true;
    if (f.get_bool("use_sliding_window", false)) {
      c.sliding_window = f.get_int("sliding_window", 4096);
      c.sliding_window_first_layer = f.get_int("max_window_layers", 28);
    }
  } else {
    c.qkv_bias = c.attention_output_bias = f.get_bool("attention_bias", false);
    c.mlp_bias = f.get_bool("mlp_bias", false);
    if (mistral)
      c.sliding_window = f.raw().contains("sliding_window") ? f.get_int("sliding_window") : std::optional<int64_t>(4096);
  }
  read_special_ids(f, qwen2 ? std::nullopt : std::optional<int32_t>(1), qwen2 ? std::vector<int32_t>{} : std::vector<int32_t>{2},
                   c.bos_token_id, c.eos_token_ids, c.pad_token_id);
}

inline void read_gpt2(const JsonRef& f, ModelConfig& c) {
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
  c.reorder_and_upcast_attn = f.get_bool("reorder_and_upcast_attn", false);
  read_special_ids(f, 50256, {50256}, c.bos_token_id, c.eos_token_ids, c.pad_token_id);
}

// The most labels num_labels may ask for without an id2label (each is a "LABEL_i" string).
inline constexpr int64_t kMaxLabels = 100'000;

// BERT, and RoBERTa / XLM-RoBERTa (BERT with positions offset past the padding index).
inline void read_bert(const JsonRef& f, ModelConfig& c) {
  const bool roberta = c.model_type != ModelType::bert;
  c.vocab_size = f.get_int("vocab_size", c.model_type == ModelType::roberta ? 50265 : 30522);
  c.hidden_size = f.get_int("hidden_size", 768);
  c.num_hidden_layers = f.get_int("num_hidden_layers", 12);
  c.num_attention_heads = c.num_key_value_heads = f.get_int("num_attention_heads", 12);
  c.intermediate_size = f.get_int("intermediate_size", 3072);
  c.hidden_act = parse_activation(f, "hidden_act", "gelu");
  c.max_position_embeddings = f.get_int("max_position_embeddings", 512);
  c.type_vocab_size = f.get_int("type_vocab_size", 2);
  c.norm_eps = f.get_number("layer_norm_eps", 1e-12);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", true);
  c.qkv_bias = c.attention_output_bias = c.mlp_bias = true;
  if (const std::string position = f.get_string("position_embedding_type", "absolute"); position != "absolute")
    fail(Error::Kind::unsupported, f.file(), ": position_embedding_type '", position, "' is not supported (supported: absolute)");
  // Keys that would make this a different computation (a causal or cross-attending decoder, a
  // quantized checkpoint): refused rather than run as a plain encoder.
  for (const char* key : {"is_decoder", "add_cross_attention"})
    if (f.get_bool(key, false)) fail(Error::Kind::unsupported, f.file(), ": ", key, " true is not supported (zest runs encoders)");
  if (const nlohmann::json* q = f.find("quantization_config"); q && !q->is_null())
    fail(Error::Kind::unsupported, f.file(), ": quantization_config is not supported (zest loads f32, f16 and bf16 weights)");
  c.problem_type = f.get_string("problem_type", "");
  if (const auto labels = f.get_object("id2label")) {
    // Indices "0" to "n-1", each once, as Hugging Face's num_labels = len(id2label) implies: the
    // table is sized by the entries the file holds, never by an index in it.
    const size_t n = labels->raw().size();
    c.id2label.resize(n);
    for (const auto& [key, label] : labels->raw().items()) {
      size_t index = n;
      try {
        index = std::stoul(key);
      } catch (const std::exception&) {
      }
      if (index >= n || std::to_string(index) != key || !label.is_string())
        f.invalid("id2label", "must map the label indices \"0\" to \"" + std::to_string(n - 1) +
                                  "\" to label strings, got \"" + key + "\"");
      c.id2label[index] = label.get<std::string>();
    }
  } else {
    // PretrainedConfig's default: two labels.
    const int64_t n = f.get_int("num_labels", 2);
    if (n < 0 || n > kMaxLabels)
      f.invalid("num_labels", "must be 0 to " + std::to_string(kMaxLabels) + ", got " + std::to_string(n));
    for (int64_t i = 0; i < n; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  if (!roberta) {
    read_special_ids(f, std::nullopt, {}, c.bos_token_id, c.eos_token_ids, c.pad_token_id);
    if (!f.raw().contains("pad_token_id")) c.pad_token_id = 0;
    return;
  }
  // RobertaConfig / XLMRobertaConfig: <s> 0, <pad> 1, </s> 2; positions start after the padding index.
  read_special_ids(f, 0, {2}, c.bos_token_id, c.eos_token_ids, c.pad_token_id);
  if (!f.raw().contains("pad_token_id")) c.pad_token_id = 1;
  if (!c.pad_token_id || *c.pad_token_id < 0)
    f.invalid("pad_token_id", "must be set for " + std::string(to_string(c.model_type)) + " (its positions start after it)");
  c.position_offset = *c.pad_token_id + 1;
  if (c.position_offset >= c.max_position_embeddings)
    f.invalid("max_position_embeddings", "must be more than pad_token_id + 1 = " + std::to_string(c.position_offset));
}

inline void validate(const JsonRef& f, ModelConfig& c) {
  auto positive = [&](std::string_view key, int64_t value) {
    if (value <= 0) f.invalid(key, "must be positive, got " + std::to_string(value));
  };
  positive("vocab_size", c.vocab_size);
  positive("hidden_size", c.hidden_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("num_key_value_heads", c.num_key_value_heads);
  positive("intermediate_size", c.intermediate_size);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_attention_heads != 0)
      f.invalid("hidden_size", "(" + std::to_string(c.hidden_size) + ") is not a multiple of num_attention_heads (" +
                                   std::to_string(c.num_attention_heads) + ")");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  positive("head_dim", c.head_dim);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    f.invalid("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads) +
                                         ") must divide num_attention_heads (" + std::to_string(c.num_attention_heads) + ")");
  if (c.uses_rope() && c.head_dim % 2 != 0) f.invalid("head_dim", "must be even for rotary embeddings");
  if (c.uses_rope() && !(c.rope_theta > 0)) f.invalid("rope_theta", "must be positive");
  if (c.sliding_window && *c.sliding_window <= 0) f.invalid("sliding_window", "must be positive");
  if (!(c.norm_eps > 0)) f.invalid("norm eps", "must be positive");
  for (int32_t id : c.eos_token_ids)
    if (id >= c.vocab_size) f.invalid("eos_token_id", "(" + std::to_string(id) + ") is outside the vocabulary");
}


// Parses the text of a config.json; `source` names it in error messages.
inline ModelConfig parse_model_config(std::string_view text, const std::string& source = "config.json") {
  const nlohmann::json json = detail::parse_json_object(text, source);
  const detail::JsonRef fields(json, source);
  const auto type = fields.get_string("model_type");
  if (!type) detail::fail(Error::Kind::config, source, ": missing 'model_type'");
  ModelConfig config;
  if (*type == "gpt2") config.model_type = ModelType::gpt2;
  else if (*type == "llama") config.model_type = ModelType::llama;
  else if (*type == "mistral") config.model_type = ModelType::mistral;
  else if (*type == "qwen2") config.model_type = ModelType::qwen2;
  else if (*type == "bert") config.model_type = ModelType::bert;
  else if (*type == "roberta") config.model_type = ModelType::roberta;
  else if (*type == "xlm-roberta") config.model_type = ModelType::xlm_roberta;
  else detail::fail(Error::Kind::unsupported, source, ": model_type '", *type, "' is not supported (supported: gpt2, llama, mistral, qwen2, bert, roberta, xlm-roberta)");

  if (const nlohmann::json* architectures = fields.find("architectures")) {
    if (!architectures->is_array()) fields.wrong_type("architectures", "a list of strings", *architectures);
    for (const auto& name : *architectures) {
      if (!name.is_string()) fields.wrong_type("architectures", "a list of strings", *architectures);
      config.architectures.push_back(name.get<std::string>());
    }
  }
  config.torch_dtype = fields.get_string("torch_dtype", "");
  switch (config.model_type) {
    case ModelType::gpt2: detail::read_gpt2(fields, config); break;
    case ModelType::bert:
    case ModelType::roberta:
    case ModelType::xlm_roberta: detail::read_bert(fields, config); break;
    default: detail::read_llama_family(fields, config); break;
  }
  detail::validate(fields, config);
  return config;
}

// `path`: a model directory or its config.json.
inline ModelConfig load_model_config(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file = std::filesystem::is_directory(path, ec) ? path / "config.json" : path;
  return parse_model_config(detail::read_file(file), file.string());
}

// Parses a generation_config.json; special ids it leaves out come from the model's config, as in
// GenerationConfig.from_model_config.
inline GenerationConfig parse_generation_config(std::string_view text, const ModelConfig& model,
                                                const std::string& source = "generation_config.json") {
  const nlohmann::json json = detail::parse_json_object(text, source);
  const detail::JsonRef f(json, source);
  GenerationConfig g;
  g.do_sample = f.get_bool("do_sample", false);
  g.temperature = f.get_number("temperature", 1.0);
  g.top_k = f.get_int("top_k", 50);
  g.top_p = f.get_number("top_p", 1.0);
  g.min_p = f.get_number("min_p", 0.0);
  g.repetition_penalty = f.get_number("repetition_penalty", 1.0);
  g.max_new_tokens = f.get_int("max_new_tokens");
  g.max_length = f.get_int("max_length", 20);
  detail::read_special_ids(f, model.bos_token_id, model.eos_token_ids, g.bos_token_id, g.eos_token_ids, g.pad_token_id);
  if (!f.raw().contains("pad_token_id")) g.pad_token_id = model.pad_token_id;
  if (g.temperature < 0) f.invalid("temperature", "must not be negative");
  if (g.top_k < 0) f.invalid("top_k", "must not be negative");
  if (!(g.top_p > 0 && g.top_p <= 1)) f.invalid("top_p", "must be in (0, 1]");
  if (!(g.min_p >= 0 && g.min_p <= 1)) f.invalid("min_p", "must be in [0, 1]");
  if (!(g.repetition_penalty > 0)) f.invalid("repetition_penalty", "must be positive");
  if (g.max_new_tokens && *g.max_new_tokens < 0) f.invalid("max_new_tokens", "must not be negative");
  return g;
}

// The directory's generation_config.json, or the defaults (with the model's special ids) without one.
inline GenerationConfig load_generation_config(const std::filesystem::path& dir, const ModelConfig& model) {
  const auto file = dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return parse_generation_config("{}", model, file.string());
  return parse_generation_config(detail::read_file(file), model, file.string());
}

}  // namespace zest::detail
