// config.json and generation_config.json -> typed structs.
//
// One ModelConfig serves every family (io/model_config.hpp): each family's reader (io/families/)
// reads its configuration class's names with that class's defaults when a field is absent, so
// the model code reads the same fields everywhere. A key that no reader understood stops the load
// (ConfigFields::finish): zest refuses what might change the maths rather than ignore it.
#pragma once

#include <algorithm>
#include <iterator>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config_fields.hpp"
#include "zest/io/families/bert.hpp"
#include "zest/io/families/gemma.hpp"
#include "zest/io/families/gpt2.hpp"
#include "zest/io/families/granite.hpp"
#include "zest/io/families/llama.hpp"
#include "zest/io/families/mistral.hpp"
#include "zest/io/families/olmo2.hpp"
#include "zest/io/families/phi3.hpp"
#include "zest/io/families/qwen2.hpp"
#include "zest/io/families/qwen3.hpp"
#include "zest/io/families/smollm3.hpp"
#include "zest/io/json.hpp"
#include "zest/io/model_config.hpp"
#include "zest/io/read_file.hpp"

namespace zest::detail {

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

// Every family zest reads: config.json's model_type and its reader.
struct Family {
  std::string_view model_type;
  ModelType type;
  void (*read)(const ConfigFields&, ModelConfig&);
};
inline constexpr Family kFamilies[] = {
    {"gpt2", ModelType::gpt2, read_gpt2},
    {"llama", ModelType::llama, read_llama},
    {"mistral", ModelType::mistral, read_mistral},
    {"qwen2", ModelType::qwen2, read_qwen2},
    {"qwen3", ModelType::qwen3, read_qwen3},
    {"gemma2", ModelType::gemma2, read_gemma2},
    {"gemma3_text", ModelType::gemma3_text, read_gemma3_text},
    {"gemma3", ModelType::gemma3, read_gemma3},
    {"phi3", ModelType::phi3, read_phi3},
    {"smollm3", ModelType::smollm3, read_smollm3},
    {"olmo2", ModelType::olmo2, read_olmo2},
    {"granite", ModelType::granite, read_granite},
    {"bert", ModelType::bert, read_bert},
    {"roberta", ModelType::roberta, read_bert},
    {"xlm-roberta", ModelType::xlm_roberta, read_bert},
};

inline std::string supported_model_types() {
  std::string names;
  for (const auto& family : kFamilies) names += (names.empty() ? "" : ", ") + std::string(family.model_type);
  return names;
}

inline void validate(const ConfigFields& f, ModelConfig& c) {
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
  if (c.uses_rope()) {
    const size_t rotary = size_t(double(c.head_dim) * c.partial_rotary_factor);
    if (rotary == 0 || rotary % 2 != 0)
      f.invalid(c.partial_rotary_factor == 1 ? "head_dim" : "partial_rotary_factor",
                "must give an even, non-zero number of rotary dimensions (head_dim " + std::to_string(c.head_dim) + ")");
    for (const auto& rope : c.ropes)
      if (rope.type == RopeType::longrope && rope.short_factor.size() != rotary / 2)
        f.invalid("rope_scaling", "longrope short_factor and long_factor need " + std::to_string(rotary / 2) +
                                      " values (rotary dims / 2), got " + std::to_string(rope.short_factor.size()));
  }
  if (c.sliding_window && *c.sliding_window <= 0) f.invalid("sliding_window", "must be positive");
  if (!(c.norm_eps > 0)) f.invalid("norm eps", "must be positive");
  for (int32_t id : c.eos_token_ids)
    if (id >= c.vocab_size) f.invalid("eos_token_id", "(" + std::to_string(id) + ") is outside the vocabulary");
}

// Parses the text of a config.json; `source` names it in error messages.
inline ModelConfig parse_model_config(std::string_view text, const std::string& source = "config.json") {
  const nlohmann::json json = detail::parse_json_object(text, source);
  const ConfigFields fields(JsonRef(json, source));
  const auto type = fields.get_string("model_type");
  if (!type) detail::fail(Error::Kind::config, source, ": missing 'model_type'");
  const auto family = std::find_if(std::begin(kFamilies), std::end(kFamilies), [&](const Family& f) { return f.model_type == *type; });
  if (family == std::end(kFamilies))
    detail::fail(Error::Kind::unsupported, source, ": model_type '", *type, "' is not supported (supported: ",
                 supported_model_types(), ")");
  ModelConfig config;
  config.model_type = family->type;
  if (const nlohmann::json* architectures = fields.find("architectures")) {
    if (!architectures->is_array()) fields.wrong_type("architectures", "a list of strings", *architectures);
    for (const auto& name : *architectures) {
      if (!name.is_string()) fields.wrong_type("architectures", "a list of strings", *architectures);
      config.architectures.push_back(name.get<std::string>());
    }
  }
  config.torch_dtype = fields.get_string("dtype").value_or(fields.get_string("torch_dtype", ""));
  if (fields.has("quantization_config"))
    fields.unsupported("quantization_config", "is present: zest loads unquantized weights and quantizes them itself");
  family->read(fields, config);
  fields.finish("model_type " + std::string(*type));
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
  // Present but null means "none"; absent means the model's.
  g.bos_token_id = f.raw().contains("bos_token_id") ? f.get_id("bos_token_id") : model.bos_token_id;
  g.eos_token_ids = f.raw().contains("eos_token_id") ? f.get_ids("eos_token_id") : model.eos_token_ids;
  g.pad_token_id = f.raw().contains("pad_token_id") ? f.get_id("pad_token_id") : model.pad_token_id;
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
