// The public API beyond parity: SentencePiece .model files against spm_encode, model
// directories, the stream decoder, bad input, thread safety and the cache switch.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "zest/tokenizer.hpp"
#include "zest/tokenizer/json_loader.hpp"
#include "zest/tokenizer/vocab_files.hpp"
#include "test_data.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> all_texts() {
  std::vector<std::string> out;
  for (const auto& line : lines_of(test_data("tokenizer") + "/golden/texts.jsonl")) out.push_back(nlohmann::json::parse(line)["text"]);
  return out;
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::istringstream in(line);
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

bool throws_naming(auto&& f, const std::string& needle) {
  try {
    f();
  } catch (const zest::Error& e) {
    const bool ok = std::string(e.what()).find(needle) != std::string::npos;
    if (!ok) MESSAGE("message was: " << std::string(e.what()));
    return ok;
  }
  return false;
}

const std::vector<std::string> six = {"gpt2", "bert-base-uncased", "spm-bpe-8k", "spm-unigram-8k", "wordpiece-cased-8k", "roberta-bpe-8k"};

}  // namespace

TEST_CASE("SentencePiece .model equals spm_encode") {
  const auto texts = lines_of(test_data("tokenizer") + "/golden/spm-texts.txt");
  for (const std::string name : {"spm-bpe-8k", "spm-unigram-8k"}) {
    const auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.model");
    const auto golden = lines_of(test_data("tokenizer") + "/golden/" + name + ".ids");
    REQUIRE(golden.size() == texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto expect = parse_ids(golden[i]);
      CHECK_MESSAGE(tok.encode(texts[i]) == expect, name, " ", texts[i]);
      auto special = expect;
      special.insert(special.begin(), 1);
      CHECK(tok.encode(texts[i], true) == special);
    }
    CHECK(tok.vocab_size() == 8000);
    CHECK(tok.special_tokens().bos == 1);
    CHECK(tok.special_tokens().eos == 2);
    CHECK(tok.special_tokens().unk == 0);
    CHECK(tok.decode(tok.encode("Hello world.")) == "Hello world.");
    CHECK(tok.token_to_id("<s>") == 1);
    CHECK(tok.id_to_token(2) == "</s>");
    CHECK_FALSE(tok.token_to_id("no such piece here").has_value());
  }
}

