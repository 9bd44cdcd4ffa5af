// BERT, RoBERTa and XLM-RoBERTa encoders against the PyTorch reference's goldens (tests/data/models, format
// "lab-golden-1"): hidden states, pooler, MLM logits and classifier scores within 1e-4 in f32,
// and a padded batch equal to each text run alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/models/encoder.hpp"
#include "test_data.hpp"

namespace {


// Largest difference of a row from a golden statistics record (mean, std, min, max, l2, head).
double stats_diff(const nlohmann::json& want, const float* v, size_t n) {
  double sum = 0, sq = 0, mn = v[0], mx = v[0];
  for (size_t i = 0; i < n; ++i) {
    sum += v[i];
    sq += double(v[i]) * v[i];
    mn = std::min<double>(mn, v[i]);
    mx = std::max<double>(mx, v[i]);
  }
  const double mean = sum / double(n);
  double var = 0;
  for (size_t i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean);
  double worst = std::max({std::fabs(mean - want["mean"].get<double>()),
                           std::fabs(std::sqrt(var / double(n - 1)) - want["std"].get<double>()),
                           std::fabs(mn - want["min"].get<double>()), std::fabs(mx - want["max"].get<double>()),
                           std::fabs(std::sqrt(sq) - want["l2"].get<double>())});
  const auto head = want["head"].get<std::vector<double>>();
  for (size_t i = 0; i < head.size(); ++i) worst = std::max(worst, std::fabs(v[i] - head[i]));
  return worst;
}

double logits_diff(const std::vector<std::pair<size_t, double>>& want, const float* got) {
  double worst = 0;
  for (const auto& [id, value] : want) worst = std::max(worst, std::fabs(double(got[id]) - value));
  return worst;
}

struct Case {
  std::string model_dir, golden;
};

const Case kCases[] = {
    {"fixtures/tiny-bert", "models/fixture-goldens/tiny-bert.json"},
    {"models/bert-cls", "models/bert-cls/golden.json"},
    {"models/st-bert-mean", "models/st-bert-mean/golden.json"},
    {"models/st-bert-cls", "models/st-bert-cls/golden.json"},
    {"models/st-bert-max", "models/st-bert-max/golden.json"},
    {"models/bert-multilabel-f16", "models/bert-multilabel-f16/golden.json"},
    {"models/roberta-cls", "models/roberta-cls/golden.json"},
    {"models/xlm-roberta-reranker-f16", "models/xlm-roberta-reranker-f16/golden.json"},
    {"models/bert-reranker-bf16", "models/bert-reranker-bf16/golden.json"},
};

}  // namespace

TEST_CASE("f32 hidden states and heads equal the reference") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases) {
    CAPTURE(c.model_dir);
    const zest::detail::EncoderModel model = zest::detail::EncoderModel::load(test_data(c.model_dir));
    const auto golden = load_golden(test_data(c.golden));
    const size_t d = model.hidden_size();
    auto check = [&](const nlohmann::json& prompt) {
      const auto ids = prompt["ids"].get<std::vector<int32_t>>();
      const auto types = prompt.value("token_type_ids", std::vector<int32_t>{});
      CAPTURE(ids.size());
      const zest::detail::EncoderInput input{ids, types};
      const zest::detail::EncoderOutput out = model.forward(std::span(&input, 1), pool);
      REQUIRE(out.rows() == ids.size());
      CHECK(stats_diff(prompt["hidden_first"], out.row(0, 0), d) < 1e-4);
      CHECK(stats_diff(prompt["hidden_last"], out.row(0, ids.size() - 1), d) < 1e-4);
      if (prompt.contains("pooler")) CHECK(stats_diff(prompt["pooler"], model.pooled(out, pool).data(), d) < 1e-4);
      if (prompt.contains("argmax_last")) {
        REQUIRE(model.has_mlm_head());
        const std::vector<float> logits = model.mlm_logits(out.hidden.data(), ids.size(), pool);
        const float* last = logits.data() + (ids.size() - 1) * model.vocab_size();
        CHECK(logits_diff(golden_logits(field_or_null(prompt, "last_logits"), field_or_null(prompt, "last_logits_at")), last) < 1e-4);
        CHECK(std::max_element(last, last + model.vocab_size()) - last == prompt["argmax_last"].get<long>());
        const auto& positions = prompt.contains("position_logits") ? prompt["position_logits"] : prompt["position_logits_at"];
        for (const auto& [pos, values] : positions.items()) {
          const bool trimmed = values.is_object();
          const auto want = golden_logits(trimmed ? nlohmann::json() : values, trimmed ? values : nlohmann::json());
          CHECK(logits_diff(want, logits.data() + std::stoul(pos) * model.vocab_size()) < 1e-4);
        }
      }
      if (prompt.contains("classifier_logits")) {
        const std::vector<float> logits = model.classifier_logits(out, pool);
        const auto want = prompt["classifier_logits"].get<std::vector<double>>();
        REQUIRE(logits.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(logits[i] - want[i]) < 1e-4);
        const auto scores = zest::detail::classifier_scores(model.config(), logits);
        const bool multi = model.config().problem_type == "multi_label_classification" || want.size() == 1;
        const auto want_scores = prompt[multi ? "classifier_sigmoid" : "classifier_softmax"].get<std::vector<double>>();
        for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(scores[i] - want_scores[i]) < 1e-5);
      }
    };
    for (const auto& prompt : golden["prompts"]) check(prompt);
    REQUIRE(golden.contains("pair") == (c.model_dir.find("fixtures") == std::string::npos));
    if (golden.contains("pair")) check(golden["pair"]);  // a sentence pair with token types 0, then 1
  }
}

