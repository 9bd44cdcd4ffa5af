// zest::Encoder: embed, fill_mask and classify from text equal the PyTorch reference's goldens;
// truncation keeps the special tokens.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "golden.hpp"
#include "zest/encoder.hpp"
#include "zest/pipeline.hpp"
#include "test_data.hpp"

namespace {


// The small models' tokenizer.json maps the word "t<i>" to id i (ids 0-3 are [PAD] [UNK] [CLS]
// [SEP]): a golden prompt's ids, without the outer [CLS] ... [SEP], as text.
std::string text_of(const std::vector<int32_t>& ids) {
  static const char* const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  std::string text;
  for (size_t i = 1; i + 1 < ids.size(); ++i)
    text += (i > 1 ? " " : "") + (ids[i] < 4 ? std::string(specials[ids[i]]) : "t" + std::to_string(ids[i]));
  return text;
}

zest::Encoder load(const std::string& rel) {
  zest::LoadOptions options;
  options.threads = 2;
  return zest::Encoder::from_pretrained(test_data(rel), options);
}

}  // namespace

TEST_CASE("embed follows the sentence-transformers modules, or the pooling asked for") {
  for (const char* name : {"st-bert-mean", "st-bert-cls", "st-bert-max"}) {
    CAPTURE(name);
    const zest::Encoder p = load(std::string("models/") + name);
    CHECK(p.max_length() == 64);
    const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"));
    std::vector<std::string> texts;
    for (const auto& prompt : golden["prompts"]) {
      texts.push_back(text_of(prompt["ids"].get<std::vector<int32_t>>()));
      CHECK(p.encode(texts.back()) == prompt["ids"].get<std::vector<int32_t>>());
    }
    const auto emb = p.embed(texts);
    REQUIRE(emb.size() == texts.size());
    for (size_t t = 0; t < texts.size(); ++t) {
      const auto want = golden["sentence_embeddings"]["embeddings"][t].get<std::vector<double>>();
      REQUIRE(emb[t].size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(emb[t][i] - want[i]) < 1e-4);
    }
  }
  // Asking for CLS pooling without normalisation gives the first token's hidden state.
  const zest::Encoder p = load("models/st-bert-mean");
  const auto golden = load_golden(test_data("models/st-bert-mean/golden.json"));
  const std::vector<std::string> one{text_of(golden["prompts"][0]["ids"].get<std::vector<int32_t>>())};
  const auto cls = p.embed(one, zest::Pooling::cls, false);
  const auto head = golden["prompts"][0]["hidden_first"]["head"].get<std::vector<double>>();
  for (size_t i = 0; i < head.size(); ++i) CHECK(std::fabs(cls[0][i] - head[i]) < 1e-4);
}

TEST_CASE("classify gives softmax scores, or sigmoid for multi-label models") {
  for (const char* name : {"bert-cls", "bert-multilabel-f16"}) {
    CAPTURE(name);
    const zest::Encoder p = load(std::string("models/") + name);
    const auto golden = load_golden(test_data(std::string("models/") + name + "/golden.json"));
    const bool multi = zest::detail::load_model_config(test_data(std::string("models/") + name)).problem_type ==
                       "multi_label_classification";
    for (const auto& prompt : golden["prompts"]) {
      if (prompt.contains("token_type_ids")) continue;  // pairs are not text; covered in test_encoder
      const auto want = prompt[multi ? "classifier_sigmoid" : "classifier_softmax"].get<std::vector<double>>();
      const zest::Classification c = p.classify(text_of(prompt["ids"].get<std::vector<int32_t>>()));
      REQUIRE(c.scores.size() == want.size());
      size_t best = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        CHECK(c.scores[i].first == p.labels()[i]);
        CHECK(std::fabs(c.scores[i].second - want[i]) < 1e-5);
        if (want[i] > want[best]) best = i;
      }
      CHECK(c.label == p.labels()[best]);
    }
  }
}

