// The tokenizer.json pipeline: added tokens, normalizer, pre-tokenizer, model (through the word
// cache), post-processor on the way in; token strings through the decoder on the way out.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/added_tokens.hpp"
#include "zest/tokenizer/bpe.hpp"
#include "zest/tokenizer/decoders.hpp"
#include "zest/tokenizer/json.hpp"
#include "zest/tokenizer/lru_cache.hpp"
#include "zest/tokenizer/normalizers.hpp"
#include "zest/tokenizer/post_processors.hpp"
#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/unigram.hpp"
#include "zest/tokenizer/wordpiece.hpp"

namespace zest::detail {

inline std::unique_ptr<Model> make_model(const JsonRef& j) {
  std::string type = j.has("type") ? j.type() : "";
  if (type.empty()) {  // older files leave the type out; the fields tell
    if (j.has("merges")) type = "BPE";
    else if (j.has("unk_id") || (j.has("vocab") && j["vocab"].is_array())) type = "Unigram";
    else if (j.has("continuing_subword_prefix") || j.has("max_input_chars_per_word")) type = "WordPiece";
  }
  if (type == "BPE") return Bpe::from_json(j);
  if (type == "WordPiece") return WordPiece::from_json(j);
  if (type == "Unigram") return Unigram::from_json(j);
  if (j.has("type")) j["type"].unsupported("model \"" + type + "\" is not supported by zest");
  j.unsupported("model of unknown type");
}

class Pipeline {
 public:
  static constexpr std::size_t max_cached_word = 128;  // bytes; longer words are not cached

  Pipeline(const nlohmann::json& root, std::string_view file) {
    const JsonRef j(root, "$", file);
    if (!j.is_object()) j.error("expected a JSON object");
    if (j.has("truncation")) j["truncation"].unsupported("truncation is not supported; truncate the ids yourself");
    if (j.has("padding")) j["padding"].unsupported("padding is not supported; pad the ids yourself");
    normalizer_ = j.has("normalizer") ? make_normalizer(j["normalizer"]) : nullptr;
    pre_tokenizer_ = j.has("pre_tokenizer") ? make_pre_tokenizer(j["pre_tokenizer"]) : nullptr;
    model_ = make_model(j["model"]);
    post_processor_ = j.has("post_processor") ? make_post_processor(j["post_processor"]) : nullptr;
    decoder_ = j.has("decoder") ? make_decoder(j["decoder"]) : nullptr;
    if (j.has("added_tokens")) added_ = AddedTokens(j["added_tokens"], normalizer_.get());
    id_bound_ = model_->vocab().id_bound();
    for (const auto& t : added_.tokens()) id_bound_ = std::max(id_bound_, static_cast<std::size_t>(t.id) + 1);
  }

  WordCache& cache() const { return cache_; }
  const Model& model() const { return *model_; }
  const AddedTokens& added() const { return added_; }
  std::size_t id_bound() const { return id_bound_; }

  // Text (valid UTF-8) to ids, and offsets into text when e.with_offsets.
  void encode(std::string_view text, bool add_special_tokens, Encoded& e) const {
    std::vector<AddedSplit> raw, normalized;
    std::vector<Token> tokens;
    added_.split(text, false, raw);
    for (const auto& r : raw) {
      if (r.token >= 0) {
        push(e, added_.tokens()[static_cast<std::size_t>(r.token)].id, {u32(r.content_begin), u32(r.content_end)});
        continue;
      }
      if (r.end == r.begin) continue;
      Normalized n = Normalized::original(text.substr(r.begin, r.end - r.begin), u32(r.begin), e.with_offsets);
      if (normalizer_) normalizer_->apply(n);
      normalized.clear();
      added_.split(n.text, true, normalized);
      for (const auto& s : normalized) {
        if (s.token >= 0) {
          push(e, added_.tokens()[static_cast<std::size_t>(s.token)].id, n.span(s.content_begin, s.content_end));
          continue;
        }
        if (s.end == s.begin) continue;
        const bool whole = s.begin == 0 && s.end == n.text.size();
        std::vector<Normalized> words;
        words.push_back(whole ? std::move(n) : n.slice(s.begin, s.end));
        if (pre_tokenizer_) pre_tokenizer_->apply(words);
        for (const auto& w : words) {
          tokens.clear();
          tokenize_word(w.text, tokens);
          for (const auto& t : tokens) push(e, t.id, w.span(t.begin, t.end));
        }
        if (whole) break;  // n was moved from, and was the only piece
      }
    }
    if (post_processor_) {
      post_processor_->process(e, add_special_tokens, [this](std::int32_t id) { return token_text(id); });
    }
  }

  // The model's tokens of one word, through the cache.
  void tokenize_word(std::string_view word, std::vector<Token>& out) const {
    if (!cache_.enabled() || word.size() > max_cached_word) {
      model_->tokenize(word, out);
      return;
    }
    const std::uint64_t h = hash_bytes(word);
    if (cache_.get(word, h, out)) return;
    const std::size_t mark = out.size();
    model_->tokenize(word, out);
    cache_.put(word, h, out.data() + mark, out.size() - mark);
  }

  // The string of a token id (added tokens as decode shows them), empty if unknown.
  std::string_view token_text(std::int32_t id) const {
    if (const auto* t = added_.by_id(id)) return t->decoded;
    if (const auto* s = model_->vocab().token(id)) return *s;
    return {};
  }

  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
    Strings tokens;
    tokens.reserve(ids.size());
    for (std::int32_t id : ids) {
      const AddedToken* added = added_.by_id(id);
      const std::string* s = added ? &added->decoded : model_->vocab().token(id);
      if (!s) fail(Error::Kind::input, "decode: token id ", id, " is not in the vocabulary");
      if (skip_special_tokens) {  // HF skips by string: any token spelled like a special one
        const AddedToken* named = added_.find(*s);
        if (named && named->special) continue;
      }
      tokens.push_back(*s);
    }
    if (!decoder_) {
      std::string out;
      for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
      return out;
    }
    decoder_->chain(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }

 private:
  static std::uint32_t u32(std::size_t v) { return static_cast<std::uint32_t>(v); }
  static void push(Encoded& e, std::int32_t id, Span span) {
    e.ids.push_back(id);
    if (e.with_offsets) e.offsets.push_back(span);
  }

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedTokens added_;
  std::size_t id_bound_ = 0;
  mutable WordCache cache_{1 << 16};
};

}  // namespace zest::detail
