// The classic vocabulary files, turned into the tokenizer.json that Hugging Face's converters
// make of them: GPT-2's vocab.json + merges.txt (byte-level BPE) and BERT's vocab.txt
// (WordPiece), plus tokenizer_config.json for special tokens and casing.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"

namespace zest::detail {

// tokenizer_config.json beside the tokenizer, or an empty object.
inline nlohmann::json read_config(const std::filesystem::path& dir) {
  const auto path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nlohmann::json::object();
  return parse_json_object(read_file(path), path.string());
}

// Added tokens that tokenizer_config.json declares ("added_tokens_decoder": {"id": {...}}).
inline nlohmann::json config_added_tokens(const nlohmann::json& config) {
  nlohmann::json list = nlohmann::json::array();
  if (!config.contains("added_tokens_decoder") || !config["added_tokens_decoder"].is_object()) return list;
  for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
    if (!value.is_object()) continue;
    nlohmann::json t = value;
    try {
      t["id"] = std::stoi(key);
    } catch (...) {
      fail(Error::Kind::format, "tokenizer_config.json: added_tokens_decoder key \"", key, "\" is not an id");
    }
    list.push_back(t);
  }
  return list;
}

inline nlohmann::json gpt2_files_to_json(const std::filesystem::path& vocab_path, const std::filesystem::path& merges_path,
                                         const nlohmann::json& config) {
  auto vocab = parse_json_object(read_file(vocab_path), vocab_path.string());
  nlohmann::json merges = nlohmann::json::array();
  std::istringstream lines(read_file(merges_path));
  std::string line;
  for (int n = 0; std::getline(lines, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (n == 0 && line.rfind("#version", 0) == 0)) continue;
    merges.push_back(line);
  }
  nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  nlohmann::json added = config_added_tokens(config);
  if (added.empty() && vocab.contains("<|endoftext|>")) {
    added.push_back({{"id", vocab["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", true}});
  }
  return {{"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", {{"type", "ByteLevel"}, {"trim_offsets", false}}},
          {"decoder", byte_level},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

inline nlohmann::json bert_vocab_to_json(const std::filesystem::path& vocab_path, const nlohmann::json& config) {
  nlohmann::json vocab = nlohmann::json::object();
  std::istringstream lines(read_file(vocab_path));
  std::string line;
  for (int id = 0; std::getline(lines, line); ++id) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab[line] = id;
  }
  nlohmann::json added = config_added_tokens(config);
  if (added.empty()) {
    for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
      if (vocab.contains(s)) added.push_back({{"id", vocab[s]}, {"content", s}, {"special", true}, {"normalized", false}});
  }
  const bool lower = config.value("do_lower_case", true);
  nlohmann::json post = nullptr;
  if (vocab.contains("[CLS]") && vocab.contains("[SEP]")) {
    post = {{"type", "BertProcessing"}, {"cls", {"[CLS]", vocab["[CLS]"]}}, {"sep", {"[SEP]", vocab["[SEP]"]}}};
  }
  return {{"added_tokens", added},
          {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", lower}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor", post},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"vocab", vocab}}}};
}

}  // namespace zest::detail
