// What every model (BPE, WordPiece, Unigram) offers: a word in, tokens out, and its vocabulary.
#pragma once

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
  std::int32_t id;
  std::uint32_t begin, end;
};

// Token strings by id and ids by string.
class Vocab {
 public:
  void add(std::string_view token, std::int32_t id) {
    ids_.insert(token, id);
    if (static_cast<std::size_t>(id) >= tokens_.size()) {
      tokens_.resize(static_cast<std::size_t>(id) + 1);
      present_.resize(static_cast<std::size_t>(id) + 1, false);
    }
    tokens_[static_cast<std::size_t>(id)] = std::string(token);
    present_[static_cast<std::size_t>(id)] = true;
  }
  void reserve(std::size_t n) {
    ids_.reserve(n);
    tokens_.reserve(n);
    present_.reserve(n);
  }
  std::int32_t find(std::string_view token) const { return ids_.find(token); }
  const std::string* token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || !present_[static_cast<std::size_t>(id)]) return nullptr;
    return &tokens_[static_cast<std::size_t>(id)];
  }
  std::size_t size() const { return ids_.size(); }
  std::size_t id_bound() const { return tokens_.size(); }

  // From the pairs the fast loader read at $.model.vocab.
  static Vocab from_pairs(const ModelTables& t, const JsonRef& where) {
    Vocab v;
    v.reserve(t.vocab_ids.size());
    for (const auto& [str, id] : t.vocab_ids) {
      const std::string_view token = t.str(str);
      if (id < 0 || id > INT32_MAX) where.error("token id out of range: " + std::to_string(id) + " for \"" + std::string(token) + "\"");
      v.add(token, static_cast<std::int32_t>(id));
    }
    return v;
  }

  // Reads {"token": id, ...}.
  static Vocab from_json_object(const JsonRef& j) {
    if (!j.is_object()) j.error("expected an object of token: id");
    Vocab v;
    v.reserve(j.raw().size());
    for (auto it = j.raw().begin(); it != j.raw().end(); ++it) {
      JsonRef id(it.value(), j.path() + "[\"" + it.key() + "\"]", j.file());
      v.add(it.key(), id.id());
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
