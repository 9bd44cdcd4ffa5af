// BertModel / BertForMaskedLM / BertForSequenceClassification's config.json (BertConfig), and
// RobertaConfig / XLMRobertaConfig.
#pragma once

#include <exception>
#include <string>

#include "zest/io/families/common.hpp"

namespace zest::detail {

// The most labels num_labels may ask for without an id2label (each is a "LABEL_i" string).
inline constexpr int64_t kMaxLabels = 100'000;

// BERT, and RoBERTa / XLM-RoBERTa (BERT with positions offset past the padding index).
inline void read_bert(const ConfigFields& f, ModelConfig& c) {
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
  for (const char* key : {"is_decoder", "add_cross_attention"})
    if (f.get_bool(key, false)) f.unsupported(key, "true is not supported: zest runs BERT as an encoder");
  // Keys of Google's original checkpoints (bert-base-chinese) that BertModel does not read.
  f.ignore({"directionality", "pooler_fc_size", "pooler_num_attention_heads", "pooler_num_fc_layers",
            "pooler_size_per_head", "pooler_type", "classifier_dropout"});
  // CrossEncoder's activation: read (and refused when unknown) by the encoder's rerank head.
  f.ignore({"sentence_transformers", "sbert_ce_default_activation_function"});
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
    read_special_ids(f, std::nullopt, {}, 0, c);
    return;
  }
  // RobertaConfig / XLMRobertaConfig: <s> 0, <pad> 1, </s> 2; positions start after the padding index.
  read_special_ids(f, 0, {2}, 1, c);
  if (!c.pad_token_id || *c.pad_token_id < 0)
    f.invalid("pad_token_id", "must be set for " + std::string(to_string(c.model_type)) + " (its positions start after it)");
  c.position_offset = *c.pad_token_id + 1;
  if (c.position_offset >= c.max_position_embeddings)
    f.invalid("max_position_embeddings", "must be more than pad_token_id + 1 = " + std::to_string(c.position_offset));
}

}  // namespace zest::detail
