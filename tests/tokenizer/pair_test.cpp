// Sentence pairs: Tokenizer::encode_pair gives the ids, token type ids and offsets of Hugging
// Face's encode(text, pair) through each kind of pair template, with and without special tokens,
// under each pair truncation strategy, including the early exit of tokenizers >= 0.23 (each text
// cut split by split to max_length ids before the pair is truncated: detail::precut); goldens
// from tokenizers 0.23.2 (tools/tokenizer-reference/pair_goldens.js).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "zest/tokenizer.hpp"
#include "test_data.hpp"

namespace {

nlohmann::json read_pair_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

}  // namespace

TEST_CASE("encode_pair gives Hugging Face's ids, type ids and offsets for every pair template and truncation") {
  const nlohmann::json golden = read_pair_json(test_data("tokenizer/golden/pairs.json"));
  std::map<std::string, int> checked;
  int errors = 0;
  for (const auto& [name, spec] : golden["tokenizers"].items()) {
    nlohmann::json base = read_pair_json(test_data("tokenizer/models/" + spec["base"].get<std::string>() + "/tokenizer.json"));
    for (const auto& [key, value] : spec["change"].items()) base[key] = value;
    for (size_t s = 0; s < golden["settings"].size(); ++s) {
      nlohmann::json file = base;
      file["truncation"] = golden["settings"][s]["truncation"];
      file["padding"] = golden["settings"][s]["padding"];
      const zest::Tokenizer t = zest::Tokenizer::from_json(file.dump());
      for (const auto& c : golden["cases"]) {
        if (c["tokenizer"] != name || c["setting"] != s) continue;
        const std::string a = c["text"], b = c["pair"];
        const bool special = c["add_special_tokens"];
        CAPTURE(name);
        CAPTURE(s);
        CAPTURE(a);
        CAPTURE(b);
        CAPTURE(special);
        if (c.contains("error")) {  // OnlyFirst / OnlySecond with a text too short to give up enough
          CHECK_THROWS_WITH_AS(t.encode_pair(a, b, special), doctest::Contains("text has only"), zest::Error);
          ++errors;
          continue;
        }
        const zest::Encoding e = t.encode_pair(a, b, special);
        CHECK(e.ids == c["ids"].get<std::vector<int32_t>>());
        CHECK(e.type_ids == c["type_ids"].get<std::vector<int32_t>>());
        CHECK(e.offsets == c["offsets"].get<std::vector<std::pair<size_t, size_t>>>());
        ++checked[name];
      }
    }
  }
  CHECK(checked.size() == 5);
  for (const auto& [name, n] : checked) CHECK(n + errors > 0);
  int total = errors;
  for (const auto& [name, n] : checked) total += n;
  CHECK(total == 720);
}

TEST_CASE("encode_pair refuses what it cannot do") {
  nlohmann::json file = read_pair_json(test_data("tokenizer/models/bert-base-uncased/tokenizer.json"));
  file["post_processor"].erase("pair");
  const zest::Tokenizer t = zest::Tokenizer::from_json(file.dump());
  CHECK(t.encode("hello", true) == std::vector<int32_t>{101, 7592, 102});
  CHECK_THROWS_WITH_AS(t.encode_pair("hello", "world", true), doctest::Contains("no pair template"), zest::Error);
  // OnlySecond on one text: Hugging Face's "second sequence not provided", once it must cut.
  file = read_pair_json(test_data("tokenizer/models/bert-base-uncased/tokenizer.json"));
  file["truncation"] = {{"max_length", 5}, {"strategy", "OnlySecond"}, {"direction", "Right"}, {"stride", 0}};
  const zest::Tokenizer only_second = zest::Tokenizer::from_json(file.dump());
  CHECK(only_second.encode("hello", true) == std::vector<int32_t>{101, 7592, 102});
  CHECK_THROWS_WITH_AS(only_second.encode("hello big wide world", true), doctest::Contains("OnlySecond"), zest::Error);
  CHECK(only_second.encode_pair("hello", "big world", true).ids == std::vector<int32_t>{101, 7592, 102, 2502, 102});
  if (std::filesystem::exists(test_data("tokenizer/models/spm-unigram-8k/tokenizer.model")))
    CHECK_THROWS_WITH_AS(zest::Tokenizer::from_file(test_data("tokenizer/models/spm-unigram-8k/tokenizer.model")).encode_pair("a", "b"),
                         doctest::Contains("sentence pairs need a tokenizer.json"), zest::Error);
}
