// config.json / generation_config.json: the fixtures' values, Hugging Face's defaults for absent
// fields (those of transformers' GPT2Config, LlamaConfig, MistralConfig, Qwen2Config, BertConfig,
// GenerationConfig), and errors that name the file and the field.
#include <doctest/doctest.h>

#include <string>

#include "error_of.hpp"
#include "zest/io/config.hpp"

using zest::detail::Activation;
using zest::detail::ModelType;
using zest::detail::parse_model_config;

namespace {

std::string fixture(const std::string& name) { return std::string(ZEST_TEST_DATA) + "/fixtures/" + name; }

}  // namespace

TEST_CASE("fixture configs") {
  const auto gpt2 = zest::detail::load_model_config(fixture("tiny-gpt2"));
  CHECK(gpt2.model_type == ModelType::gpt2);
  CHECK(gpt2.architectures == std::vector<std::string>{"GPT2LMHeadModel"});
  CHECK(gpt2.hidden_size == 64);
  CHECK(gpt2.num_hidden_layers == 2);
  CHECK(gpt2.num_attention_heads == 4);
  CHECK(gpt2.num_key_value_heads == 4);
  CHECK(gpt2.head_dim == 16);
  CHECK(gpt2.intermediate_size == 256);  // n_inner null: 4 * n_embd
  CHECK(gpt2.max_position_embeddings == 1024);
  CHECK(gpt2.hidden_act == Activation::gelu_tanh);
  CHECK(gpt2.norm_eps == 1e-5);
  CHECK(gpt2.tie_word_embeddings);
  CHECK(gpt2.qkv_bias);
  CHECK(gpt2.mlp_bias);
  CHECK(gpt2.eos_token_ids == std::vector<int32_t>{50256});
  CHECK_FALSE(gpt2.uses_rope());

  const auto llama = zest::detail::load_model_config(fixture("tiny-llama") + "/config.json");
  CHECK(llama.model_type == ModelType::llama);
  CHECK(llama.vocab_size == 8000);
  CHECK(llama.num_key_value_heads == 2);
  CHECK(llama.head_dim == 16);
  CHECK(llama.intermediate_size == 192);
  CHECK(llama.hidden_act == Activation::silu);
  CHECK(llama.norm_eps == 1e-5);
  CHECK_FALSE(llama.tie_word_embeddings);
  CHECK_FALSE(llama.qkv_bias);
  CHECK(llama.ropes.at(0).theta == 10000.0);
  CHECK(llama.ropes.at(0).type == zest::detail::RopeType::standard);
  CHECK_FALSE(llama.sliding_window);
  CHECK(llama.bos_token_id == 1);
  CHECK(llama.uses_rms_norm());

  const auto qwen2 = zest::detail::load_model_config(fixture("tiny-qwen2"));
  CHECK(qwen2.model_type == ModelType::qwen2);
  CHECK(qwen2.qkv_bias);
  CHECK_FALSE(qwen2.attention_output_bias);
  CHECK_FALSE(qwen2.mlp_bias);
  CHECK(qwen2.tie_word_embeddings);
  CHECK(qwen2.ropes.at(0).theta == 1e6);
  CHECK(qwen2.norm_eps == 1e-6);
  CHECK_FALSE(qwen2.sliding_window);  // use_sliding_window: false
  CHECK(qwen2.torch_dtype == "bfloat16");

  const auto bert = zest::detail::load_model_config(fixture("tiny-bert"));
  CHECK(bert.model_type == ModelType::bert);
  CHECK(bert.hidden_act == Activation::gelu_erf);
  CHECK(bert.norm_eps == 1e-12);
  CHECK(bert.type_vocab_size == 2);
  CHECK(bert.pad_token_id == 0);
  CHECK(bert.id2label == std::vector<std::string>{"LABEL_0", "LABEL_1"});
  CHECK(bert.intermediate_size == 256);
}

