// tokenizer.json's truncation and padding, applied by Tokenizer::encode as Hugging Face's
// encode() applies them: goldens from tokenizers 0.23.2
// (tools/tokenizer-reference/truncation_goldens.js).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "zest/tokenizer.hpp"
#include "test_data.hpp"

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

}  // namespace

TEST_CASE("truncation and padding from tokenizer.json give Hugging Face's ids") {
  const nlohmann::json golden = read_json(test_data("tokenizer/golden/truncation.json"));
  int checked = 0;
  for (const std::string name : {"bert-base-uncased", "roberta-bpe-8k", "gpt2", "spm-unigram-8k"}) {
    nlohmann::json base = read_json(test_data("tokenizer/models/" + name + "/tokenizer.json"));
    for (size_t s = 0; s < golden["settings"].size(); ++s) {
      nlohmann::json file = base;
      file["truncation"] = golden["settings"][s]["truncation"];
      file["padding"] = golden["settings"][s]["padding"];
      const zest::Tokenizer t = zest::Tokenizer::from_json(file.dump());
      for (const auto& c : golden["cases"]) {
        if (c["tokenizer"] != name || c["setting"] != s) continue;
        CAPTURE(name);
        CAPTURE(s);
        CAPTURE(c["text"].get<std::string>());
        const bool special = c["add_special_tokens"].get<bool>();
        CAPTURE(special);
        CHECK(t.encode(c["text"].get<std::string>(), special) == c["ids"].get<std::vector<int32_t>>());
        CHECK(t.encode_with_offsets(c["text"].get<std::string>(), special).offsets.size() == c["ids"].size());
        ++checked;
      }
    }
  }
  CHECK(checked == 160);
}

TEST_CASE("truncation and padding settings are checked, and can be set") {
  nlohmann::json file = read_json(test_data("tokenizer/models/bert-base-uncased/tokenizer.json"));
  file["truncation"] = {{"max_length", 4}, {"strategy", "OnlyThird"}, {"direction", "Right"}, {"stride", 0}};
  CHECK_THROWS_WITH_AS(zest::Tokenizer::from_json(file.dump(), "t.json"),
                       doctest::Contains("t.json: $.truncation.strategy: truncation strategy \"OnlyThird\" is not supported"),
                       zest::Error);
  file["truncation"] = {{"max_length", 4}, {"direction", "Up"}};
  CHECK_THROWS_WITH_AS(zest::Tokenizer::from_json(file.dump(), "t.json"), doctest::Contains("$.truncation.direction"), zest::Error);
  file["truncation"] = nullptr;
  file["padding"] = {{"strategy", {{"Longest", 3}}}};
  CHECK_THROWS_WITH_AS(zest::Tokenizer::from_json(file.dump(), "t.json"), doctest::Contains("$.padding.strategy"), zest::Error);
  file["padding"] = nullptr;

  zest::Tokenizer t = zest::Tokenizer::from_json(file.dump());
  CHECK_FALSE(t.truncation());
  t.set_truncation(zest::Truncation{2, false});
  CHECK_THROWS_WITH_AS(t.encode("hello world", true), doctest::Contains("no room beside the 2 special tokens"), zest::Error);
  CHECK(t.encode("hello world again", false) == std::vector<int32_t>{7592, 2088});
  t.set_truncation(zest::Truncation{3, true});
  CHECK(t.encode("hello world again", true) == std::vector<int32_t>{101, 2153, 102});
  t.set_padding(zest::Padding{5, 0, false, 0});
  CHECK(t.encode("hello", true) == std::vector<int32_t>{101, 7592, 102, 0, 0});
}
