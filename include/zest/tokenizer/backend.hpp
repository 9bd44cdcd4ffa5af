// What zest::Tokenizer asks of a tokenizer implementation: the tokenizer.json pipeline
// (JsonTokenizer) or a SentencePiece model (SentencePieceTokenizer). Encoding is two steps so that
// truncation, which the Tokenizer does itself, falls between the text's ids and the special tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "zest/error.hpp"
#include "zest/tokenizer/post_processors.hpp"

namespace zest {

// bos/eos/pad/unk: tokenizer_config.json's when given, else the model's own.
struct SpecialTokens {
  std::optional<int32_t> bos, eos, pad, unk;
};

namespace detail {

class WordCache;

class TokenizerBackend {
 public:
  virtual ~TokenizerBackend() = default;

  // The ids of valid UTF-8 `text` without special tokens (and offsets when e.with_offsets).
  virtual void encode(std::string_view text, Encoded& e) const = 0;
  // Adds the special tokens around e's ids when add_special_tokens (and may trim offsets).
  virtual void add_special_tokens(Encoded& e, bool add_special_tokens) const = 0;
  // How many ids add_special_tokens(e, true) adds to one sequence.
  virtual size_t special_token_count() const = 0;
  // A sentence pair (a's type ids 0, b's 1): b joins a as the post-processor's pair template
  // says, with its special tokens when add_special_tokens.
  virtual void add_special_tokens_pair(Encoded&, Encoded&, bool) const {
    fail(Error::Kind::unsupported, "sentence pairs need a tokenizer.json (this tokenizer is a SentencePiece model)");
  }
  // How many ids add_special_tokens_pair(a, b, true) adds.
  virtual size_t pair_special_token_count() const { return 0; }

  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The special tokens the tokenizer itself names (tokenizer_config.json may override them).
  virtual SpecialTokens special_tokens() const = 0;
  // One more than the largest id.
  virtual size_t vocab_size() const = 0;
  // The word cache, for backends that have one.
  virtual WordCache* cache() const { return nullptr; }
};

}  // namespace detail
}  // namespace zest
