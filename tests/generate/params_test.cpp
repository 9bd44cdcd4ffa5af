// GenerateParams defaults and generation_config.json parsing.
#include <doctest/doctest.h>

#include "zest/generate/params.hpp"

TEST_CASE("an empty generation_config.json gives HF's defaults") {
  const auto c = zest::GenerationConfig::from_json("{}");
  CHECK_FALSE(c.defaults.do_sample);
  CHECK_FALSE(c.defaults.sampling());
  CHECK(c.defaults.temperature == 1.0f);
  CHECK(c.defaults.top_k == 50);
  CHECK(c.defaults.top_p == 1.0f);
  CHECK(c.defaults.min_p == 0.0f);
  CHECK(c.defaults.repetition_penalty == 1.0f);
  CHECK(c.eos_token_ids.empty());
  CHECK_FALSE(c.bos_token_id);
}

TEST_CASE("fields are read; eos_token_id may be one id or a list; null means absent") {
  const auto c = zest::GenerationConfig::from_json(R"({"do_sample": true, "temperature": 0.6, "top_k": 20,
    "top_p": 0.9, "min_p": null, "repetition_penalty": 1.1, "max_new_tokens": 64,
    "eos_token_id": [128001, 128009], "bos_token_id": 128000, "pad_token_id": null,
    "transformers_version": "4.45.0"})");
  CHECK(c.defaults.sampling());
  CHECK(c.defaults.temperature == doctest::Approx(0.6));
  CHECK(c.defaults.top_k == 20);
  CHECK(c.defaults.top_p == doctest::Approx(0.9));
  CHECK(c.defaults.min_p == 0.0f);
  CHECK(c.defaults.repetition_penalty == doctest::Approx(1.1));
  CHECK(c.defaults.max_new_tokens == 64);
  CHECK(c.eos_token_ids == std::vector<int32_t>{128001, 128009});
  CHECK(c.bos_token_id == 128000);
  CHECK_FALSE(c.pad_token_id);
  CHECK(zest::GenerationConfig::from_json(R"({"eos_token_id": 2})").eos_token_ids == std::vector<int32_t>{2});
}

TEST_CASE("generation_config.json files and directories") {
  const auto c = zest::GenerationConfig::from_file(ZEST_TEST_DATA "/models/llama-mqa-bf16");
  CHECK(c.eos_token_ids == std::vector<int32_t>{2, 3});
  CHECK(c.bos_token_id == 1);
  // A directory without the file: HF's defaults.
  CHECK(zest::GenerationConfig::from_file(ZEST_TEST_DATA "/models/bert-cls").eos_token_ids.empty());
  CHECK_THROWS_AS(zest::GenerationConfig::from_file(ZEST_TEST_DATA "/models/nowhere/generation_config.json"),
                  zest::Error);
}

TEST_CASE("malformed values are config errors naming the field") {
  using zest::GenerationConfig;
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"top_k": "50"})"), doctest::Contains("top_k"), zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"top_k": 1e20})"), doctest::Contains("top_k"), zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"top_k": 99999999999})"), doctest::Contains("top_k"), zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"do_sample": 1})"), doctest::Contains("do_sample"), zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"eos_token_id": [2, "x"]})"), doctest::Contains("eos_token_id"),
                       zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"eos_token_id": -1})"), doctest::Contains("eos_token_id"),
                       zest::Error);
  CHECK_THROWS_WITH_AS(GenerationConfig::from_json(R"({"top_p": 2.0})"), doctest::Contains("top_p"), zest::Error);
  CHECK_THROWS_AS(GenerationConfig::from_json("{not json"), zest::Error);
  CHECK_THROWS_AS(GenerationConfig::from_json("[1, 2]"), zest::Error);
  try {
    GenerationConfig::from_json(R"({"temperature": -1})", "dir/generation_config.json");
    FAIL("no error");
  } catch (const zest::Error& e) {
    CHECK(e.kind() == zest::Error::Kind::config);
    CHECK(std::string(e.what()).find("dir/generation_config.json") != std::string::npos);
  }
}
