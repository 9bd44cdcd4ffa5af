// Pipeline and the generation loop: greedy ids equal the reference's, end-of-sequence and stop
// strings end generation where they should, streaming pieces join to the text, seeds reproduce,
// and one Pipeline shared by 8 threads gives what serial calls give (also run under TSan).
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "golden.hpp"
#include "zest/pipeline.hpp"
#include "test_data.hpp"

namespace {


// The golden greedy ids of a prompt up to the first step whose top-1 margin is below 1e-3.
std::vector<int32_t> reliable_greedy(const nlohmann::json& prompt) {
  std::vector<int32_t> ids;
  const auto& g = prompt["greedy"];
  for (size_t i = 0; i < g["ids"].size(); ++i) {
    if (g["step_top5"][i][0][1].get<double>() - g["step_top5"][i][1][1].get<double>() < 1e-3) break;
    ids.push_back(g["ids"][i].get<int32_t>());
  }
  return ids;
}

// The text `ids` add after the prompt's last token: decoded in its context, as generation streams it.
std::string continuation(const zest::Tokenizer& t, int32_t last_prompt_id, const std::vector<int32_t>& ids) {
  std::vector<int32_t> with_context = {last_prompt_id};
  with_context.insert(with_context.end(), ids.begin(), ids.end());
  return t.decode(with_context, true).substr(t.decode({last_prompt_id}, true).size());
}

}  // namespace

TEST_SUITE_BEGIN("pipeline");

TEST_CASE("greedy generation through the Pipeline equals the reference") {
  for (const char* name : {"tiny-llama", "tiny-gpt2", "tiny-qwen2"}) {
    CAPTURE(name);
    zest::LoadOptions options;
    options.threads = 2;
    const auto pipeline = zest::Pipeline::from_pretrained(test_data(std::string("fixtures/") + name), options);
    const auto golden = load_golden(test_data(std::string("models/fixture-goldens/") + name + ".json"));
    for (const auto& prompt : golden["prompts"]) {
      const auto want = reliable_greedy(prompt);
      if (want.empty()) continue;
      const auto g = pipeline.generate_ids(prompt["ids"].get<std::vector<int32_t>>(), greedy(int(want.size())));
      CHECK(g.ids == want);
      CHECK(g.stop_reason == zest::StopReason::length);
      CHECK(g.timings.decode_steps == want.size() - 1);
      CHECK(g.text == continuation(pipeline.tokenizer(), prompt["ids"].back().get<int32_t>(), want));
    }
  }
}

TEST_CASE("a directory without tokenizer files generates from ids") {
  zest::LoadOptions options;
  options.threads = 2;
  const auto pipeline = zest::Pipeline::from_pretrained(test_data("models/llama-odd-gqa"), options);
  CHECK_FALSE(pipeline.has_tokenizer());
  const auto golden = load_golden(test_data("models/llama-odd-gqa/golden.json"));
  const auto& prompt = golden["prompts"][0];
  const auto want = reliable_greedy(prompt);
  REQUIRE_FALSE(want.empty());
  const auto g = pipeline.generate_ids(prompt["ids"].get<std::vector<int32_t>>(), greedy(int(want.size())));
  CHECK(g.ids == want);
  CHECK(g.text.empty());
  CHECK_THROWS_WITH_AS(pipeline.generate("text"), doctest::Contains("no tokenizer files"), zest::Error);
  auto stop = greedy(4);
  stop.stop = {"x"};
  CHECK_THROWS_WITH_AS(pipeline.generate_ids(prompt["ids"].get<std::vector<int32_t>>(), stop),
                       doctest::Contains("stop strings need a tokenizer"), zest::Error);
}

