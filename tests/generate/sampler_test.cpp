// The sampler against HF's logits processors (goldens from tools/reference/sampler_goldens.py),
// its sampling statistics, reproducibility, errors, and that choosing a token allocates nothing.
#include <cmath>
#include <fstream>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "zest/generate/sampler.hpp"

long allocation_count();  // allocation_counter.cpp

namespace {

nlohmann::json load_goldens() {
  std::ifstream in(ZEST_TEST_DATA "/generate/sampler_goldens.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

zest::GenerateParams params_of(const nlohmann::json& p, uint64_t seed = 1) {
  zest::GenerateParams g;
  g.do_sample = p["do_sample"];
  g.temperature = p["temperature"];
  g.top_k = p["top_k"];
  g.top_p = p["top_p"];
  g.min_p = p["min_p"];
  g.repetition_penalty = p["repetition_penalty"];
  g.seed = seed;
  return g;
}

}  // namespace

TEST_CASE("splitmix64 and xoshiro256** give the reference generators' outputs") {
  uint64_t state = 0;
  CHECK(zest::detail::splitmix64(state) == 0xE220A8397B1DCDAFull);  // the published first value
  // Values from an independent Python transcription of the published algorithms.
  zest::detail::Xoshiro256 a(0), b(42);
  CHECK(a.next() == 0x99ec5f36cb75f2b4ull);
  CHECK(a.next() == 0xbf6e1f784956452aull);
  CHECK(a.next() == 0x1a5f849d4933e6e0ull);
  CHECK(b.next() == 0x15780b2e0c2ec716ull);
  CHECK(b.next() == 0x6104d9866d113a7eull);
}

TEST_CASE("the sampler's distribution equals HF's logits processors") {
  const nlohmann::json goldens = load_goldens();
  REQUIRE(goldens["cases"].size() >= 100);
  for (const auto& c : goldens["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    CAPTURE(c["params"].dump());
    const std::vector<float> logits = c["logits"];
    const std::vector<int32_t> previous = c["previous_ids"];
    zest::detail::Sampler sampler(params_of(c["params"]), logits.size());
    std::vector<float> work = logits, probs(logits.size());
    sampler.distribution(work, previous, probs);
    if (c.contains("greedy_id")) {
      work = logits;
      CHECK(sampler.next(work, previous) == c["greedy_id"].get<int32_t>());
      continue;
    }
    const std::vector<float> expected = c["probs"];
    double worst = 0.0;
    for (size_t i = 0; i < probs.size(); ++i) {
      worst = std::max(worst, double(std::fabs(probs[i] - expected[i])));
      CHECK((probs[i] == 0.0f) == (expected[i] == 0.0f));  // the same tokens filtered
    }
    CHECK(worst <= 1e-6);
    // Draws only ever pick tokens the distribution keeps.
    for (int draw = 0; draw < 50; ++draw) {
      work = logits;
      CHECK(expected[sampler.next(work, previous)] > 0.0f);
    }
  }
}

TEST_CASE("seeded sampling follows the distribution (chi-square) and never picks a filtered token") {
  const nlohmann::json goldens = load_goldens();
  int tested = 0;
  for (const auto& c : goldens["cases"]) {
    if (!c.contains("probs") || c["name"] != "normal64x1.0") continue;
    CAPTURE(c["params"].dump());
    const std::vector<float> logits = c["logits"];
    const std::vector<int32_t> previous = c["previous_ids"];
    const std::vector<float> expected = c["probs"];
    zest::detail::Sampler sampler(params_of(c["params"], 1234), logits.size());
    const int draws = 40000;
    std::vector<int> counts(logits.size(), 0);
    std::vector<float> work;
    for (int d = 0; d < draws; ++d) {
      work = logits;
      ++counts[sampler.next(work, previous)];
    }
    double chi2 = 0.0;
    int cells = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      if (expected[i] == 0.0f) {
        CHECK(counts[i] == 0);
        continue;
      }
      const double e = draws * double(expected[i]);
      chi2 += (counts[i] - e) * (counts[i] - e) / e;
      ++cells;
    }
    // With df = cells - 1, a chi-square above df + 6 sqrt(2 df) + 10 has a probability far below
    // 1e-6 for a correct sampler; the seed is fixed, so the result does not vary between runs.
    const double df = cells - 1;
    CHECK(chi2 <= df + 6.0 * std::sqrt(2.0 * std::max(df, 1.0)) + 10.0);
    ++tested;
  }
  CHECK(tested >= 10);
}

TEST_CASE("the same seed gives the same tokens; another seed other tokens") {
  std::vector<float> logits(300);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(0.37 * i) * 2.0f;
  auto run = [&](uint64_t seed) {
    zest::GenerateParams p;
    p.do_sample = true;
    p.top_k = 0;
    p.seed = seed;
    zest::detail::Sampler sampler(p, logits.size());
    std::vector<int32_t> ids, work;
    std::vector<float> scratch;
    for (int i = 0; i < 200; ++i) {
      scratch = logits;
      ids.push_back(sampler.next(scratch, ids));
    }
    return ids;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("greedy: do_sample false or temperature 0 takes the first largest logit after the penalty") {
  std::vector<float> logits = {1.0f, 3.0f, 2.5f, 3.0f};
  zest::GenerateParams p;
  p.do_sample = true;
  p.temperature = 0.0f;
  zest::detail::Sampler sampler(p, logits.size());
  std::vector<float> work = logits;
  CHECK(sampler.next(work, {}) == 1);  // ties: the first index, as torch.argmax
  p.repetition_penalty = 1.5f;
  zest::detail::Sampler penalised(p, logits.size());
  work = logits;
  const std::vector<int32_t> previous = {1, 1, 3};
  CHECK(penalised.next(work, previous) == 2);  // 3/1.5 = 2 < 2.5
  CHECK(work[1] == doctest::Approx(2.0f));     // divided once although 1 occurs twice
}

TEST_CASE("scores that overflow at a tiny temperature give the greedy limit, not NaN") {
  zest::GenerateParams p;
  p.do_sample = true;
  p.temperature = 1e-10f;
  p.seed = 5;
  zest::detail::Sampler sampler(p, 3);
  std::vector<float> logits = {1e30f, 2e30f, -1e30f}, probs(3);
  std::vector<float> work = logits;
  CHECK(sampler.next(work, {}) == 1);
  work = logits;
  sampler.distribution(work, {}, probs);
  CHECK(probs == std::vector<float>{0.0f, 1.0f, 0.0f});
  std::vector<float> negative = {-1e30f, -2e30f, -3e30f};
  CHECK(sampler.next(negative, {}) == 0);
}

TEST_CASE("choosing a token allocates nothing") {
  std::vector<float> logits(5000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::cos(0.01 * i * i);
  const std::vector<int32_t> previous = {1, 2, 3, 4000, 2};
  for (int mode = 0; mode < 3; ++mode) {
    zest::GenerateParams p;
    p.do_sample = mode > 0;
    p.top_k = mode == 1 ? 40 : 0;
    p.top_p = 0.9f;
    p.min_p = 0.05f;
    p.temperature = 0.8f;
    p.repetition_penalty = 1.2f;
    p.seed = 3;
    zest::detail::Sampler sampler(p, logits.size());
    std::vector<float> work(logits.size());
    const long before = allocation_count();
    for (int step = 0; step < 20; ++step) {
      std::copy(logits.begin(), logits.end(), work.begin());
      sampler.next(work, previous);
    }
    CHECK(allocation_count() == before);
  }
}

TEST_CASE("bad input gives a zest::Error naming the value") {
  auto kind_of = [](auto&& f) {
    try {
      f();
    } catch (const zest::Error& e) {
      return e.kind();
    }
    return zest::Error::Kind::device;  // no throw: fails the CHECK below
  };
  zest::GenerateParams p;
  p.seed = 1;
  p.do_sample = true;
  std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  const std::vector<int32_t> none;
  zest::detail::Sampler sampler(p, 3);
  std::vector<float> four(4);
  CHECK(kind_of([&] { sampler.next(four, none); }) == zest::Error::Kind::input);
  const std::vector<int32_t> bad_id = {0, 3};
  CHECK_THROWS_WITH_AS(sampler.next(logits, bad_id), doctest::Contains("previous id 3"), zest::Error);
  std::vector<float> nan = {0.0f, std::nanf(""), 1.0f};
  CHECK_THROWS_WITH_AS(sampler.next(nan, none), doctest::Contains("logit 1"), zest::Error);
  std::vector<float> dead(3, -INFINITY);
  CHECK_THROWS_AS(sampler.next(dead, none), zest::Error);
  CHECK_THROWS_AS(zest::detail::Sampler(p, 0), zest::Error);
  auto rejects = [&](auto edit, const char* name) {
    zest::GenerateParams q = p;
    edit(q);
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(zest::detail::Sampler(q, 3), doctest::Contains(name), zest::Error);
  };
  rejects([](auto& q) { q.temperature = -0.5f; }, "temperature");
  rejects([](auto& q) { q.temperature = NAN; }, "temperature");
  rejects([](auto& q) { q.top_k = -1; }, "top_k");
  rejects([](auto& q) { q.top_p = 1.5f; }, "top_p");
  rejects([](auto& q) { q.min_p = -0.1f; }, "min_p");
  rejects([](auto& q) { q.repetition_penalty = 0.0f; }, "repetition_penalty");
  rejects([](auto& q) { q.max_new_tokens = 0; }, "max_new_tokens");
  rejects([](auto& q) { q.stop = {""}; }, "stop");
}
