// A sentence-transformers directory's modules after its Transformer, as sentence-transformers
// reads them: modules.json; Pooling (1_Pooling/config.json, in either form: the
// pooling_mode_* switches, or sentence-transformers 6's {"pooling_mode", "embedding_dimension"});
// Dense (its config.json and model.safetensors: linear then an activation, by the torch class
// name it saves); Normalize; sentence_bert_config.json's max_seq_length; and
// config_sentence_transformers.json's prompts. Also what a CrossEncoder applies to a reranker's
// logit (config.json's sentence_transformers.activation_fn).
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/models/pooling.hpp"
#include "zest/models/weight_reader.hpp"

namespace zest::detail {

// Dense: y = activation(W x + b), W out_features x in_features; f32 (a few thousand weights).
struct DenseModule {
  enum class Act { identity, tanh, sigmoid, relu, gelu, silu } act = Act::tanh;
  size_t in = 0, out = 0;
  std::vector<float> weight, bias;  // bias empty when "bias": false

  // rows x in -> rows x out.
  std::vector<float> apply(std::span<const float> x, size_t rows) const {
    std::vector<float> y(rows * out);
    for (size_t r = 0; r < rows; ++r)
      for (size_t o = 0; o < out; ++o) {
        double sum = bias.empty() ? 0.0 : bias[o];
        for (size_t i = 0; i < in; ++i) sum += double(weight[o * in + i]) * x[r * in + i];
        y[r * out + o] = activate(float(sum));
      }
    return y;
  }

  float activate(float v) const {
    switch (act) {
      case Act::identity: return v;
      case Act::tanh: return std::tanh(v);
      case Act::sigmoid: return 1.0f / (1.0f + std::exp(-v));
      case Act::relu: return v > 0 ? v : 0.0f;
      case Act::gelu: return 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f)));
      case Act::silu: return v / (1.0f + std::exp(-v));
    }
    return v;
  }
};

// What a sentence-transformers directory asks for after its Transformer module.
struct SentenceTransformersConfig {
  Pooling pooling = Pooling::mean;
  bool normalize = false;                 // a Normalize module is present
  bool include_prompt = true;             // false: the prompt's tokens are left out of the pooling
  std::optional<size_t> max_seq_length;   // sentence_bert_config.json: the truncation length
  std::optional<size_t> embedding_dimension;  // 1_Pooling's, checked against the model
  // After pooling, in modules.json's order: a Dense module, or Normalize (dense empty).
  struct Step {
    std::optional<DenseModule> dense;
  };
  std::vector<Step> steps;
  std::map<std::string, std::string> prompts;  // config_sentence_transformers.json
  std::optional<std::string> default_prompt_name;
};

