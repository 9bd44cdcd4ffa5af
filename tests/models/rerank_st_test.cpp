// RoBERTa / XLM-R directories through zest::Encoder against the PyTorch reference
// (tools/reference/make_encoder_goldens.py): cross-encoder reranking (pairs, truncation,
// CrossEncoder's activation), sentence-transformers prompts, Dense, lasttoken and mean pooling
// without the prompt, Matryoshka dimensions, truncation reported or refused; the config reader's
// refusals.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/encoder.hpp"
#include "test_data.hpp"

namespace {

zest::Encoder load_encoder(const std::string& rel, zest::DType dtype = zest::DType::f32) {
  zest::LoadOptions options;
  options.threads = 2;
  options.dtype = dtype;
  return zest::Encoder::from_pretrained(test_data(rel), options);
}

}  // namespace

TEST_CASE("rerank scores each document as sentence-transformers' CrossEncoder does") {
  for (const char* name : {"xlm-roberta-reranker-f16", "bert-reranker-bf16"}) {
    CAPTURE(name);
    const zest::Encoder p = load_encoder(std::string("models/") + name);
    const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"))["rerank"];
    const std::string query = golden["query"];
    const auto documents = golden["documents"].get<std::vector<std::string>>();
    CHECK(p.max_length() == golden["max_length"].get<size_t>());
    for (size_t i = 0; i < documents.size(); ++i) {
      const auto& want = golden["pairs"][i];
      const zest::Encoding e = p.tokenizer().encode_pair(query, documents[i], true);
      CHECK(e.ids == want["ids"].get<std::vector<int32_t>>());
      CHECK(e.type_ids == want["token_type_ids"].get<std::vector<int32_t>>());
      CHECK((p.pair_length(query, documents[i]) > p.max_length()) == want["truncated"].get<bool>());
    }
    const std::vector<float> scores = p.rerank(query, documents);
    const auto want = golden["scores"].get<std::vector<double>>();
    REQUIRE(scores.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(scores[i] - want[i]) < 1e-4);
    // Sigmoid by default for one label; the BERT one's config.json names Identity (raw logits).
    CHECK(golden["activation"] == (std::string(name).find("xlm") != std::string::npos ? "sigmoid" : "identity"));
    CHECK_THROWS_WITH_AS(p.rerank(query, documents, false), doctest::Contains("truncation is off"), zest::Error);
    const std::vector<std::string> first(documents.begin(), documents.end() - 1);
    CHECK(p.rerank(query, first, false).size() == first.size());
    CHECK(p.rerank(query, {}).empty());
  }
  CHECK_THROWS_WITH_AS(load_encoder("models/roberta-cls").rerank("t5", std::vector<std::string>{"t6"}),
                       doctest::Contains("one label"), zest::Error);
}

TEST_CASE("sentence-transformers prompts, Dense, pooling and dimensions equal the reference") {
  for (const char* name : {"st-roberta-lasttoken", "st-xlm-roberta-mean"}) {
    CAPTURE(name);
    const zest::Encoder p = load_encoder(std::string("models/") + name);
    const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"))["sentence_transformers"];
    const auto texts = golden["texts"].get<std::vector<std::string>>();
    CHECK(p.max_length() == golden["max_seq_length"].get<size_t>());
    for (const auto& run : golden["runs"]) {
      zest::EmbedOptions options;
      if (!run["prompt_name"].is_null()) options.prompt_name = run["prompt_name"].get<std::string>();
      if (!run["dimensions"].is_null()) options.dimensions = run["dimensions"].get<size_t>();
      CAPTURE(run["prompt_name"].dump());
      CAPTURE(run["dimensions"].dump());
      const auto got = p.embed(texts, options);
      REQUIRE(got.size() == texts.size());
      for (size_t t = 0; t < texts.size(); ++t) {
        CHECK(p.encode(run["prompt"].get<std::string>() + texts[t]) == run["ids"][t].get<std::vector<int32_t>>());
        CHECK(got[t].truncated == run["truncated"][t].get<bool>());
        const auto want = run["embeddings"][t].get<std::vector<double>>();
        REQUIRE(got[t].values.size() == want.size());
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(got[t].values[i] - want[i]));
        CHECK(worst < 1e-4);
      }
      zest::EmbedOptions strict = options;
      strict.truncate = false;
      CHECK_THROWS_WITH_AS(p.embed(texts, strict), doctest::Contains("truncation is off"), zest::Error);
    }
  }
  const zest::Encoder p = load_encoder("models/st-roberta-lasttoken");
  zest::EmbedOptions options;
  options.prompt_name = "passage";
  CHECK_THROWS_WITH_AS(p.embed(std::vector<std::string>{"t5"}, options), doctest::Contains("prompt name 'passage'"), zest::Error);
  options.prompt_name.reset();
  options.dimensions = 25;
  CHECK_THROWS_WITH_AS(p.embed(std::vector<std::string>{"t5"}, options), doctest::Contains("dimensions 25"), zest::Error);
  // normalize true: unit length after the cut (encode's normalize_embeddings).
  options.dimensions = 8;
  options.normalize = true;
  const auto unit = p.embed(std::vector<std::string>{"t5 t6"}, options)[0].values;
  double sq = 0;
  for (float v : unit) sq += double(v) * v;
  CHECK(std::fabs(sq - 1) < 1e-5);
}