TEST_CASE("defaults of each family when fields are absent") {
  const auto llama = parse_model_config(R"({"model_type": "llama"})");
  CHECK(llama.vocab_size == 32000);
  CHECK(llama.hidden_size == 4096);
  CHECK(llama.intermediate_size == 11008);
  CHECK(llama.num_key_value_heads == 32);
  CHECK(llama.head_dim == 128);
  CHECK(llama.max_position_embeddings == 2048);
  CHECK(llama.norm_eps == 1e-6);
  CHECK(llama.bos_token_id == 1);
  CHECK(llama.eos_token_ids == std::vector<int32_t>{2});

  const auto mistral = parse_model_config(R"({"model_type": "mistral"})");
  CHECK(mistral.intermediate_size == 14336);
  CHECK(mistral.num_key_value_heads == 8);
  CHECK(mistral.max_position_embeddings == 131072);
  CHECK(mistral.sliding_window == 4096);
  CHECK(mistral.layers.at(0).window == 4096);
  CHECK_FALSE(parse_model_config(R"({"model_type": "mistral", "sliding_window": null})").sliding_window);

  const auto qwen2 = parse_model_config(R"({"model_type": "qwen2"})");
  CHECK(qwen2.vocab_size == 151936);
  CHECK(qwen2.intermediate_size == 22016);
  CHECK(qwen2.max_position_embeddings == 32768);
  CHECK_FALSE(qwen2.bos_token_id);
  const auto windowed = parse_model_config(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 64,
                                              "max_window_layers": 3, "num_hidden_layers": 4})");
  CHECK_FALSE(windowed.layers.at(2).window);
  CHECK(windowed.layers.at(3).window == 64);

  const auto gpt2 = parse_model_config(R"({"model_type": "gpt2"})");
  CHECK(gpt2.vocab_size == 50257);
  CHECK(gpt2.hidden_size == 768);
  CHECK(gpt2.intermediate_size == 3072);
  CHECK(gpt2.bos_token_id == 50256);

  const auto bert = parse_model_config(R"({"model_type": "bert", "id2label": {"0": "NEG", "1": "POS", "2": "MIXED"},
                                          "problem_type": "multi_label_classification"})");
  CHECK(bert.vocab_size == 30522);
  CHECK(bert.max_position_embeddings == 512);
  CHECK(bert.id2label == std::vector<std::string>{"NEG", "POS", "MIXED"});
  CHECK(bert.problem_type == "multi_label_classification");
}

TEST_CASE("optional features") {
  const auto c = parse_model_config(R"({"model_type": "llama", "hidden_size": 96, "num_attention_heads": 4,
      "head_dim": 32, "num_key_value_heads": 1, "attention_bias": true, "mlp_bias": true,
      "rope_scaling": {"type": "linear", "factor": 2.0}, "eos_token_id": [2, 7], "bos_token_id": null})");
  CHECK(c.head_dim == 32);
  CHECK(c.num_key_value_heads == 1);
  CHECK(c.qkv_bias);
  CHECK(c.attention_output_bias);
  CHECK(c.mlp_bias);
  CHECK(c.ropes.at(0).type == zest::detail::RopeType::linear);
  CHECK(c.ropes.at(0).factor == 2.0);
  CHECK(c.eos_token_ids == std::vector<int32_t>{2, 7});
  CHECK_FALSE(c.bos_token_id);
  CHECK(parse_model_config(R"({"model_type": "llama", "rope_scaling": {"rope_type": "default"}})").ropes.at(0).type ==
        zest::detail::RopeType::standard);
  CHECK(parse_model_config(R"({"model_type": "gpt2", "activation_function": "relu"})").hidden_act == Activation::relu);
}