inline Pooling read_pooling_mode(const JsonRef& f) {
  static const char* const kLegacy[][2] = {{"pooling_mode_cls_token", "cls"},
                                           {"pooling_mode_max_tokens", "max"},
                                           {"pooling_mode_mean_tokens", "mean"},
                                           {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
                                           {"pooling_mode_weightedmean_tokens", "weightedmean"},
                                           {"pooling_mode_lasttoken", "lasttoken"}};
  std::vector<std::string> modes;
  if (const nlohmann::json* mode = f.find("pooling_mode")) {
    // sentence-transformers 6: a mode name, or a list of them (concatenated)
    if (mode->is_string()) modes.push_back(mode->get<std::string>());
    else if (mode->is_array())
      for (const auto& m : *mode) {
        if (!m.is_string()) f.wrong_type("pooling_mode", "a mode name or a list of them", *mode);
        modes.push_back(m.get<std::string>());
      }
    else f.wrong_type("pooling_mode", "a mode name or a list of them", *mode);
  } else {
    for (const auto& [key, name] : kLegacy)
      if (f.get_bool(key, false)) modes.push_back(name);
    if (modes.empty()) modes.push_back("mean");  // Pooling's default when none is switched on
  }
  if (modes.size() != 1)
    fail(Error::Kind::unsupported, f.file(), ": selects ", modes.size(),
         " pooling modes (concatenated by sentence-transformers); zest supports one");
  const std::string& m = modes.front();
  if (m == "cls" || m == "mean" || m == "max" || m == "lasttoken") return parse_pooling(m);
  if (m == "mean_sqrt_len_tokens" || m == "weightedmean")
    fail(Error::Kind::unsupported, f.file(), ": pooling mode ", m, " is not supported (cls, mean, max, lasttoken)");
  fail(Error::Kind::format, f.file(), ": unknown pooling mode '", m, "'");
}

inline DenseModule read_dense(const std::filesystem::path& dir) {
  const std::string config_file = (dir / "config.json").string();
  const nlohmann::json config = parse_json_object(read_file(dir / "config.json"), config_file);
  const JsonRef f(config, config_file);
  DenseModule d;
  const auto in = f.get_int("in_features"), out = f.get_int("out_features");
  if (!in || !out || *in <= 0 || *out <= 0) f.invalid("in_features", "and out_features must be positive integers");
  d.in = size_t(*in), d.out = size_t(*out);
  // ST loads the activation by its torch class name; Tanh when the key is absent.
  const std::string act = f.get_string("activation_function", "torch.nn.modules.activation.Tanh");
  using A = DenseModule::Act;
  const std::map<std::string, A> acts{{"torch.nn.modules.linear.Identity", A::identity},
                                      {"torch.nn.modules.activation.Tanh", A::tanh},
                                      {"torch.nn.modules.activation.Sigmoid", A::sigmoid},
                                      {"torch.nn.modules.activation.ReLU", A::relu},
                                      {"torch.nn.modules.activation.GELU", A::gelu},
                                      {"torch.nn.modules.activation.SiLU", A::silu}};
  const auto it = acts.find(act);
  if (it == acts.end())
    fail(Error::Kind::unsupported, config_file, ": activation_function '", act,
         "' is not supported (torch.nn Identity, Tanh, Sigmoid, ReLU, GELU, SiLU)");
  d.act = it->second;
  if (f.get_bool("use_residual", false)) fail(Error::Kind::unsupported, config_file, ": use_residual true is not supported");
  for (const char* key : {"module_input_name", "module_output_name"})
    if (const auto name = f.get_string(key); name && *name != "sentence_embedding")
      fail(Error::Kind::unsupported, config_file, ": ", key, " '", *name, "' is not supported (sentence_embedding)");
  std::error_code ec;
  if (!std::filesystem::exists(dir / "model.safetensors", ec))
    fail(Error::Kind::unsupported, dir.string(), ": a Dense module needs model.safetensors (pytorch_model.bin is not read)");
  const Weights weights = Weights::open(dir);
  const WeightReader w(weights, (dir / "model.safetensors").string(), {""});
  const Tensor m = w.matrix("linear.weight", int64_t(d.out), int64_t(d.in));
  d.weight.assign(m.data<float>().begin(), m.data<float>().end());
  if (f.get_bool("bias", true)) d.bias = w.vector("linear.bias", int64_t(d.out));
  return d;
}

// The directory's sentence-transformers configuration, or nullopt when it has no modules.json.
// Modules other than Transformer, Pooling, Dense and Normalize are errors.
inline std::optional<SentenceTransformersConfig> load_sentence_transformers_config(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path modules_file = dir / "modules.json";
  if (!fs::exists(modules_file, ec)) return std::nullopt;
  const std::string source = modules_file.string();
  nlohmann::json modules = nlohmann::json::parse(read_file(modules_file), nullptr, false);
  if (!modules.is_array()) fail(Error::Kind::format, source, ": expected a JSON list of modules");
  SentenceTransformersConfig st;
  bool pooled = false;
  for (const auto& m : modules) {
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
      fail(Error::Kind::format, source, ": every module needs a string 'type'");
    const std::string type = m["type"].get<std::string>();
    const std::string kind = type.substr(type.rfind('.') + 1);
    const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
    if (kind == "Transformer") continue;
    if ((kind == "Dense" || kind == "Normalize") && !pooled)
      fail(Error::Kind::unsupported, source, ": module ", type, " before Pooling (token-level modules are not supported)");
    if (kind == "Normalize") {
      st.normalize = true;
      st.steps.push_back({});
    } else if (kind == "Dense") {
      st.steps.push_back({read_dense(dir / path)});
    } else if (kind == "Pooling") {
      const std::string config_file = (dir / path / "config.json").string();
      const nlohmann::json config = parse_json_object(read_file(config_file), config_file);
      const JsonRef f(config, config_file);
      st.pooling = read_pooling_mode(f);
      st.include_prompt = f.get_bool("include_prompt", true);
      if (const auto n = f.get_int("embedding_dimension") ? f.get_int("embedding_dimension") : f.get_int("word_embedding_dimension"))
        st.embedding_dimension = size_t(*n);
      pooled = true;
    } else {
      fail(Error::Kind::unsupported, source, ": module ", type, " is not supported (Transformer, Pooling, Dense, Normalize)");
    }
  }
  if (!pooled) fail(Error::Kind::unsupported, source, ": no Pooling module");
  const fs::path bert_config = dir / "sentence_bert_config.json";
  if (fs::exists(bert_config, ec)) {
    const std::string file = bert_config.string();
    const nlohmann::json config = parse_json_object(read_file(bert_config), file);
    const JsonRef f(config, file);
    if (const auto n = f.get_int("max_seq_length")) {
      if (*n <= 0) f.invalid("max_seq_length", "must be positive");
      st.max_seq_length = size_t(*n);
    }
  }
  const fs::path st_config = dir / "config_sentence_transformers.json";
  if (fs::exists(st_config, ec)) {
    const std::string file = st_config.string();
    const nlohmann::json config = parse_json_object(read_file(st_config), file);
    const JsonRef f(config, file);
    if (const nlohmann::json* prompts = f.find("prompts")) {
      if (!prompts->is_object()) f.wrong_type("prompts", "an object of prompt strings", *prompts);
      for (const auto& [name, prompt] : prompts->items()) {
        if (!prompt.is_string()) f.wrong_type("prompts", "an object of prompt strings", *prompts);
        st.prompts[name] = prompt.get<std::string>();
      }
    }
    st.default_prompt_name = f.get_string("default_prompt_name");
    if (st.default_prompt_name && !st.prompts.count(*st.default_prompt_name))
      f.invalid("default_prompt_name", "'" + *st.default_prompt_name + "' is not one of the prompts");
  }
  return st;
}

// CrossEncoder's activation on a reranker's logits: config.json's
// sentence_transformers.activation_fn (or the older sbert_ce_default_activation_function), else
// Sigmoid for one label and Identity otherwise. True: sigmoid.
inline bool cross_encoder_sigmoid(const std::filesystem::path& dir, size_t labels) {
  const std::string file = (dir / "config.json").string();
  const nlohmann::json config = parse_json_object(read_file(dir / "config.json"), file);
  std::optional<std::string> path;
  if (config.contains("sentence_transformers") && config["sentence_transformers"].is_object() &&
      config["sentence_transformers"].contains("activation_fn") && config["sentence_transformers"]["activation_fn"].is_string())
    path = config["sentence_transformers"]["activation_fn"].get<std::string>();
  else if (config.contains("sbert_ce_default_activation_function") && config["sbert_ce_default_activation_function"].is_string())
    path = config["sbert_ce_default_activation_function"].get<std::string>();
  if (!path) return labels == 1;
  if (*path == "torch.nn.modules.activation.Sigmoid") return true;
  if (*path == "torch.nn.modules.linear.Identity") return false;
  fail(Error::Kind::unsupported, file, ": the cross-encoder activation '", *path, "' is not supported (Sigmoid, Identity)");
}

}  // namespace zest::detail
