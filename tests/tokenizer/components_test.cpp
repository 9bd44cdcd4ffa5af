// Every pipeline component the six shared tokenizers do not use, against Hugging Face
// tokenizers 0.23.2: variants of the shared tokenizer.json files with components replaced
// (tools/tokenizer-reference/variants.js), encoded and decoded on edge cases and corpus lines.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zest/tokenizer.hpp"
#include "zest/tokenizer/vocab_files.hpp"
#include "test_data.hpp"

namespace {

std::map<std::string, std::string> texts_by_name() {
  std::map<std::string, std::string> out;
  std::ifstream in(test_data("tokenizer") + "/golden/texts.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out[j["name"]] = j["text"];
  }
  return out;
}

}  // namespace

TEST_CASE("component variants equal the reference") {
  const auto texts = texts_by_name();
  std::ifstream in(test_data("tokenizer") + "/golden/variants.jsonl");
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names = nlohmann::json::parse(line)["texts"];
  int variants = 0;
  for (; std::getline(in, line); ++variants) {
    const auto v = nlohmann::json::parse(line);
    const std::string name = v["name"];
    auto json = nlohmann::json::parse(zest::detail::read_file(test_data("tokenizer") + "/models/" + v["base"].get<std::string>() + "/tokenizer.json"));
    for (const auto& [key, value] : v["patch"].items()) {
      if (key == "model") json["model"].update(value);
      else if (key == "added_tokens") json["added_tokens"].insert(json["added_tokens"].end(), value.begin(), value.end());
      else json[key] = value;
    }
    const auto tok = zest::Tokenizer::from_json(json.dump(), name);
    int same = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& text = texts.at(names[i]);
      const auto ids = tok.encode(text, false);
      const auto ids_special = tok.encode(text, true);
      const auto expect_special = v["ids_special"][i].get<std::vector<int32_t>>();
      CHECK_MESSAGE(ids == v["ids"][i].get<std::vector<int32_t>>(), name, " ", names[i]);
      CHECK_MESSAGE(ids_special == expect_special, name, " ", names[i]);
      CHECK_MESSAGE(tok.decode(expect_special, false) == v["decoded"][i][0].get<std::string>(), name, " ", names[i]);
      CHECK_MESSAGE(tok.decode(expect_special, true) == v["decoded"][i][1].get<std::string>(), name, " ", names[i]);
      same += ids == v["ids"][i].get<std::vector<int32_t>>();
    }
    if (same != int(names.size())) MESSAGE(name << ": " << same << "/" << names.size());
  }
  CHECK(variants >= 30);
}
