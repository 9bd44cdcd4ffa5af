// The chat APIs' controls on a sequence's steps (SequenceDecoding), on logits made by hand so the
// expected token follows from the definitions: OpenAI's logit_bias and presence / frequency
// penalties, transformers' min_new_tokens, the logits_processor seam, per-token log-probabilities,
// and a stop that is a special token matched on its id.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "test_data.hpp"
#include "zest/generate/sequence.hpp"

using zest::GenerateParams;
using zest::detail::SequenceDecoding;

namespace {

constexpr size_t kVocab = 8;
const std::vector<int32_t> kContext = {1, 2};

// Runs greedy steps over the same logits each time; returns the ids picked.
std::vector<int32_t> run(GenerateParams p, const std::vector<float>& logits, std::vector<int32_t> eos = {}) {
  SequenceDecoding s(p, nullptr, kContext, eos, kVocab);
  for (;;) {
    std::vector<float> l = logits;
    if (s.step(l).second) return s.result().ids;
  }
}

}  // namespace

TEST_CASE("logit_bias, presence and frequency penalties, min_new_tokens, logits_processor") {
  const std::vector<float> flat = {0, 0, 0, 1.0f, 0.5f, 0, 0, 0};
  GenerateParams p;
  p.max_new_tokens = 3;
  CHECK(run(p, flat) == std::vector<int32_t>{3, 3, 3});
  p.logit_bias = {{5, 2.0f}};
  CHECK(run(p, flat) == std::vector<int32_t>{5, 5, 5});
  p.logit_bias = {};
  // Presence 0.6: after one 3, its logit 1.0 - 0.6 = 0.4 < 0.5, so 4; then 4 is 0.5 - 0.6 < 0.4: 3 again.
  p.presence_penalty = 0.6f;
  CHECK(run(p, flat) == std::vector<int32_t>{3, 4, 3});
  // Frequency 0.3: 3 (1.0), 3 (0.7 > 0.5), 4 (0.4 < 0.5).
  p.presence_penalty = 0;
  p.frequency_penalty = 0.3f;
  CHECK(run(p, flat) == std::vector<int32_t>{3, 3, 4});
  p.frequency_penalty = 0;
  // End of sequence (3) masked for the first two new tokens.
  p.min_new_tokens = 2;
  CHECK(run(p, flat, {3}) == std::vector<int32_t>{4, 4, 3});
  p.min_new_tokens = 0;
  CHECK(run(p, flat, {3}) == std::vector<int32_t>{3});
  std::vector<size_t> seen;
  p.logits_processor = [&](std::span<float> logits, std::span<const int32_t> ids) {
    seen.push_back(ids.size());
    logits[3] = -INFINITY;
  };
  CHECK(run(p, flat) == std::vector<int32_t>{4, 4, 4});
  CHECK(seen == std::vector<size_t>{2, 3, 4});  // the context and the new ids so far
}

TEST_CASE("log-probabilities of the model's distribution") {
  GenerateParams p;
  p.max_new_tokens = 1;
  p.logprobs = 2;
  p.logit_bias = {{0, 5.0f}};  // changes the pick, not the reported distribution
  std::vector<float> logits = {0, 0, 0, 1.0f, 0.5f, 0, 0, 0};
  double sum = 0;
  for (float x : logits) sum += std::exp(double(x));
  int calls = 0;
  p.on_token = [&](const zest::TokenInfo& t) {
    ++calls;
    CHECK(t.id == 0);
    return true;
  };
  SequenceDecoding s(p, nullptr, kContext, {}, kVocab);
  CHECK(s.step(logits).second);
  const auto& tokens = s.result().tokens;
  REQUIRE(tokens.size() == 1);
  CHECK(calls == 1);
  CHECK(tokens[0].logprob == doctest::Approx(-std::log(sum)).epsilon(1e-6));
  REQUIRE(tokens[0].top_logprobs.size() == 2);
  CHECK(tokens[0].top_logprobs[0].first == 3);
  CHECK(tokens[0].top_logprobs[0].second == doctest::Approx(1.0 - std::log(sum)).epsilon(1e-6));
  CHECK(tokens[0].top_logprobs[1].first == 4);
}

TEST_CASE("a stop that is a special token matches its id") {
  const zest::Tokenizer tokenizer = zest::Tokenizer::from_file(test_data("fixtures/tiny-gpt2"));
  const int32_t end = *tokenizer.token_to_id("<|endoftext|>");
  GenerateParams p;
  p.max_new_tokens = 5;
  p.ignore_eos = true;
  p.stop = {"<|endoftext|>"};
  const std::vector<int32_t> context = tokenizer.encode("Hello");
  SequenceDecoding s(p, &tokenizer, context, {}, tokenizer.vocab_size());
  std::vector<float> logits(tokenizer.vocab_size(), 0.0f);
  logits[size_t(*tokenizer.token_to_id("!"))] = 1.0f;
  CHECK_FALSE(s.step(logits).second);
  std::fill(logits.begin(), logits.end(), 0.0f);
  logits[size_t(end)] = 1.0f;
  CHECK(s.step(logits).second);
  CHECK(s.result().stop_reason == zest::StopReason::stop_string);
  CHECK(s.result().text == "!");
}

TEST_CASE("controls out of range are refused") {
  auto refused = [](auto change) {
    GenerateParams p;
    change(p);
    CHECK_THROWS_AS(zest::detail::validate(p), zest::Error);
  };
  refused([](GenerateParams& p) { p.presence_penalty = 2.5f; });
  refused([](GenerateParams& p) { p.frequency_penalty = -3.0f; });
  refused([](GenerateParams& p) { p.logit_bias = {{1, 101.0f}}; });
  refused([](GenerateParams& p) { p.min_new_tokens = -1; });
  refused([](GenerateParams& p) { p.logprobs = 21; });
  GenerateParams p;
  p.logit_bias = {{int32_t(kVocab), 1.0f}};
  CHECK_THROWS_WITH_AS(SequenceDecoding(p, nullptr, kContext, {}, kVocab), doctest::Contains("outside the vocabulary"),
                       zest::Error);
}