TEST_CASE("model directories") {
  const auto texts = all_texts();
  // vocab.json + merges.txt (no tokenizer.json): GPT-2-style byte-level BPE.
  const std::string dir = std::filesystem::temp_directory_path() / "zest-tokenizer-dir-test";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(test_data("tokenizer") + "/models/roberta-bpe-8k/vocab.json", dir + "/vocab.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(test_data("tokenizer") + "/models/roberta-bpe-8k/merges.txt", dir + "/merges.txt",
                             std::filesystem::copy_options::overwrite_existing);
  const auto from_dir = zest::Tokenizer::from_file(dir);
  const auto reference = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/roberta-bpe-8k/tokenizer.json");
  for (const auto& t : texts) {
    // Same model; the directory has no added tokens, so texts naming them differ.
    if (t.find('<') == std::string::npos) CHECK_MESSAGE(from_dir.encode(t) == reference.encode(t), t);
  }
  // vocab.txt + tokenizer_config.json (cased): BERT WordPiece.
  std::filesystem::remove(dir + "/vocab.json");
  std::filesystem::remove(dir + "/merges.txt");
  std::filesystem::copy_file(test_data("tokenizer") + "/models/wordpiece-cased-8k/vocab.txt", dir + "/vocab.txt",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer_config.json") << R"({"do_lower_case": false, "eos_token": "[SEP]", "bos_token": {"content": "[CLS]"}})";
  const auto bert_dir = zest::Tokenizer::from_file(dir);
  const auto bert_ref = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/wordpiece-cased-8k/tokenizer.json");
  for (const auto& t : texts) {
    CHECK_MESSAGE(bert_dir.encode(t) == bert_ref.encode(t), t);
    CHECK_MESSAGE(bert_dir.encode(t, true) == bert_ref.encode(t, true), t);
  }
  CHECK(bert_dir.special_tokens().eos == 3);
  CHECK(bert_dir.special_tokens().bos == 2);
  CHECK(bert_dir.special_tokens().pad == 0);
  std::filesystem::remove_all(dir);

  // A directory with tokenizer.json.
  const auto gpt2 = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/gpt2");
  CHECK(gpt2.encode("Hello world") == std::vector<int32_t>{15496, 995});
  CHECK(gpt2.vocab_size() == 50257);
  CHECK(gpt2.special_tokens().eos == 50256);
  CHECK(gpt2.token_to_id("<|endoftext|>") == 50256);
  CHECK(gpt2.id_to_token(995) == "\xC4\xA0world");
  CHECK_FALSE(gpt2.id_to_token(50257).has_value());
}

TEST_CASE("stream decoder joins to decode and never splits a character") {
  const auto texts = all_texts();
  for (const auto& name : six) {
    const auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json");
    int same = 0;
    for (const auto& t : texts) {
      const auto ids = tok.encode(t, true);
      for (const bool skip : {false, true}) {
        auto stream = tok.stream_decoder(skip);
        std::string joined;
        for (auto id : ids) {
          const std::string piece = stream.step(id);
          CHECK(zest::detail::utf8::find_invalid(piece) == std::string::npos);
          joined += piece;
        }
        joined += stream.finish();
        same += joined == tok.decode(ids, skip);
        CHECK_MESSAGE(joined == tok.decode(ids, skip), name, " ", t);
      }
    }
  }
}

TEST_CASE("invalid UTF-8 names the byte offset, or is replaced on request") {
  const auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/gpt2/tokenizer.json");
  CHECK(throws_naming([&] { tok.encode("abc\xFF" "def"); }, "byte offset 3"));
  CHECK(throws_naming([&] { tok.encode("\xE2\x82"); }, "byte offset 0"));
  CHECK(throws_naming([&] { tok.encode("ok \xED\xA0\x80"); }, "byte offset 3"));  // a surrogate
  CHECK(throws_naming([&] { tok.encode("\xC0\xAF"); }, "byte offset 0"));          // overlong
  CHECK(tok.encode("abc\xFF" "def", false, zest::InvalidUtf8::replace) == tok.encode("abc\xEF\xBF\xBD" "def"));
}

TEST_CASE("malformed tokenizer.json: errors name the file and the JSON path") {
  auto json = nlohmann::json::parse(zest::detail::read_file(test_data("tokenizer") + "/models/wordpiece-cased-8k/tokenizer.json"));
  auto with = [&](auto edit) {
    auto j = json;
    edit(j);
    return j.dump();
  };
  CHECK(throws_naming([&] { zest::Tokenizer::from_json("{not json", "bad.json"); }, "bad.json: not valid JSON"));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["model"]["type"] = "Magic"; }), "t.json"); },
                      "t.json: $.model.type: model \"Magic\" is not supported"));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["normalizer"] = {{"type", "Precompiled"}}; }), "t.json"); },
                      "$.normalizer.type: normalizer \"Precompiled\""));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["pre_tokenizer"] = {{"type", "UnicodeScripts"}}; }), "t.json"); },
                      "$.pre_tokenizer.type: pre-tokenizer \"UnicodeScripts\""));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["decoder"] = {{"type", "CTC"}}; }), "t.json"); },
                      "$.decoder.type: decoder \"CTC\""));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["model"]["vocab"]["hello"] = "x"; }), "t.json"); },
                      "$.model.vocab[\"hello\"]: expected an integer"));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["added_tokens"][1].erase("content"); }), "t.json"); },
                      "$.added_tokens[1]: missing \"content\""));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(("}}}, {"behavior", "Isolated"}}; }), "t.json"); },
                      "invalid regular expression"));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(with([](auto& j) { j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}}; }), "t.json"); },
                      "$.pre_tokenizer.behavior: unknown split behavior"));
  auto bpe = nlohmann::json::parse(zest::detail::read_file(test_data("tokenizer") + "/models/roberta-bpe-8k/tokenizer.json"));
  bpe["model"]["merges"][5] = nlohmann::json::array({"zzzq", "t"});
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(bpe.dump(), "r.json"); }, "r.json: $.model.merges[5]: merge token \"zzzq\""));
  CHECK(throws_naming([&] { zest::Tokenizer::from_file(test_data("tokenizer") + "/no-such-file.json"); }, "no such file"));
  const auto tok = zest::Tokenizer::from_json(json.dump());
  CHECK(throws_naming([&] { tok.decode({1, 999999}); }, "token id 999999"));
}