TEST_CASE("fill_mask ranks the reference's most likely tokens") {
  const zest::Encoder p = load("fixtures/tiny-bert");
  const auto golden = load_golden(test_data("models/fixture-goldens/tiny-bert-fill-mask.json"));
  const std::string text = golden["text"].get<std::string>();
  REQUIRE(p.encode(text) == golden["ids"].get<std::vector<int32_t>>());
  const auto top = p.fill_mask(text, 10);
  const auto& want = golden["top"];
  REQUIRE(top.size() == want.size());
  for (size_t i = 0; i < top.size(); ++i) {
    CAPTURE(i);
    CHECK(std::fabs(top[i].score - want[i]["score"].get<double>()) < 1e-7);
    // Ids in the reference's order wherever its neighbours' scores are apart by more than float noise.
    const double prev = i > 0 ? want[i - 1]["score"].get<double>() : 1.0;
    const double next = i + 1 < want.size() ? want[i + 1]["score"].get<double>() : 0.0;
    if (prev - want[i]["score"].get<double>() > 1e-9 && want[i]["score"].get<double>() - next > 1e-9)
      CHECK(top[i].id == want[i]["id"].get<int32_t>());
    CHECK(top[i].token == p.tokenizer().decode({top[i].id}));
  }
  CHECK_THROWS_WITH_AS(p.fill_mask("no mask here"), doctest::Contains("0 mask tokens"), zest::Error);
  CHECK_THROWS_WITH_AS(p.classify("a"), doctest::Contains("no classifier"), zest::Error);
  CHECK_THROWS_WITH_AS(zest::Pipeline::from_pretrained(test_data("fixtures/tiny-bert")), doctest::Contains("encoder model (bert), not a decoder"),
                       zest::Error);
  CHECK_THROWS_WITH_AS(zest::Encoder::from_pretrained(test_data("fixtures/tiny-llama")), doctest::Contains("decoder model (llama), not an encoder"),
                       zest::Error);
}

TEST_CASE("the Encoder truncates as tokenizer.json says, within the model's length") {
  // tokenizer.json's truncation section sets the length.
  const auto dir = std::filesystem::temp_directory_path() / "zest-encoder-truncation";
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) std::filesystem::copy_file(test_data(std::string("models/bert-cls/") + f), dir / f, std::filesystem::copy_options::overwrite_existing);
  auto tok = load_golden(test_data("models/bert-cls/tokenizer.json"));
  tok["truncation"] = {{"direction", "Right"}, {"max_length", 5}, {"strategy", "LongestFirst"}, {"stride", 0}};
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  const zest::Encoder p = zest::Encoder::from_pretrained(dir);
  CHECK(p.max_length() == 5);
  CHECK(p.encode("t10 t11 t12 t13 t14 t15") == std::vector<int32_t>{2, 10, 11, 12, 3});
  CHECK(p.classify("t10 t11 t12 t13 t14 t15").scores.size() == 3);
  // A stride only shapes the overflowing encodings: the ids stay (as in Hugging Face's encode).
  tok["truncation"]["stride"] = 2;
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  CHECK(zest::Encoder::from_pretrained(dir).encode("t10 t11 t12 t13 t14 t15") == std::vector<int32_t>{2, 10, 11, 12, 3});
  tok["truncation"]["strategy"] = "OnlyThird";
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  CHECK_THROWS_WITH_AS(zest::Encoder::from_pretrained(dir), doctest::Contains("$.truncation.strategy"), zest::Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("one Encoder shared by threads gives what serial calls give") {
  const zest::Encoder p = load("models/st-bert-mean");
  const std::vector<std::string> texts = {"t5 t9 t200", "t100 t101 t102 t103", "t77", "t8 t8 t8 t8 t8 t8 t8"};
  const auto serial = p.embed(texts);
  std::vector<std::vector<std::vector<float>>> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 5; ++rep) got[i] = p.embed(texts);
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == serial);
}
