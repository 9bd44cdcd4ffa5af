// WordPiece: greedy longest-match-first over the vocabulary, "##" on continuing pieces, the
// whole word as [UNK] when any part fails or it is longer than max_input_chars_per_word.
#pragma once

#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/model.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

class WordPiece final : public Model {
 public:
  WordPiece(Vocab vocab, std::string unk, std::string prefix, size_t max_chars)
      : unk_token_(std::move(unk)), prefix_(std::move(prefix)), max_chars_(max_chars) {
    vocab_ = std::move(vocab);
    unk_ = vocab_.find(unk_token_);
    // Longest token (in bytes) bounds the search; continuing pieces are looked up with prefix.
    vocab_ids_for_each([&](std::string_view t) { max_len_ = std::max(max_len_, t.size()); });
  }

  static std::unique_ptr<WordPiece> from_json(const JsonRef& j, const ModelTables& t) {
    return std::make_unique<WordPiece>(t.vocab_ids_given ? Vocab::from_pairs(t, j) : Vocab::from_json_object(j["vocab"]),
                                       j.get_string("unk_token", "[UNK]"),
                                       j.get_string("continuing_subword_prefix", "##"),
                                       size_t(j.get_int("max_input_chars_per_word", 100)));
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (word.empty()) return;
    size_t chars = 0;
    for (size_t i = 0; i < word.size(); i += utf8::char_length(static_cast<unsigned char>(word[i]))) ++chars;
    if (chars > max_chars_) return unknown(word, out);
    const size_t mark = out.size();
    std::string buf = prefix_;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      const size_t extra = start > 0 ? prefix_.size() : 0;
      if (end - start + extra > max_len_) {
        end = start + (max_len_ > extra ? max_len_ - extra : 0);
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      }
      int32_t id = -1;
      while (end > start) {
        if (start == 0) {
          id = vocab_.find(word.substr(0, end));
        } else {
          buf.resize(prefix_.size());
          buf.append(word.substr(start, end - start));
          id = vocab_.find(buf);
        }
        if (id >= 0) break;
        do --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (id < 0) {
        out.resize(mark);
        return unknown(word, out);
      }
      out.push_back({id, uint32_t(start), uint32_t(end)});
      start = end;
    }
  }

 private:
  template <typename F>
  void vocab_ids_for_each(F&& f) const {
    for (size_t id = 0; id < vocab_.id_bound(); ++id)
      if (const auto* t = vocab_.token(int32_t(id))) f(*t);
  }

  void unknown(std::string_view word, std::vector<Token>& out) const {
    if (unk_ < 0) fail(Error::Kind::config, "WordPiece: unk_token \"", unk_token_, "\" is not in the vocabulary");
    out.push_back({unk_, 0, uint32_t(word.size())});
  }

  std::string unk_token_, prefix_;
  size_t max_chars_;
  int32_t unk_ = -1;
  size_t max_len_ = 0;
};

}  // namespace zest::detail
