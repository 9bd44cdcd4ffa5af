// The embedded demo model (examples/models/brown-llama) against its PyTorch reference
// (tests/data/demo/goldens.json, made by tools/demo_model_reference.py): perplexity on the held-out
// excerpt within 0.5% in f32, bf16 within 0.5%, int8 within 1.5% and int4 within 3% of f32 (on its first 6
// windows); greedy generation equal up to the first step whose reference top-2 margin is below 1e-3.
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/generate/perplexity.hpp"
#include "zest/io/read_file.hpp"
#include "zest/pipeline.hpp"

namespace {

const nlohmann::json& goldens() {
  static const nlohmann::json g = nlohmann::json::parse(zest::detail::read_file(ZEST_TEST_DATA "/demo/goldens.json"));
  return g;
}

std::vector<int32_t> excerpt_ids(const zest::Pipeline& pipeline) {
  std::ifstream text(ZEST_TEST_DATA "/demo/heldout-excerpt.txt");
  std::vector<int32_t> ids;  // each line with its special tokens, as zest-perplexity reads a file
  for (std::string line; std::getline(text, line);) {
    const auto line_ids = pipeline.tokenizer().encode(line, /*add_special_tokens=*/true);
    ids.insert(ids.end(), line_ids.begin(), line_ids.end());
  }
  return ids;
}

zest::Perplexity perplexity(const zest::Pipeline& pipeline, std::span<const int32_t> ids) {
  return pipeline.perplexity(ids, 256);
}

zest::Pipeline load(zest::DType dtype) {
  zest::LoadOptions options;
  options.dtype = dtype;
  options.threads = 2;
  return zest::Pipeline::from_pretrained(zest::default_model_dir(), options);
}

}  // namespace

TEST_CASE("perplexity on held-out lines equals PyTorch's; bf16, int8 and int4 stay close") {
  const auto& want = goldens()["perplexity"];
  const zest::Pipeline f32 = load(zest::DType::f32);
  const std::vector<int32_t> ids = excerpt_ids(f32);
  const zest::Perplexity whole = perplexity(f32, ids);
  CHECK(whole.tokens == want["predicted"].get<size_t>());
  CHECK(whole.windows == want["windows"].get<size_t>());
  CHECK(std::fabs(whole.perplexity / want["ppl"].get<double>() - 1) < 0.005);
  // The other dtypes against f32 on the first 6 windows: a quarter of the work, enough tokens.
  const auto part = std::span(ids).first(std::min<size_t>(ids.size(), 6 * 256));
  const double reference = perplexity(f32, part).perplexity;
  const double bf16 = perplexity(load(zest::DType::bf16), part).perplexity;
  const double int8 = perplexity(load(zest::DType::i8), part).perplexity;
  const double int4 = perplexity(load(zest::DType::i4), part).perplexity;
  MESSAGE("perplexity: PyTorch " << want["ppl"].get<double>() << ", f32 " << whole.perplexity << "; first 6 windows: f32 "
                                 << reference << ", bf16 " << bf16 << ", int8 " << int8 << ", int4 " << int4);
  CHECK(std::fabs(bf16 / reference - 1) < 0.005);
  CHECK(std::fabs(int8 / reference - 1) < 0.015);
  CHECK(int4 / reference - 1 < 0.03);  // issue 22's target: within +3% of f32
  CHECK(int4 / reference - 1 > -0.03);
}

TEST_CASE("greedy generation equals PyTorch's") {
  const zest::Pipeline pipeline = zest::Pipeline::from_pretrained();  // the default model
  for (const auto& prompt : goldens()["greedy"]["prompts"]) {
    CAPTURE(prompt["prompt"].get<std::string>());
    const auto ids = pipeline.tokenizer().encode(prompt["prompt"].get<std::string>(), true);
    CHECK(ids == prompt["prompt_ids"].get<std::vector<int32_t>>());
    std::vector<int32_t> want;
    for (size_t i = 0; i < prompt["greedy_ids"].size() && prompt["step_top2_margin"][i].get<double>() >= 1e-3; ++i)
      want.push_back(prompt["greedy_ids"][i].get<int32_t>());
    REQUIRE(!want.empty());
    zest::GenerateParams params;
    params.max_new_tokens = int(want.size());
    params.ignore_eos = true;
    CHECK(pipeline.generate_ids(ids, params).ids == want);
  }
}
