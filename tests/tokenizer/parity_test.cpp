// Parity with Hugging Face tokenizers 0.23.2: committed goldens (tools/tokenizer-reference)
// for corpus excerpts and every edge case, on all six shared tokenizers.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zest/tokenizer.hpp"
#include "test_data.hpp"

namespace {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

const std::vector<nlohmann::json>& texts() {
  static const auto rows = read_jsonl(test_data("tokenizer") + "/golden/texts.jsonl");
  return rows;
}

// The reference gives offsets in characters; zest gives them in bytes.
std::vector<std::pair<size_t, size_t>> to_bytes(const std::string& text, const nlohmann::json& offsets) {
  std::vector<size_t> byte_of_char;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of_char.push_back(i);
  byte_of_char.push_back(text.size());
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& o : offsets) {
    const auto b = o[0].get<size_t>(), e = o[1].get<size_t>();
    out.emplace_back(byte_of_char.at(std::min(b, byte_of_char.size() - 1)), byte_of_char.at(std::min(e, byte_of_char.size() - 1)));
  }
  return out;
}

void check_tokenizer(const std::string& name) {
  const auto golden = read_jsonl(test_data("tokenizer") + "/golden/" + name + ".jsonl");
  const auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json");
  REQUIRE(golden.size() == texts().size());
  int same = 0, same_special = 0, same_offsets = 0, with_offsets = 0, same_decode = 0, same_skip = 0;
  for (size_t i = 0; i < golden.size(); ++i) {
    const std::string text = texts()[i]["text"];
    const std::string what = name + " " + texts()[i]["name"].get<std::string>();
    const auto& g = golden[i];
    const auto ids = tok.encode(text, false);
    const auto ids_special = tok.encode(text, true);
    const auto expect = g["ids"].get<std::vector<int32_t>>();
    const auto expect_special = g["ids_special"].get<std::vector<int32_t>>();
    same += ids == expect;
    same_special += ids_special == expect_special;
    CHECK_MESSAGE(ids == expect, what);
    CHECK_MESSAGE(ids_special == expect_special, what);
    if (!g["offsets"].is_null()) {
      ++with_offsets;
      const auto enc = tok.encode_with_offsets(text, false);
      const auto expect_offsets = to_bytes(text, g["offsets"]);
      same_offsets += enc.offsets == expect_offsets;
      CHECK_MESSAGE(enc.ids == expect, what);
      CHECK_MESSAGE(enc.offsets == expect_offsets, what);
    }
    const std::string decoded = tok.decode(expect_special, false);
    const std::string decoded_skip = tok.decode(expect_special, true);
    same_decode += decoded == g["decoded"].get<std::string>();
    same_skip += decoded_skip == g["decoded_skip"].get<std::string>();
    CHECK_MESSAGE(decoded == g["decoded"].get<std::string>(), what);
    CHECK_MESSAGE(decoded_skip == g["decoded_skip"].get<std::string>(), what);
  }
  MESSAGE(name << ": ids " << same << "/" << golden.size() << ", with special tokens " << same_special << "/"
                << golden.size() << ", offsets " << same_offsets << "/" << with_offsets << ", decode " << same_decode
                << "/" << golden.size() << ", decode skipping specials " << same_skip << "/" << golden.size());
}

}  // namespace

TEST_CASE("parity gpt2") { check_tokenizer("gpt2"); }
TEST_CASE("parity bert-base-uncased") { check_tokenizer("bert-base-uncased"); }
TEST_CASE("parity spm-bpe-8k") { check_tokenizer("spm-bpe-8k"); }
TEST_CASE("parity spm-unigram-8k") { check_tokenizer("spm-unigram-8k"); }
TEST_CASE("parity wordpiece-cased-8k") { check_tokenizer("wordpiece-cased-8k"); }
TEST_CASE("parity roberta-bpe-8k") { check_tokenizer("roberta-bpe-8k"); }
