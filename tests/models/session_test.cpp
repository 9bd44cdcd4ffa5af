// Sessions and chat on a Pipeline: a session's later calls prefill only what its cache lacks and
// give what one fresh generation over the whole sequence gives (also when the cache grows past its
// first 256 positions, and after a rewind); chat() renders through the model's template, encodes
// without a second BOS, stops at the template's end-of-turn token, and in a session reuses the
// earlier turns' cache.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/pipeline.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

zest::Pipeline load(const fs::path& dir) {
  zest::LoadOptions options;
  options.threads = 2;
  return zest::Pipeline::from_pretrained(dir, options);
}

std::vector<int32_t> joined(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// tiny-llama (SentencePiece BPE, <s> = 1, </s> = 2) with a Llama-2-style chat template; `eot`
// makes id 7927 (the piece "▁root", which no merge uses) a special <|eot|> token that ends
// assistant turns instead of </s>.
fs::path chat_model_dir(bool eot) {
  const fs::path dir = fs::temp_directory_path() / (eot ? "zest-session-test-eot" : "zest-session-test");
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(test_data("fixtures/tiny-llama")))
    fs::copy_file(f.path(), dir / f.path().filename());
  const std::string end = eot ? "<|eot|>" : "{{ eos_token }}";
  Json config = {{"bos_token", "<s>"}, {"eos_token", "</s>"},
                 {"chat_template", "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]"
                                   "{% else %} {{ m.content }}" + end + "{% endif %}{% endfor %}"}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  if (eot) {
    std::ifstream in(dir / "tokenizer.json");
    nlohmann::json tok = nlohmann::json::parse(in);
    in.close();
    auto& vocab = tok["model"]["vocab"];
    vocab.erase("\u2581root");
    vocab["<|eot|>"] = 7927;
    auto& merges = tok["model"]["merges"];
    merges.erase(std::remove_if(merges.begin(), merges.end(),
                                [](const nlohmann::json& m) { return m[0].get<std::string>() + m[1].get<std::string>() == "\u2581root"; }),
                 merges.end());
    tok["added_tokens"].push_back({{"id", 7927}, {"content", "<|eot|>"}, {"single_word", false}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", true}});
    std::ofstream(dir / "tokenizer.json") << tok.dump();
    fs::remove(dir / "tokenizer.model");
  }
  return dir;
}

}  // namespace

TEST_SUITE_BEGIN("session");

TEST_CASE("a session's turns prefill only their new tokens and equal one fresh generation") {
  const auto pipeline = load(test_data("fixtures/tiny-llama"));
  auto session = pipeline.start_session();
  // 200 + 80 + 30 + 40 positions: the cache grows past its first 256 while holding 280.
  std::vector<int32_t> a(200), b(30);
  for (size_t i = 0; i < a.size(); ++i) a[i] = int32_t(3 + (i * 37) % 7000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = int32_t(5 + (i * 53) % 7000);

  const auto first = pipeline.generate_ids(session, a, greedy(80));
  CHECK(first.ids == pipeline.generate_ids(a, greedy(80)).ids);
  CHECK(first.timings.prompt_tokens == 200);
  CHECK(first.timings.cached_tokens == 0);
  CHECK(session.length() == 280);
  CHECK(session.cached() == 279);  // the last new id is not run yet

  const auto second = pipeline.generate_ids(session, b, greedy(40));
  CHECK(second.timings.prompt_tokens == 31);  // the first call's last id, then b
  CHECK(second.timings.cached_tokens == 279);
  const auto fresh = pipeline.generate_ids(joined(joined(a, first.ids), b), greedy(40));
  CHECK(second.ids == fresh.ids);
  CHECK(second.text == fresh.text);
  CHECK(session.length() == 350);

  SUBCASE("rewind re-runs only the last kept position") {
    session.rewind(200);
    const auto again = pipeline.generate_ids(session, {}, greedy(80));
    CHECK(again.ids == first.ids);
    CHECK(again.timings.prompt_tokens == 1);
    CHECK(again.timings.cached_tokens == 199);
  }
  SUBCASE("a call that fails leaves the session as it was") {
    CHECK_THROWS_AS(pipeline.generate_ids(session, b, greedy(2000)), zest::Error);
    CHECK(session.length() == 350);
    CHECK(pipeline.generate_ids(session, {}, greedy(1)).timings.cached_tokens == 349);
  }
  SUBCASE("a session runs only on its own pipeline") {
    const auto other = load(test_data("fixtures/tiny-llama"));
    CHECK_THROWS_WITH_AS(other.generate_ids(session, b, greedy(1)), doctest::Contains("another Pipeline"), zest::Error);
  }
}

TEST_CASE("chat renders the template, adds no second BOS and reuses the earlier turns in a session") {
  const auto pipeline = load(chat_model_dir(false));
  const Json turn1 = Json::array({{{"role", "user"}, {"content", "Hello there"}}});
  CHECK(pipeline.apply_chat_template(turn1) == "<s>[INST] Hello there [/INST]");

  auto session = pipeline.start_session();
  const auto first = pipeline.chat(session, turn1, greedy(12));
  CHECK(first.ids == pipeline.chat(turn1, greedy(12)).ids);
  const auto ids = session.ids();
  REQUIRE(ids.size() > 2);
  CHECK(ids[0] == 1);
  CHECK(ids[1] != 1);  // the template's <s> alone: encode added none
  CHECK(first.timings.prompt_tokens == pipeline.tokenizer().encode("<s>[INST] Hello there [/INST]").size());

  Json turn2 = turn1;
  turn2.push_back({{"role", "assistant"}, {"content", first.text}});
  turn2.push_back({{"role", "user"}, {"content", "And then?"}});
  const auto second = pipeline.chat(session, turn2, greedy(12));
  const size_t whole = pipeline.tokenizer().encode(pipeline.apply_chat_template(turn2)).size();
  // The first turn's prompt at least is reused; only its tail after the shared prefix is prefilled.
  CHECK(second.timings.cached_tokens >= first.timings.prompt_tokens);
  CHECK(second.timings.prompt_tokens + second.timings.cached_tokens == whole);
  CHECK(second.ids == pipeline.chat(turn2, greedy(12)).ids);
}

TEST_CASE("chat stops at the template's end-of-turn token when it is a special one") {
  zest::GenerateParams forced = greedy(5);
  forced.ignore_eos = false;
  forced.logit_bias = {{7927, 100.0f}};
  const auto with_eot = load(chat_model_dir(true));
  const Json hi = Json::array({{{"role", "user"}, {"content", "Hi"}}});
  const auto g = with_eot.chat(hi, forced);
  CHECK(g.ids == std::vector<int32_t>{7927});
  CHECK(g.stop_reason == zest::StopReason::eos);
  // generate() keeps generation_config.json's eos ids alone.
  CHECK(with_eot.generate("Hi", forced).stop_reason == zest::StopReason::length);
}

TEST_CASE("chat without a template is an error until one is given") {
  auto pipeline = load(test_data("fixtures/tiny-llama"));
  const Json hi = Json::array({{{"role", "user"}, {"content", "Hi"}}});
  CHECK_THROWS_WITH_AS(pipeline.chat(hi, greedy(2)), doctest::Contains("no chat template"), zest::Error);
  pipeline.set_chat_template("{% for m in messages %}User: {{ m.content }}\n{% endfor %}Assistant:");
  CHECK(pipeline.apply_chat_template(hi) == "User: Hi\nAssistant:");
  CHECK(pipeline.chat(hi, greedy(2)).ids.size() == 2);
}

TEST_SUITE_END();