TEST_CASE("a padded batch gives each text what it gives alone") {
  zest::detail::ThreadPool pool(2);
  for (const Case& c : kCases) {
    CAPTURE(c.model_dir);
    const zest::detail::EncoderModel model = zest::detail::EncoderModel::load(test_data(c.model_dir));
    const auto golden = load_golden(test_data(c.golden));
    const size_t len = golden["padded_batch"]["padded_len"].get<size_t>(), d = model.hidden_size();
    const int32_t pad = golden["padded_batch"]["pad_id"].get<int32_t>();
    std::vector<std::vector<int32_t>> texts;
    for (const auto& prompt : golden["prompts"]) texts.push_back(prompt["ids"].get<std::vector<int32_t>>());
    std::vector<int32_t> ids(texts.size() * len, pad), mask(texts.size() * len, 0);
    for (size_t t = 0; t < texts.size(); ++t) {
      std::copy(texts[t].begin(), texts[t].end(), ids.begin() + t * len);
      std::fill_n(mask.begin() + t * len, texts[t].size(), 1);
    }
    const zest::detail::EncoderOutput batch = model.forward_padded(ids, mask, {}, texts.size(), pool);
    REQUIRE(batch.texts() == texts.size());
    for (size_t t = 0; t < texts.size(); ++t) {
      const zest::detail::EncoderInput input{texts[t], {}};
      const zest::detail::EncoderOutput alone = model.forward(std::span(&input, 1), pool);
      REQUIRE(batch.length(t) == alone.rows());
      double worst = 0;
      for (size_t i = 0; i < alone.rows() * d; ++i)
        worst = std::max(worst, double(std::fabs(batch.row(t, 0)[i] - alone.hidden[i])));
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("bad inputs are errors that say what is wrong") {
  zest::detail::ThreadPool pool(1);
  const zest::detail::EncoderModel model = zest::detail::EncoderModel::load(test_data("models/bert-cls"));
  auto message = [&](std::vector<int32_t> ids, std::vector<int32_t> types) {
    const zest::detail::EncoderInput input{ids, types};
    try {
      model.forward(std::span(&input, 1), pool);
    } catch (const zest::Error& e) {
      CHECK(e.kind() == zest::Error::Kind::input);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message({}, {}).find("no token ids") != std::string::npos);
  CHECK(message({2, 256, 3}, {}).find("token id 256") != std::string::npos);
  CHECK(message({2, 5, 3}, {0, 2, 0}).find("type_vocab_size") != std::string::npos);
  CHECK(message({2, 5, 3}, {0, 0}).find("token type ids") != std::string::npos);
  CHECK(message(std::vector<int32_t>(65, 5), {}).find("max_position_embeddings") != std::string::npos);
  const std::vector<int32_t> ids{2, 5, 3, 2, 5, 0}, holes{1, 0, 1, 1, 1, 0};
  CHECK_THROWS_WITH_AS(model.forward_padded(ids, holes, {}, 2, pool), doctest::Contains("not right padding"), zest::Error);
  CHECK_THROWS_AS(zest::detail::EncoderModel::load(test_data("models/gpt2-bf16")), zest::Error);
}
