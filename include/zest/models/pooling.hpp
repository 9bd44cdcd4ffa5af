// Sentence embeddings from an encoder's token states, as sentence-transformers computes them:
// CLS / mean / max pooling over each text's tokens, then optional L2 normalisation; and the
// directory files that say which (modules.json, 1_Pooling/config.json, 2_Normalize,
// sentence_bert_config.json).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"
#include "zest/models/encoder.hpp"

namespace zest {

enum class Pooling { cls, mean, max };

inline std::string_view to_string(Pooling mode) {
  switch (mode) {
    case Pooling::cls: return "cls";
    case Pooling::mean: return "mean";
    case Pooling::max: return "max";
  }
  return "?";
}

inline Pooling parse_pooling(std::string_view name) {
  if (name == "cls") return Pooling::cls;
  if (name == "mean") return Pooling::mean;
  if (name == "max") return Pooling::max;
  detail::fail(Error::Kind::input, "unknown pooling '", name, "' (choose cls, mean or max)");
}

namespace detail {

// One embedding per text (texts() x hidden_size): the first token's state (cls), or the mean
// or the elementwise maximum of the states of all its tokens.
inline std::vector<float> pool_tokens(const EncoderOutput& h, Pooling mode) {
  const size_t d = h.hidden_size;
  std::vector<float> out(h.texts() * d);
  for (size_t t = 0; t < h.texts(); ++t) {
    float* e = out.data() + t * d;
    const size_t n = mode == Pooling::cls ? 1 : h.length(t);
    std::copy_n(h.row(t, 0), d, e);
    for (size_t pos = 1; pos < n; ++pos) {
      const float* r = h.row(t, pos);
      if (mode == Pooling::max)
        for (size_t i = 0; i < d; ++i) e[i] = std::max(e[i], r[i]);
      else
        add(e, r, d);
    }
    if (mode == Pooling::mean)
      for (size_t i = 0; i < d; ++i) e[i] /= float(n);
  }
  return out;
}

// Each row of d divided by its L2 norm (at least 1e-12, as torch.nn.functional.normalize).
inline void normalize_rows(std::span<float> rows, size_t d) {
  for (size_t r = 0; r + d <= rows.size(); r += d) {
    double sq = 0;
    for (size_t i = 0; i < d; ++i) sq += double(rows[r + i]) * rows[r + i];
    const float inv = float(1.0 / std::max(std::sqrt(sq), 1e-12));
    for (size_t i = 0; i < d; ++i) rows[r + i] *= inv;
  }
}

// What a sentence-transformers directory asks for after its Transformer module.
struct SentenceTransformersConfig {
  Pooling pooling = Pooling::mean;
  bool normalize = false;
  bool include_prompt = true;             // zest takes no prompts, so every token is pooled
  std::optional<size_t> max_seq_length;   // sentence_bert_config.json: the truncation length
};

// The directory's sentence-transformers configuration, or nullopt when it has no modules.json.
// Modules other than Transformer, Pooling (CLS, mean or max) and Normalize are errors.
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
    if (kind == "Normalize") {
      st.normalize = true;
    } else if (kind == "Pooling") {
      const std::string config_file = (dir / path / "config.json").string();
      const nlohmann::json config = parse_json_object(read_file(config_file), config_file);
      const JsonRef f(config, config_file);
      std::vector<Pooling> modes;
      if (f.get_bool("pooling_mode_cls_token", false)) modes.push_back(Pooling::cls);
      if (f.get_bool("pooling_mode_mean_tokens", false)) modes.push_back(Pooling::mean);
      if (f.get_bool("pooling_mode_max_tokens", false)) modes.push_back(Pooling::max);
      for (const char* other : {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
        if (f.get_bool(other, false)) fail(Error::Kind::unsupported, config_file, ": ", other, " is not supported");
      if (modes.size() != 1)
        fail(Error::Kind::unsupported, config_file, ": selects ", modes.size(),
                     " of cls / mean / max pooling; zest needs exactly one");
      st.pooling = modes.front();
      st.include_prompt = f.get_bool("include_prompt", true);
      pooled = true;
    } else {
      fail(Error::Kind::unsupported, source, ": module ", type, " is not supported (Transformer, Pooling, Normalize)");
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
  return st;
}

}  // namespace detail
}  // namespace zest
