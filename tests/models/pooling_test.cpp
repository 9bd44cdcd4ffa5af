// sentence-transformers directories: the embeddings of a padded batch, pooled and normalised as
// the directory's modules say, equal the PyTorch reference's (tests/data/models/st-bert-*).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/models/sentence_transformers.hpp"
#include "test_data.hpp"

TEST_CASE("sentence embeddings equal sentence-transformers' for CLS, mean and max pooling") {
  zest::detail::ThreadPool pool(2);
  for (const char* name : {"st-bert-mean", "st-bert-cls", "st-bert-max"}) {
    CAPTURE(name);
    const std::string dir = test_data(std::string("models/") + name);
    const auto st = zest::detail::load_sentence_transformers_config(dir);
    REQUIRE(st.has_value());
    const auto golden = load_golden(dir + "/golden.json");
    const auto& want = golden["sentence_embeddings"];
    CHECK(zest::to_string(st->pooling) == want["pooling"].get<std::string>());
    CHECK(st->normalize == want["normalize"].get<bool>());
    CHECK(st->max_seq_length == 64u);
    const zest::detail::EncoderModel model = zest::detail::EncoderModel::load(dir);
    std::vector<std::vector<int32_t>> ids;
    for (const auto& prompt : golden["prompts"]) ids.push_back(prompt["ids"].get<std::vector<int32_t>>());
    std::vector<zest::detail::EncoderInput> batch;
    for (const auto& v : ids) batch.push_back({v, {}});
    std::vector<float> emb = zest::detail::pool_tokens(model.forward(batch, pool), st->pooling);
    if (st->normalize) zest::detail::normalize_rows(emb, model.hidden_size());
    const size_t d = model.hidden_size();
    for (size_t t = 0; t < ids.size(); ++t) {
      const auto w = want["embeddings"][t].get<std::vector<double>>();
      REQUIRE(w.size() == d);
      double worst = 0;
      for (size_t i = 0; i < d; ++i) worst = std::max(worst, std::fabs(emb[t * d + i] - w[i]));
      CHECK(worst < 1e-4);
    }
  }
}

TEST_CASE("directories without modules.json, and unsupported modules") {
  CHECK_FALSE(zest::detail::load_sentence_transformers_config(test_data("models/bert-cls")).has_value());
  CHECK_THROWS_WITH_AS(zest::parse_pooling("sum"), doctest::Contains("unknown pooling 'sum'"), zest::Error);
  CHECK(zest::parse_pooling("max") == zest::Pooling::max);
}
