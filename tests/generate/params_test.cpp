// GenerateParams: HF's defaults, and the defaults a generation_config.json asks for.
#include <doctest/doctest.h>

#include "zest/generate/params.hpp"

TEST_CASE("GenerateParams{} and an empty generation_config.json give HF's defaults") {
  const zest::GenerateParams fresh;
  const auto from_empty = zest::detail::default_params(zest::detail::GenerationConfig{});
  for (const zest::GenerateParams& p : {fresh, from_empty}) {
    CHECK_FALSE(p.do_sample);
    CHECK_FALSE(p.sampling());
    CHECK(p.temperature == 1.0f);
    CHECK(p.top_k == 50);
    CHECK(p.top_p == 1.0f);
    CHECK(p.min_p == 0.0f);
    CHECK(p.repetition_penalty == 1.0f);
    CHECK(p.max_new_tokens == 128);
    CHECK_NOTHROW(zest::detail::validate(p));
  }
}

TEST_CASE("a generation_config.json's sampling fields become the defaults") {
  const zest::detail::ModelConfig model = zest::detail::load_model_config(ZEST_TEST_DATA "/models/llama-mqa-bf16");
  const auto g = zest::detail::parse_generation_config(R"({"do_sample": true, "temperature": 0.6, "top_k": 20,
    "top_p": 0.9, "min_p": null, "repetition_penalty": 1.1, "max_new_tokens": 64, "eos_token_id": [2, 3]})", model);
  const auto p = zest::detail::default_params(g);
  CHECK(p.sampling());
  CHECK(p.temperature == doctest::Approx(0.6));
  CHECK(p.top_k == 20);
  CHECK(p.top_p == doctest::Approx(0.9));
  CHECK(p.min_p == 0.0f);
  CHECK(p.repetition_penalty == doctest::Approx(1.1));
  CHECK(p.max_new_tokens == 64);
  // The committed model's file: eos as a list.
  const auto file = zest::detail::load_generation_config(ZEST_TEST_DATA "/models/llama-mqa-bf16", model);
  CHECK(file.eos_token_ids == std::vector<int32_t>{2, 3});
  CHECK_FALSE(zest::detail::default_params(file).sampling());
}

TEST_CASE("temperature 0 means greedy even with do_sample") {
  zest::GenerateParams p;
  p.do_sample = true;
  CHECK(p.sampling());
  p.temperature = 0.0f;
  CHECK_FALSE(p.sampling());
}