TEST_CASE("bf16, f16 and int8 rerank scores and sentence embeddings stay near the reference") {
  for (zest::DType dtype : {zest::DType::bf16, zest::DType::f16, zest::DType::i8}) {
    CAPTURE(zest::dtype_name(dtype));
    for (const char* name : {"xlm-roberta-reranker-f16", "bert-reranker-bf16"}) {
      CAPTURE(name);
      const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"))["rerank"];
      const auto scores = load_encoder(std::string("models/") + name, dtype)
                              .rerank(golden["query"].get<std::string>(), golden["documents"].get<std::vector<std::string>>());
      const auto want = golden["logits"].get<std::vector<double>>();
      for (size_t i = 0; i < want.size(); ++i) {
        // The logit, recovered from a sigmoid score where the model applies one.
        const double logit = golden["activation"] == "sigmoid" ? std::log(scores[i] / (1 - scores[i])) : scores[i];
        CHECK(std::fabs(logit - want[i]) < 0.03);
      }
    }
    for (const char* name : {"st-roberta-lasttoken", "st-xlm-roberta-mean"}) {
      CAPTURE(name);
      const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"))["sentence_transformers"];
      const auto got = load_encoder(std::string("models/") + name, dtype).embed(golden["texts"].get<std::vector<std::string>>(), zest::EmbedOptions{});
      for (size_t t = 0; t < got.size(); ++t) {
        const auto want = golden["runs"][0]["embeddings"][t].get<std::vector<double>>();
        double ab = 0, aa = 0, bb = 0;
        for (size_t i = 0; i < want.size(); ++i) ab += got[t].values[i] * want[i], aa += double(got[t].values[i]) * got[t].values[i], bb += want[i] * want[i];
        CHECK(ab / std::sqrt(aa * bb) >= 0.999);
      }
    }
  }
}

TEST_CASE("roberta and xlm-roberta configs: their defaults, and keys zest refuses name themselves") {
  using zest::detail::parse_model_config;
  const auto roberta = parse_model_config(R"({"model_type": "roberta"})");
  CHECK(roberta.vocab_size == 50265);
  CHECK(roberta.pad_token_id == 1);
  CHECK(roberta.bos_token_id == 0);
  CHECK(roberta.position_offset == 2);
  CHECK(roberta.is_encoder());
  CHECK_FALSE(roberta.uses_rope());
  CHECK(parse_model_config(R"({"model_type": "xlm-roberta"})").vocab_size == 30522);
  CHECK(zest::detail::load_model_config(test_data("models/roberta-cls")).norm_eps == 1e-5);
  const char* refused[][2] = {
      {R"({"model_type": "roberta", "position_embedding_type": "relative_key"})", "position_embedding_type"},
      {R"({"model_type": "xlm-roberta", "is_decoder": true})", "is_decoder"},
      {R"({"model_type": "roberta", "add_cross_attention": true})", "add_cross_attention"},
      {R"({"model_type": "bert", "is_decoder": true})", "is_decoder"},
      {R"({"model_type": "xlm-roberta", "quantization_config": {"quant_method": "bitsandbytes"}})", "quantization_config"},
      {R"({"model_type": "roberta", "pad_token_id": null})", "pad_token_id"},
      {R"({"model_type": "roberta", "max_position_embeddings": 2})", "max_position_embeddings"},
      {R"({"model_type": "camembert"})", "model_type 'camembert'"},
  };
  for (const auto& [json, key] : refused) {
    CAPTURE(json);
    CHECK_THROWS_WITH_AS(parse_model_config(json, "dir/config.json"), doctest::Contains(key), zest::Error);
    CHECK_THROWS_WITH_AS(parse_model_config(json, "dir/config.json"), doctest::Contains("dir/config.json"), zest::Error);
  }
  CHECK(parse_model_config(R"({"model_type": "roberta", "is_decoder": false, "quantization_config": null})").is_encoder());
}
