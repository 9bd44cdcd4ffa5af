// A config.json object read field by field, remembering which fields were read, so that what is
// left over can be refused: a key that changes the maths and that zest does not read (an
// attention variant, a quantization_config, a rope kind) must stop the load, never be skipped.
// A family's reader reads every key it understands, names the keys that do not change inference
// (`ignore`), and `finish` refuses the rest unless they are among the keys every
// transformers configuration may carry (kCommonKeys) or are null.
#pragma once

#include <algorithm>
#include <iterator>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"

namespace zest::detail {

// Keys of transformers' PretrainedConfig (4.x and 5.x) and of the trainers that write config.json,
// none of which changes the forward pass of a model zest loads: bookkeeping, training switches,
// the generation defaults that transformers 4 kept in config.json (generation_config.json is
// what zest reads for those), and label names (read by the encoders that use them).
inline constexpr std::string_view kCommonKeys[] = {
    "_name_or_path", "_attn_implementation_autoset", "_commit_hash", "architectures", "auto_map", "transformers_version",
    "torch_dtype", "dtype", "use_cache", "output_attentions", "output_hidden_states", "return_dict", "torchscript",
    "use_bfloat16", "tf_legacy_loss", "pruned_heads", "chunk_size_feed_forward", "finetuning_task", "prefix",
    "task_specific_params", "tokenizer_class", "initializer_range", "initializer_factor", "gradient_checkpointing",
    "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id", "id2label", "label2id",
    "num_labels", "problem_type", "max_length", "min_length", "do_sample", "early_stopping", "num_beams",
    "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
    "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
    "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
    "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens", "cross_attention_hidden_size",
    "tie_encoder_decoder", "use_return_dict", "model_type"};

// Training-only keys by their form: dropout rates ("attention_dropout", "resid_pdrop",
// "hidden_dropout_prob", "classifier_dropout", ...) are identities at inference.
inline bool is_dropout_key(std::string_view key) {
  return key.find("dropout") != std::string_view::npos || key.ends_with("_pdrop");
}

class ConfigFields {
 public:
  // `json` and its file name must outlive this; `top_level`: the common keys may appear.
  explicit ConfigFields(JsonRef json, bool top_level = true) : json_(std::move(json)), top_level_(top_level) {}

  const JsonRef& json() const { return json_; }
  std::string_view file() const { return json_.file(); }

  // JsonRef's getters, each marking the key as understood.
  std::optional<int64_t> get_int(std::string_view key) const { return mark(key).get_int(key); }
  int64_t get_int(std::string_view key, int64_t fallback) const { return mark(key).get_int(key, fallback); }
  std::optional<double> get_number(std::string_view key) const { return mark(key).get_number(key); }
  double get_number(std::string_view key, double fallback) const { return mark(key).get_number(key, fallback); }
  std::optional<bool> get_bool(std::string_view key) const { return mark(key).get_bool(key); }
  bool get_bool(std::string_view key, bool fallback) const { return mark(key).get_bool(key, fallback); }
  std::optional<std::string> get_string(std::string_view key) const { return mark(key).get_string(key); }
  std::string get_string(std::string_view key, std::string_view fallback) const {
    return mark(key).get_string(key, fallback);
  }
  std::vector<int32_t> get_ids(std::string_view key) const { return mark(key).get_ids(key); }
  std::optional<int32_t> get_id(std::string_view key) const { return mark(key).get_id(key); }
  std::optional<JsonRef> get_object(std::string_view key) const { return mark(key).get_object(key); }
  const nlohmann::json* find(std::string_view key) const { return mark(key).find(key); }
  // Present and not null.
  bool has(std::string_view key) const { return mark(key).has(key); }
  // Present at all, null included (where null and absent differ, as for eos_token_id).
  bool contains(std::string_view key) const { return mark(key).raw().contains(key); }

  // A list of numbers (rope factors).
  std::vector<double> get_numbers(std::string_view key) const {
    std::vector<double> out;
    if (const nlohmann::json* value = find(key)) {
      if (!value->is_array()) json_.wrong_type(key, "a list of numbers", *value);
      for (const auto& x : *value) {
        if (!x.is_number()) json_.wrong_type(key, "a list of numbers", *value);
        out.push_back(x.get<double>());
      }
    }
    return out;
  }

  // Keys this family's configuration writes that do not change inference.
  void ignore(std::initializer_list<std::string_view> keys) const {
    for (std::string_view key : keys) mark(key);
  }

  [[noreturn]] void invalid(std::string_view key, std::string_view why) const { json_.invalid(key, why); }
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& got) const {
    json_.wrong_type(key, expected, got);
  }
  // A key whose present value zest does not implement.
  [[noreturn]] void unsupported(std::string_view key, std::string_view why) const {
    fail(Error::Kind::unsupported, where(), ": '", key, "' ", why);
  }

  // Refuses the first key that was neither read nor ignored; `family` names the reader.
  void finish(std::string_view family) const {
    for (const auto& [key, value] : json_.raw().items()) {
      if (value.is_null() || understood_.count(key)) continue;
      if (top_level_ && (is_dropout_key(key) ||
                         std::find(std::begin(kCommonKeys), std::end(kCommonKeys), key) != std::end(kCommonKeys)))
        continue;
      fail(Error::Kind::unsupported, where(), ": key '", key, "' is not understood for ", family,
           ": zest refuses what could change the model's output rather than ignore it");
    }
  }

 private:
  const JsonRef& mark(std::string_view key) const {
    understood_.emplace(key);
    return json_;
  }
  std::string where() const {
    return json_.path() == "$" ? std::string(json_.file()) : std::string(json_.file()) + ": " + json_.path();
  }

  JsonRef json_;
  bool top_level_;
  mutable std::set<std::string, std::less<>> understood_;
};

}  // namespace zest::detail