TEST_CASE("bad configs name the file and the field") {
  struct Case {
    const char* json;
    const char* expected;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"[1]", "not a JSON object"},
      {"{}", "missing 'model_type'"},
      {R"({"model_type": "t5"})", "model_type 't5' is not supported"},
      {R"({"model_type": 5})", "field 'model_type' must be a string"},
      {R"({"model_type": "llama", "hidden_size": "big"})", "field 'hidden_size' must be an integer, got \"big\""},
      {R"({"model_type": "llama", "hidden_size": 64.5})", "field 'hidden_size' must be an integer"},
      {R"({"model_type": "llama", "hidden_size": -64})", "field 'hidden_size' must be positive"},
      {R"({"model_type": "llama", "hidden_size": 100, "num_attention_heads": 3})", "is not a multiple of num_attention_heads"},
      {R"({"model_type": "llama", "num_key_value_heads": 5})", "must divide num_attention_heads"},
      {R"({"model_type": "llama", "hidden_act": "mish"})", "hidden_act 'mish' is not supported"},
      {R"({"model_type": "llama", "rope_scaling": {"type": "mrope", "factor": 4}})", "'mrope' is not supported"},
      {R"({"model_type": "llama", "rope_scaling": {"type": "linear"}})", "field 'factor' is required by rope type linear"},
      {R"({"model_type": "llama", "rope_scaling": 3})", "field 'rope_scaling' must be an object"},
      {R"({"model_type": "llama", "tie_word_embeddings": "yes"})", "must be true or false"},
      {R"({"model_type": "llama", "eos_token_id": [2, "x"]})", "must be a token id or a list of token ids"},
      {R"({"model_type": "llama", "eos_token_id": 40000})", "outside the vocabulary"},
      {R"({"model_type": "llama", "bos_token_id": [1, 2]})", "must be a single token id"},
      {R"({"model_type": "llama", "architectures": "Llama"})", "field 'architectures' must be a list of strings"},
      {R"({"model_type": "llama", "head_dim": 15, "hidden_size": 60, "num_attention_heads": 4})", "even, non-zero number of rotary dimensions"},
      {R"({"model_type": "bert", "id2label": {"x": "A"}})", "id2label"},
      {R"({"model_type": "bert", "id2label": {"0": "A", "999999999": "B"}})", "indices \"0\" to \"1\" to label strings, got \"999999999\""},
      {R"({"model_type": "bert", "id2label": {"0": "A", "01": "B"}})", "got \"01\""},
      {R"({"model_type": "bert", "num_labels": 1000000000})", "field 'num_labels' must be 0 to 100000, got 1000000000"},
      {R"({"model_type": "bert", "position_embedding_type": "relative_key"})", "position_embedding_type 'relative_key'"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.json));
    const std::string message = error_of([&] { parse_model_config(c.json, "dir/config.json"); });
    CAPTURE(message);
    CHECK(message.find("dir/config.json") == 0);
    CHECK(message.find(c.expected) != std::string::npos);
  }
  CHECK(error_of([] { zest::detail::load_model_config("/nonexistent/dir"); }).find("/nonexistent/dir: cannot open") == 0);
}

TEST_CASE("generation config") {
  const auto model = zest::detail::load_model_config(fixture("tiny-llama"));
  const auto defaults = zest::detail::parse_generation_config("{}", model);
  CHECK_FALSE(defaults.do_sample);
  CHECK(defaults.temperature == 1.0);
  CHECK(defaults.top_k == 50);
  CHECK(defaults.top_p == 1.0);
  CHECK(defaults.repetition_penalty == 1.0);
  CHECK(defaults.max_length == 20);
  CHECK(defaults.eos_token_ids == std::vector<int32_t>{2});  // from the model config

  const auto g = zest::detail::parse_generation_config(R"({"do_sample": true, "temperature": 0.7, "top_k": 0, "top_p": 0.9,
      "min_p": 0.05, "repetition_penalty": 1.1, "max_new_tokens": 64, "eos_token_id": [2, 3], "pad_token_id": 0})", model);
  CHECK(g.do_sample);
  CHECK(g.temperature == 0.7);
  CHECK(g.top_k == 0);
  CHECK(g.top_p == 0.9);
  CHECK(g.min_p == 0.05);
  CHECK(g.max_new_tokens == 64);
  CHECK(g.eos_token_ids == std::vector<int32_t>{2, 3});
  CHECK(g.pad_token_id == 0);

  const auto from_file = zest::detail::load_generation_config(fixture("tiny-gpt2"), zest::detail::load_model_config(fixture("tiny-gpt2")));
  CHECK(from_file.bos_token_id == 50256);
  CHECK(from_file.eos_token_ids == std::vector<int32_t>{50256});
  const auto bert = zest::detail::load_generation_config(fixture("tiny-bert"), zest::detail::load_model_config(fixture("tiny-bert")));
  CHECK_FALSE(bert.bos_token_id);  // null in the file
  CHECK(bert.eos_token_ids.empty());

  CHECK(error_of([&] { zest::detail::parse_generation_config(R"({"top_p": 0})", model, "g.json"); }).find("g.json: field 'top_p'") == 0);
  CHECK(error_of([&] { zest::detail::parse_generation_config(R"({"temperature": -1})", model, "g.json"); }).find("temperature") != std::string::npos);
}