TEST_CASE("a token id is checked before it sizes anything") {
  // fuzz_tokenizer_json's out-of-memory input (tests/fuzz/corpus/tokenizer_json/oom-vocab-id.json):
  // the id 712,080,682 once sized the vocabulary's table (21 GB) before any check.
  const std::string fuzzed =
      R"({"model":{"ty#e":"BPE","vocab":{"NSt280000000000.17982a":4,"":11,"ab":712080682},"merges":["a 13667760234039<470b"]},"pre_to457}kenizer}":{"type":"ByteLevel"}})";
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(fuzzed, "fuzz.json"); },
                      "fuzz.json: $.model.vocab[\"ab\"]: token id 712080682 is out of range: a vocabulary of 3 tokens takes ids 0 to 65538"));

  // The limit: the vocabulary's size plus 65,536 unused ids.
  auto bpe = [](int64_t id) {
    return R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":)" + std::to_string(id) + R"(},"merges":["a b"]}})";
  };
  CHECK(zest::Tokenizer::from_json(bpe(65538)).encode("ab") == std::vector<int32_t>{65538});
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(bpe(65539)); }, "token id 65539 is out of range"));
  CHECK(throws_naming([&] { zest::Tokenizer::from_json(bpe(-1)); }, "token id -1 is out of range"));

  // The same check on the plain path, here from a GPT-2 vocab.json.
  const std::string dir = std::filesystem::temp_directory_path() / "zest-tokenizer-id-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/vocab.json") << R"({"a": 0, "b": 1, "ab": 712080682})";
  std::ofstream(dir + "/merges.txt") << "a b\n";
  CHECK(throws_naming([&] { zest::Tokenizer::from_file(dir); }, "vocab.json: $.model.vocab[\"ab\"]: token id 712080682 is out of range"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the tokenizer.json loader builds nlohmann's tree and rejects what nlohmann rejects") {
  auto read = [](const std::string& text, nlohmann::json& out) {
    zest::detail::ModelTables tables;
    if (!zest::detail::parse_tokenizer_json(text, out, tables)) return false;
    // The tables it took out: their places in the tree hold null, their sizes what the text has.
    const auto expected = nlohmann::json::parse(text);
    if (tables.vocab_ids_given || tables.vocab_scores_given) {
      CHECK(out["model"]["vocab"].is_null());
      CHECK(tables.vocab_ids.size() + tables.vocab_scores.size() == expected["model"]["vocab"].size());
      out["model"]["vocab"] = expected["model"]["vocab"];
    }
    if (tables.merges_given) {
      CHECK(out["model"]["merges"].is_null());
      CHECK(tables.merges.size() == expected["model"]["merges"].size());
      out["model"]["merges"] = expected["model"]["merges"];
    }
    return true;
  };
  std::vector<std::string> valid = {
      R"( {"a": [1, -2, 3.5, -0, 0.0, 18446744073709551615, 18446744073709551616, -9223372036854775809, 1E+2, 2e-3],
          "b": {}, "c": [], "d": [true, false, null], "a": "x\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t\u0000", "é": "▁"} )",
      "[]", "\"\"", "0", "-1.5e7"};
  for (const char* name : {"gpt2", "bert-base-uncased", "spm-bpe-8k", "roberta-bpe-8k"})
    valid.push_back(zest::detail::read_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json"));
  for (const auto& text : valid) {
    nlohmann::json fast;
    CHECK(read(text, fast));
    CHECK(fast == nlohmann::json::parse(text));
  }
  for (const std::string text : {"{\"a\":1,}", "[1 2]", "01", "1.", ".5", "-", "1e", "+1", "tru", "[1] x", "{\"a\" 1}", "{1: 2}",
                                 "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u12G4\"", "\"\\x\"", "\"a\x01\"",
                                 "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"abc", "[", "", "1e999"}) {
    nlohmann::json fast;
    CHECK_MESSAGE(!read(text, fast), text);
    CHECK_MESSAGE(nlohmann::json::parse(text, nullptr, false).is_discarded(), text);
  }
}

TEST_CASE("threads share one tokenizer; the cache changes nothing") {
  const auto texts = all_texts();
  for (const std::string name : {"gpt2", "bert-base-uncased"}) {
    auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json");
    tok.set_cache_capacity(256);  // small: eviction happens all the time
    std::vector<std::vector<int32_t>> expect;
    auto plain = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json");
    plain.set_cache_capacity(0);
    CHECK(plain.cache_capacity() == 0);
    for (const auto& t : texts) expect.push_back(plain.encode(t));
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> pool;
    for (int k = 0; k < 4; ++k)
      pool.emplace_back([&, k] {
        for (int round = 0; round < 3; ++round)
          for (size_t i = 0; i < texts.size(); ++i) mismatches[size_t(k)] += tok.encode(texts[i]) != expect[i];
      });
    for (auto& t : pool) t.join();
    for (int m : mismatches) CHECK(m == 0);
  }
}

TEST_CASE("the ids-only fast paths equal the general path (taken with offsets) on random text") {
  // Mixed classes around the SWAR runs of 8: letters of both cases, digits, punctuation,
  // spaces, controls, contractions and a few non-ASCII characters.
  const std::vector<std::string> alphabet = {"a", "Z", "q", "7", "0", " ", "  ", ".", ",", "'", "'s", "!", "\t", "\n",
                                             "\x01", "\x7f", "-", "\xC3\xA9", "\xE2\x96\x81", "ab", "XYZ", "hello", "World"};
  std::mt19937 rng(7);
  for (const auto& name : six) {
    const auto tok = zest::Tokenizer::from_file(test_data("tokenizer") + "/models/" + name + "/tokenizer.json");
    int mismatches = 0;
    for (int i = 0; i < 2000; ++i) {
      std::string text;
      for (int n = int(rng() % 24); n > 0; --n) text += alphabet[rng() % alphabet.size()];
      const bool same = tok.encode(text) == tok.encode_with_offsets(text).ids;
      mismatches += !same;
      CHECK_MESSAGE(same, name << ": \"" << text << "\"");
    }
    CHECK(mismatches == 0);
  }
}
