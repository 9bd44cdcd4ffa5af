// What every model (BPE, WordPiece, Unigram) offers: a word in, tokens out, and its vocabulary.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zest/tokenizer/hash_maps.hpp"
#include "zest/io/json.hpp"
#include "zest/tokenizer/json_loader.hpp"

namespace zest::detail {

// A token of a word: its id and its bytes [begin, end) in the word.
struct Token {
  int32_t id;
  uint32_t begin, end;
};

// Token strings by id and ids by string.
class Vocab {
 public:
  void add(std::string_view token, int32_t id) {
    ids_.insert(token, id);
    if (size_t(id) >= tokens_.size()) {
      tokens_.resize(size_t(id) + 1);
      present_.resize(size_t(id) + 1, false);
    }
    tokens_[size_t(id)] = std::string(token);
    present_[size_t(id)] = true;
  }
  void reserve(size_t n) {
    ids_.reserve(n);
    tokens_.reserve(n);
    present_.reserve(n);
  }
  int32_t find(std::string_view token) const { return ids_.find(token); }
  const std::string* token(int32_t id) const {
    if (id < 0 || size_t(id) >= tokens_.size() || !present_[size_t(id)]) return nullptr;
    return &tokens_[size_t(id)];
  }
  size_t size() const { return ids_.size(); }
  size_t id_bound() const { return tokens_.size(); }

  // A table by id costs memory for every id below the largest, listed or not (32 bytes an id
  // here), and Hugging Face takes any id. Real vocabularies are dense: a file listing n tokens
  // may use ids below n + max_unused_ids (65,536 unused ids: 2 MiB), so that a vocabulary is
  // bounded by its file, not by the largest number in it (712,080,682 in 159 bytes took 21 GB).
  static constexpr size_t max_unused_ids = size_t{1} << 16;

  // The ids a vocabulary listing `count` tokens may use: 0 to id_limit(count) - 1.
  static int64_t id_limit(size_t count) {
    return std::min<int64_t>(int64_t(count + max_unused_ids), int64_t{INT32_MAX} + 1);
  }
  static std::string id_out_of_range(int64_t id, size_t count) {
    return "token id " + std::to_string(id) + " is out of range: a vocabulary of " + std::to_string(count) +
           " tokens takes ids 0 to " + std::to_string(id_limit(count) - 1) + " (its size plus " +
           std::to_string(max_unused_ids) + " unused ids)";
  }

  // From the pairs the fast loader read at $.model.vocab; `where` is the model.
  static Vocab from_pairs(const ModelTables& t, const JsonRef& where) {
    Vocab v;
    v.reserve(t.vocab_ids.size());
    for (const auto& [str, id] : t.vocab_ids) {
      const std::string_view token = t.str(str);
      if (id < 0 || id >= id_limit(t.vocab_ids.size()))
        where.child_error("vocab[\"" + std::string(token) + "\"]", id_out_of_range(id, t.vocab_ids.size()));
      v.add(token, int32_t(id));
    }
    return v;
  }

  // Reads {"token": id, ...}.
  static Vocab from_json_object(const JsonRef& j) {
    if (!j.is_object()) j.error("expected an object of token: id");
    Vocab v;
    v.reserve(j.raw().size());
    for (auto it = j.raw().begin(); it != j.raw().end(); ++it) {
      const JsonRef value(it.value(), j.path() + "[\"" + it.key() + "\"]", j.file());
      const int64_t id = value.integer();
      if (id < 0 || id >= id_limit(j.raw().size())) value.error(id_out_of_range(id, j.raw().size()));
      v.add(it.key(), int32_t(id));
    }
    return v;
  }

 private:
  StringMap ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of one pre-tokenized word.
  virtual void tokenize(std::string_view word, std::vector<Token>& out) const = 0;
  const Vocab& vocab() const { return vocab_; }

 protected:
  Vocab vocab_;
};

}  // namespace zest::detail