TEST_CASE("end of sequence, stop strings, streaming, callbacks") {
  const auto pipeline = zest::Pipeline::from_pretrained(test_data("fixtures/tiny-llama"));
  const auto golden = load_golden(test_data("models/fixture-goldens/tiny-llama.json"));
  const auto& prompt = golden["prompts"][1];
  const auto prompt_ids = prompt["ids"].get<std::vector<int32_t>>();
  const auto want = reliable_greedy(prompt);
  REQUIRE(want.size() >= 8);
  const std::vector<int32_t> first8(want.begin(), want.begin() + 8);
  const std::string text8 = continuation(pipeline.tokenizer(), prompt_ids.back(), first8);

  SUBCASE("an end-of-sequence id ends generation and is kept in the ids") {
    // The generation loop itself, given an end-of-sequence id of the test's choosing.
    const auto model = zest::detail::DecoderModel::load(test_data("fixtures/tiny-llama"), {});
    zest::detail::ThreadPool pool(2);
    const std::vector<int32_t> eos = {want[4]};
    auto params = greedy(8);
    params.ignore_eos = false;
    const auto g = zest::detail::generate(model, &pipeline.tokenizer(), prompt_ids, params, eos, pool);
    CHECK(g.stop_reason == zest::StopReason::eos);
    CHECK(g.ids == std::vector<int32_t>(want.begin(), want.begin() + 5));
    params.ignore_eos = true;
    CHECK(zest::detail::generate(model, &pipeline.tokenizer(), prompt_ids, params, eos, pool).ids.size() == 8);
  }
  SUBCASE("a stop string ends generation, also across token boundaries, and is not in the text") {
    REQUIRE(text8.size() > 6);
    const std::string stop = text8.substr(text8.size() / 2 - 2, 4);
    auto params = greedy(8);
    params.stop = {stop};
    std::string streamed;
    params.on_text = [&](std::string_view piece) {
      streamed += piece;
      return true;
    };
    const auto g = pipeline.generate_ids(prompt_ids, params);
    CHECK(g.stop_reason == zest::StopReason::stop_string);
    CHECK(g.text == text8.substr(0, text8.find(stop)));
    CHECK(streamed == g.text);
  }
  SUBCASE("streamed pieces join to the text; the callback can stop") {
    auto params = greedy(8);
    std::vector<std::string> pieces;
    params.on_text = [&](std::string_view piece) {
      pieces.emplace_back(piece);
      return true;
    };
    const auto g = pipeline.generate_ids(prompt_ids, params);
    std::string joined;
    for (const auto& p : pieces) joined += p;
    CHECK(joined == text8);
    CHECK(g.text == text8);
    int calls = 0;
    params.on_text = [&](std::string_view) { return ++calls < 2; };
    const auto stopped = pipeline.generate_ids(prompt_ids, params);
    CHECK(stopped.stop_reason == zest::StopReason::callback);
    CHECK(calls == 2);
    CHECK(stopped.ids.size() < 8);
  }
  SUBCASE("generate() from text encodes with the tokenizer's special tokens") {
    const auto g = pipeline.generate("The jury said", greedy(4));
    const auto ids = pipeline.tokenizer().encode("The jury said", true);
    CHECK(g.ids == pipeline.generate_ids(ids, greedy(4)).ids);
    CHECK(g.timings.prompt_tokens == ids.size());
  }
  SUBCASE("errors") {
    CHECK_THROWS_WITH_AS(pipeline.generate_ids(prompt_ids, greedy(5000)), doctest::Contains("max_position_embeddings"),
                         zest::Error);
    CHECK_THROWS_AS(pipeline.generate_ids(std::vector<int32_t>{}, greedy(4)), zest::Error);
    CHECK_THROWS_AS(pipeline.generate_ids(std::vector<int32_t>{1, -3}, greedy(4)), zest::Error);
  }
}

TEST_CASE("sampling is reproducible by seed") {
  const auto pipeline = zest::Pipeline::from_pretrained(test_data("fixtures/tiny-qwen2"));
  zest::GenerateParams params;
  params.max_new_tokens = 16;
  params.do_sample = true;
  params.temperature = 1.5f;
  params.top_k = 0;
  params.ignore_eos = true;
  params.seed = 7;
  const auto a = pipeline.generate("Once upon a time", params);
  const auto b = pipeline.generate("Once upon a time", params);
  CHECK(a.ids == b.ids);
  params.seed = 8;
  CHECK(pipeline.generate("Once upon a time", params).ids != a.ids);
}

TEST_CASE("8 threads sharing one Pipeline give what serial calls give") {
  zest::LoadOptions options;
  options.threads = 2;
  const auto pipeline = zest::Pipeline::from_pretrained(test_data("fixtures/tiny-llama"), options);
  const std::vector<std::string> prompts = {"The jury said", "It was", "In the morning", "He asked her",
                                            "Mr. Smith", "The city of", "After the war", "We will"};
  auto params_for = [](size_t i) {
    zest::GenerateParams p;
    p.max_new_tokens = 12;
    p.ignore_eos = true;
    p.do_sample = i % 2 == 1;
    p.temperature = 0.9f;
    p.seed = i;
    return p;
  };
  std::vector<zest::Generation> serial;
  for (size_t i = 0; i < prompts.size(); ++i) serial.push_back(pipeline.generate(prompts[i], params_for(i)));
  std::vector<zest::Generation> parallel(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i)
    threads.emplace_back([&, i] { parallel[i] = pipeline.generate(prompts[i], params_for(i)); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < prompts.size(); ++i) {
    CAPTURE(i);
    CHECK(parallel[i].ids == serial[i].ids);
    CHECK(parallel[i].text == serial[i].text);
  }
}

TEST_SUITE_END();
