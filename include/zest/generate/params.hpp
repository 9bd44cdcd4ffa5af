// GenerateParams: how to pick the next tokens; GenerationConfig: a model's generation_config.json.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/error.hpp"

namespace zest {

// The defaults are Hugging Face's for a generation_config.json that sets nothing: greedy decoding,
// and when sampling is switched on, temperature 1, top-k 50, no top-p, min-p or penalty. The
// processors run in HF's order: repetition penalty, then (sampling only) temperature, top-k,
// top-p, min-p.
struct GenerateParams {
  int max_new_tokens = 128;        // HF's own default is max_length = 20 in all; zest counts new tokens
  bool do_sample = false;          // false: greedy (argmax after the repetition penalty)
  float temperature = 1.0f;        // 0 means greedy even when do_sample is set
  int top_k = 50;                  // 0: off
  float top_p = 1.0f;              // 1: off
  float min_p = 0.0f;              // 0: off
  float repetition_penalty = 1.0f; // 1: off; applies to the prompt's and the generated ids
  std::optional<uint64_t> seed;    // none: seeded from std::random_device
  std::vector<std::string> stop;   // stop strings, matched on the decoded text
  bool ignore_eos = false;
  std::function<bool(std::string_view piece)> on_text;  // streaming; return false to stop

  // True when the next token is drawn at random, false when it is the argmax.
  bool sampling() const { return do_sample && temperature > 0.0f; }
};

// Throws Error(input) naming the first parameter out of its range (HF's own checks; temperature
// 0 is accepted and means greedy).
inline void validate(const GenerateParams& p) {
  using detail::fail;
  constexpr auto bad = Error::Kind::input;
  if (p.max_new_tokens <= 0) fail(bad, "max_new_tokens must be positive, got ", p.max_new_tokens);
  if (!(p.temperature >= 0.0f) || std::isinf(p.temperature))
    fail(bad, "temperature must be a finite number >= 0, got ", p.temperature);
  if (p.top_k < 0) fail(bad, "top_k must be >= 0 (0 turns it off), got ", p.top_k);
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) fail(bad, "top_p must be in [0, 1], got ", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail(bad, "min_p must be in [0, 1], got ", p.min_p);
  if (!(p.repetition_penalty > 0.0f) || std::isinf(p.repetition_penalty))
    fail(bad, "repetition_penalty must be a finite number > 0, got ", p.repetition_penalty);
  for (const std::string& s : p.stop)
    if (s.empty()) fail(bad, "stop strings must not be empty");
}

// What generation_config.json holds: default GenerateParams and the special token ids.
struct GenerationConfig {
  GenerateParams defaults;
  std::vector<int32_t> eos_token_ids;  // the file may give one id or a list
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;

  // Parses the JSON text of a generation_config.json; `source` names it in error messages.
  static GenerationConfig from_json(std::string_view text, std::string_view source = "generation_config.json");
  // Reads a file; a directory means its generation_config.json, and when that file is absent the
  // result is HF's defaults with no special ids.
  static GenerationConfig from_file(const std::filesystem::path& file_or_dir);
};

namespace detail {

// Reads `key` into `out` when present and not null; a value of the wrong type is a config error.
template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out, std::string_view source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  bool ok;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    ok = it->is_number_integer() && it->get<int64_t>() >= std::numeric_limits<T>::min() &&
         it->get<int64_t>() <= std::numeric_limits<T>::max();
  } else {
    ok = it->is_number();
  }
  if (!ok) fail(Error::Kind::config, source, ": field \"", key, "\" has the wrong type or range: ", it->dump());
  out = it->get<T>();
}

inline int32_t token_id(const nlohmann::json& v, const char* key, std::string_view source) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
    fail(Error::Kind::config, source, ": field \"", key, "\" must be a token id (or a list of them), got ", v.dump());
  return static_cast<int32_t>(v.get<int64_t>());
}

inline std::optional<int32_t> optional_id(const nlohmann::json& j, const char* key, std::string_view source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return token_id(*it, key, source);
}

}  // namespace detail

inline GenerationConfig GenerationConfig::from_json(std::string_view text, std::string_view source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) detail::fail(Error::Kind::format, source, ": not valid JSON");
  if (!j.is_object()) detail::fail(Error::Kind::format, source, ": expected a JSON object");
  GenerationConfig c;
  GenerateParams& p = c.defaults;
  detail::read_field(j, "max_new_tokens", p.max_new_tokens, source);
  detail::read_field(j, "do_sample", p.do_sample, source);
  detail::read_field(j, "temperature", p.temperature, source);
  detail::read_field(j, "top_k", p.top_k, source);
  detail::read_field(j, "top_p", p.top_p, source);
  detail::read_field(j, "min_p", p.min_p, source);
  detail::read_field(j, "repetition_penalty", p.repetition_penalty, source);
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    if (it->is_array()) {
      for (const auto& v : *it) c.eos_token_ids.push_back(detail::token_id(v, "eos_token_id", source));
    } else {
      c.eos_token_ids.push_back(detail::token_id(*it, "eos_token_id", source));
    }
  }
  c.bos_token_id = detail::optional_id(j, "bos_token_id", source);
  c.pad_token_id = detail::optional_id(j, "pad_token_id", source);
  try {
    validate(p);
  } catch (const Error& e) {
    detail::fail(Error::Kind::config, source, ": ", e.what());
  }
  return c;
}

inline GenerationConfig GenerationConfig::from_file(const std::filesystem::path& file_or_dir) {
  std::filesystem::path path = file_or_dir;
  if (std::filesystem::is_directory(path)) {
    path /= "generation_config.json";
    if (!std::filesystem::exists(path)) return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::fail(Error::Kind::io, path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return from_json(text.str(), path.string());
}

}  // namespace zest
