// The tokenizer.json pipeline as a Tokenizer backend: added tokens, normalizer, pre-tokenizer,
// model (through the word cache), post-processor on the way in; token strings through the decoder
// on the way out.
#pragma once

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/added_tokens.hpp"
#include "zest/tokenizer/backend.hpp"
#include "zest/tokenizer/bpe.hpp"
#include "zest/tokenizer/decoders.hpp"
#include "zest/io/json.hpp"
#include "zest/tokenizer/word_cache.hpp"
#include "zest/tokenizer/normalizers.hpp"
#include "zest/tokenizer/post_processors.hpp"
#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/unigram.hpp"
#include "zest/tokenizer/wordpiece.hpp"

namespace zest::detail {

inline std::unique_ptr<Model> make_model(const JsonRef& j, const ModelTables& t) {
  std::string type = j.has("type") ? j.type() : "";
  if (type.empty()) {  // older files leave the type out; the fields tell
    if (j.has("merges") || t.merges_given) type = "BPE";
    else if (j.has("unk_id") || t.vocab_scores_given || (j.has("vocab") && j["vocab"].is_array())) type = "Unigram";
    else if (j.has("continuing_subword_prefix") || j.has("max_input_chars_per_word")) type = "WordPiece";
  }
  if (type == "BPE") return Bpe::from_json(j, t);
  if (type == "WordPiece") return WordPiece::from_json(j, t);
  if (type == "Unigram") return Unigram::from_json(j, t);
  if (j.has("type")) j["type"].unsupported("model \"" + type + "\" is not supported by zest");
  j.unsupported("model of unknown type");
}

class JsonTokenizer final : public TokenizerBackend {
 public:
  static constexpr std::string_view meta_space = "\xE2\x96\x81";  // '▁', SentencePiece's space
  static constexpr size_t default_cache_words = 1 << 17;  // 4 MiB of short slots, 1 MiB of long

  // root: the parsed tokenizer.json; tables: the model tables the fast loader took out of it.
  JsonTokenizer(const nlohmann::json& root, const ModelTables& tables, std::string_view file) {
    const JsonRef j(root, "$", file);
    if (!j.is_object()) j.error("expected a JSON object");
    normalizer_ = j.has("normalizer") ? make_normalizer(j["normalizer"]) : nullptr;
    pre_tokenizer_ = j.has("pre_tokenizer") ? make_pre_tokenizer(j["pre_tokenizer"]) : nullptr;
    model_ = make_model(j["model"], tables);
    post_processor_ = j.has("post_processor") ? make_post_processor(j["post_processor"]) : nullptr;
    decoder_ = j.has("decoder") ? make_decoder(j["decoder"]) : nullptr;
    if (j.has("added_tokens")) added_ = AddedTokens(j["added_tokens"], normalizer_.get(), model_->vocab());
    byte_level_ = normalizer_ ? nullptr : dynamic_cast<const ByteLevelPre*>(pre_tokenizer_.get());
    if (byte_level_ && !byte_level_->use_regex()) byte_level_ = nullptr;
    if (const auto* bpe = dynamic_cast<const Bpe*>(model_.get()); byte_level_ && bpe && bpe->plain_words()) {
      byte_bpe_ = bpe;
      for (int b = 0; b < 256; ++b)
        if ((byte_ids_[b] = bpe->vocab().find(byte_chars()[b])) < 0) byte_bpe_ = nullptr;
    }
    bert_ = dynamic_cast<const BertNormalizer*>(normalizer_.get());
    if (!bert_ || !bert_->clean_text() || !dynamic_cast<const BertPre*>(pre_tokenizer_.get()) || added_.has_normalized())
      bert_ = nullptr;
    id_bound_ = model_->vocab().id_bound();
    if (!pre_tokenizer_) split_before_ = metaspace_split(*model_);
    metaspace_ = !split_before_.empty() && !added_.has_normalized() && is_metaspace_normalizer(normalizer_.get());
    for (const auto& t : added_.tokens()) id_bound_ = std::max(id_bound_, size_t(t.id) + 1);
    if (post_processor_) {
      Encoded none;
      post_processor_->apply(none, true, [](int32_t) { return std::string_view(); });
      special_token_count_ = none.ids.size();
    }
  }

  WordCache* cache() const override { return &cache_; }
  const Model& model() const { return *model_; }
  size_t vocab_size() const override { return id_bound_; }

  void encode(std::string_view text, Encoded& e) const override {
    thread_local std::vector<AddedSplit> raw;
    raw.clear();
    e.ids.reserve(text.size() / 3 + 4);
    if (e.with_offsets) e.offsets.reserve(text.size() / 3 + 4);  // as ids: 180 -> 174 allocations per fuzz input
    added_.split(text, false, raw);
    for (const auto& r : raw) {
      if (r.token >= 0) {
        push(e, added_.tokens()[size_t(r.token)].id, {u32(r.content_begin), u32(r.content_end)});
        mark_split(e, true);
      } else if (r.end > r.begin) {
        encode_piece(text.substr(r.begin, r.end - r.begin), u32(r.begin), e);
      }
    }
  }

  void add_special_tokens(Encoded& e, bool add_special_tokens) const override {
    if (post_processor_) post_processor_->apply(e, add_special_tokens, [this](int32_t id) { return token_text(id); });
  }
  size_t special_token_count() const override { return special_token_count_; }

  void add_special_tokens_pair(Encoded& a, Encoded& b, bool add_special_tokens) const override {
    const TokenText text = [this](int32_t id) { return token_text(id); };
    if (post_processor_ && post_processor_->apply_pair(a, b, add_special_tokens, text)) return;
    append(a, b);  // no template: one after the other, as Hugging Face's default_process
    b = Encoded{};
  }
  size_t pair_special_token_count() const override {
    Encoded a, b;
    add_special_tokens_pair(a, b, true);
    return a.ids.size();
  }

  std::optional<std::string> id_to_token(int32_t id) const override {
    if (const auto* t = added_.by_id(id)) return t->content;
    if (const auto* s = model_->vocab().token(id)) return *s;
    return std::nullopt;
  }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (const auto* t = added_.find(token)) return t->id;
    const int32_t id = model_->vocab().find(token);
    return id < 0 ? std::nullopt : std::optional<int32_t>(id);
  }
  // By the usual names; tokenizer.json itself does not say which token is which.
  SpecialTokens special_tokens() const override {
    const auto first_of = [&](std::initializer_list<std::string_view> names) -> std::optional<int32_t> {
      for (std::string_view n : names)
        if (auto id = token_to_id(n)) return id;
      return std::nullopt;
    };
    return {first_of({"<s>", "<|begin_of_text|>", "<bos>", "[CLS]", "<|endoftext|>"}),
            first_of({"</s>", "<|end_of_text|>", "<eos>", "[SEP]", "<|endoftext|>"}),
            first_of({"<pad>", "[PAD]", "<|pad|>"}), first_of({"<unk>", "[UNK]", "<|unk|>"})};
  }

 private:
  // One piece of text between added tokens: normalize, split off normalized added tokens,
  // pre-tokenize, tokenize each word. Offsets and splits need the general path; ids have fast ones.
  void encode_piece(std::string_view piece, uint32_t base, Encoded& e) const {
    if (!e.with_offsets && !e.with_splits) {
      if (byte_level_) return encode_byte_level(piece, e);
      if (bert_ && is_ascii(piece)) return encode_bert_ascii(piece, e);
      if (metaspace_) return encode_metaspace(piece, e);
    }
    std::vector<AddedSplit> normalized;
    std::vector<Token> tokens;
    {
      Normalized n = Normalized::original(piece, base, e.with_offsets);
      if (normalizer_) normalizer_->apply(n);
      normalized.clear();
      added_.split(n.text, true, normalized);
      for (const auto& s : normalized) {
        if (s.token >= 0) {
          push(e, added_.tokens()[size_t(s.token)].id, n.span(s.content_begin, s.content_end));
          mark_split(e, true);
          continue;
        }
        if (s.end == s.begin) continue;
        if (!pre_tokenizer_ && !split_before_.empty()) {
          encode_split_before(n, s.begin, s.end, e);
          mark_split(e, false);  // Hugging Face's one split: the cut before each '▁' is zest's own
          continue;
        }
        const bool whole = s.begin == 0 && s.end == n.text.size();
        std::vector<Normalized> words;
        words.push_back(whole ? std::move(n) : n.slice(s.begin, s.end));
        if (pre_tokenizer_) pre_tokenizer_->apply(words);
        for (const auto& w : words) {
          // The ByteLevel fast path keys the cache by unmapped words: keep out of its way.
          if (!e.with_offsets && !byte_level_) {
            word_ids(w.text, e.ids);
          } else {
            tokens.clear();
            model_->tokenize(w.text, tokens);
            for (const auto& t : tokens) push(e, t.id, w.span(t.begin, t.end));
          }
          if (!w.text.empty()) mark_split(e, false);  // Hugging Face drops empty splits
        }
        if (whole) break;  // n was moved from, and was the only piece
      }
    }
  }

  // No pre-tokenizer, and no token has split_before_ (SentencePiece's '▁') past its start: BPE
  // (or Unigram) of the whole text equals that of its pieces cut before each '▁', and those
  // pieces can be cached like words.
  void encode_split_before(const Normalized& n, size_t begin, size_t end, Encoded& e) const {
    thread_local std::vector<Token> tokens;
    const std::string_view text(n.text);
    size_t start = begin;
    while (start < end) {
      size_t cut = text.find(split_before_, start + 1);
      if (cut == std::string_view::npos || cut > end) cut = end;
      const std::string_view word = text.substr(start, cut - start);
      if (e.with_offsets) {
        tokens.clear();
        model_->tokenize(word, tokens);
        for (const auto& t : tokens) push(e, t.id, n.span(start + t.begin, start + t.end));
      } else {
        word_ids(word, e.ids);
      }
      start = cut;
    }
  }

  // Whether BPE may be cut before each '▁' (see encode_split_before).
  static std::string metaspace_split(const Model& model) {
    // Unigram too: a path's score is a sum, and no token crosses the cut.
    const auto* bpe = dynamic_cast<const Bpe*>(&model);
    const bool unigram = dynamic_cast<const Unigram*>(&model) != nullptr;
    if (!(unigram || (bpe && bpe->plain_words())) || model.vocab().find(meta_space) < 0) return {};
    const Vocab& v = model.vocab();
    for (size_t id = 0; id < v.id_bound(); ++id) {
      const std::string* t = v.token(int32_t(id));
      if (t && t->find(meta_space, 1) != std::string::npos) return {};
    }
    return std::string(meta_space);
  }

  // Prepend('▁') then Replace(' ', '▁'): the normalizer of LLaMA's tokenizer.json.
  static bool is_metaspace_normalizer(const Normalizer* n) {
    const auto* seq = dynamic_cast<const Sequence<Normalizer>*>(n);
    if (!seq || seq->steps().size() != 2) return false;
    const auto* prepend = dynamic_cast<const Prepend*>(seq->steps()[0].get());
    const auto* replace = dynamic_cast<const Replace*>(seq->steps()[1].get());
    return prepend && prepend->prefix() == meta_space && replace && replace->replaces(" ", meta_space);
  }

  // The metaspace normalizer and the cut before each '▁' in one pass: each piece is '▁' and
  // the text up to the next space or '▁'. The pieces go through the cache like words.
  void encode_metaspace(std::string_view piece, Encoded& e) const {
    thread_local std::string text;
    thread_local std::vector<std::string_view> words;
    const size_t most = 3 * piece.size() + 3;
    if (text.size() < most) text.resize(most);  // never outgrown: views stay valid
    char* const out = text.data();
    size_t n = 0, start = 0;
    words.clear();
    auto cut = [&] {
      if (n > start) words.emplace_back(out + start, n - start);
      start = n;
      std::memcpy(out + n, meta_space.data(), meta_space.size());
      n += meta_space.size();
    };
    cut();
    for (size_t i = 0; i < piece.size(); ++i) {
      if (piece[i] == ' ') {
        cut();
      } else if (piece[i] == meta_space[0] && piece.compare(i, meta_space.size(), meta_space) == 0) {
        cut();
        i += meta_space.size() - 1;
      } else {
        out[n++] = piece[i];
      }
    }
    words.emplace_back(out + start, n - start);
    encode_words(words, e.ids, [&](std::string_view word, std::vector<Token>& tokens) { model_->tokenize(word, tokens); });
  }

  static bool is_ascii(std::string_view s) {
    for (char c : s)
      if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
  }

  // No normalizer, ByteLevel pre-tokenizer: split with the GPT-2 scanner, look each word up in
  // the cache by its raw bytes, map it to ByteLevel characters only on a miss.
  void encode_byte_level(std::string_view piece, Encoded& e) const {
    thread_local std::string prefixed, mapped;
    thread_local std::vector<AddedSplit> normalized;
    thread_local std::vector<std::string_view> words;
    normalized.clear();
    added_.split(piece, true, normalized);
    const auto& codes = byte_char_codes();
    for (const auto& s : normalized) {
      if (s.token >= 0) {
        e.ids.push_back(added_.tokens()[size_t(s.token)].id);
        continue;
      }
      if (s.end == s.begin) continue;
      std::string_view part = piece.substr(s.begin, s.end - s.begin);
      if (byte_level_->add_prefix_space() && part[0] != ' ') {
        prefixed.assign(1, ' ');
        prefixed += part;
        part = prefixed;
      }
      words.clear();
      scan_gpt2(part, [&](size_t b, size_t end) { words.push_back(part.substr(b, end - b)); });
      encode_words(words, e.ids, [&](std::string_view word, std::vector<Token>& tokens) {
        if (mapped.size() < 2 * word.size()) mapped.resize(2 * word.size());  // a ByteLevel character is 1 or 2 bytes
        char* to = mapped.data();
        for (char c : word) {
          const ByteChar& code = codes[static_cast<unsigned char>(c)];
          std::memcpy(to, code.bytes, 2);  // a fixed-size copy
          to += code.size;
        }
        const std::string_view text(mapped.data(), size_t(to - mapped.data()));
        if (!byte_bpe_) return model_->tokenize(text, tokens);
        if (const int32_t id = byte_bpe_->whole_token(text); id >= 0) return tokens.push_back({id, 0, u32(word.size())});
        byte_bpe_->tokenize_bytes(word, byte_ids_, tokens);
      });
    }
  }

  // BertNormalizer (clean_text) + BertPreTokenizer on ASCII text in one pass: controls dropped,
  // whitespace splits, punctuation stands alone, letters lowercased when asked. The words of
  // the piece are gathered first so that their cache sets load together.
  void encode_bert_ascii(std::string_view piece, Encoded& e) const {
    enum : unsigned char { keep, split, drop, alone };
    static const auto kinds = [] {
      std::array<unsigned char, 128> k{};
      for (int c = 0; c < 128; ++c)
        k[c] = (c == ' ' || c == '\t' || c == '\n' || c == '\r') ? split
               : (c < 0x20 || c == 0x7F)                         ? drop  // controls, \v and \f too
               : unicode::is_bert_punctuation(char32_t(c)) ? alone
                                                                 : keep;
      return k;
    }();
    thread_local std::string text;
    thread_local std::vector<std::string_view> words;
    const bool lower = bert_->lowercase();
    if (text.size() < piece.size()) text.resize(piece.size());  // never outgrown: views stay valid
    char* const out = text.data();
    size_t n = 0, word_start = 0;
    words.clear();
    auto close = [&] {
      if (n > word_start) words.emplace_back(out + word_start, n - word_start);
      word_start = n;
    };
    const size_t size = piece.size();
    for (size_t i = 0; i < size; ++i) {
      const auto c = static_cast<unsigned char>(piece[i]);
      switch (kinds[c]) {
        case keep:  // the whole run of kept characters (ASCII letters and digits) at once, 8 at a time
          while (i + 8 <= size) {
            uint64_t w;
            std::memcpy(&w, piece.data() + i, 8);
            const uint64_t letters = swar::letters(w);
            const size_t run = swar::leading_bytes(swar::alnum(w));
            w |= lower ? letters >> 2 : 0;  // a letter's 0x20 bit: lowercase
            std::memcpy(out + n, &w, 8);   // past the run: overwritten later, as n <= i
            i += run, n += run;
            if (run < 8) break;
          }
          for (; i < size && kinds[static_cast<unsigned char>(piece[i])] == keep; ++i) {
            const char k = piece[i];
            out[n++] = lower && k >= 'A' && k <= 'Z' ? char(k + 32) : k;
          }
          --i;
          break;
        case split: close(); break;
        case drop: break;
        case alone:
          close();
          out[n++] = char(c);
          close();
          break;
      }
    }
    close();
    encode_words(words, e.ids, [&](std::string_view word, std::vector<Token>& tokens) { model_->tokenize(word, tokens); });
  }

  // Appends the ids of words, through the cache: their keys are made and their cache sets
  // prefetched first, so that the lookups of a line overlap. miss(word, tokens) tokenizes one.
  template <typename Miss>
  void encode_words(const std::vector<std::string_view>& words, std::vector<int32_t>& ids, Miss&& miss) const {
    thread_local std::vector<CacheKey> keys;
    thread_local std::vector<Token> tokens;
    keys.clear();
    for (const auto w : words) {
      keys.emplace_back(key_of(w));  // in place: a copy would stall on its fresh stores
      if (keys.back().size > 0) cache_.prefetch(keys.back());
    }
    for (size_t k = 0; k < words.size(); ++k) cached_ids(keys[k], words[k], ids, tokens, miss);
  }

  // Appends the ids of the model's tokens of one word, through the cache.
  void word_ids(std::string_view word, std::vector<int32_t>& ids) const {
    thread_local std::vector<Token> tokens;
    cached_ids(key_of(word), word, ids, tokens, [this](std::string_view w, std::vector<Token>& t) { model_->tokenize(w, t); });
  }

  // The cache key of a word, or size 0 when it is not cached.
  CacheKey key_of(std::string_view word) const {
    return cache_.enabled() && WordCache::cacheable(word) ? CacheKey(word) : CacheKey();
  }

  // Appends the ids of one word: from the cache, else miss(word, tokens) and into the cache.
  // tokens: scratch, the caller's (a thread_local here would be looked up once a word).
  template <typename Miss>
  void cached_ids(const CacheKey& key, std::string_view word, std::vector<int32_t>& ids, std::vector<Token>& tokens,
                  Miss&& miss) const {
    if (key.size > 0 && cache_.get(key, ids)) return;
    tokens.clear();
    miss(word, tokens);
    if (key.size > 0) cache_.put(key, tokens.data(), tokens.size());
    for (const auto& t : tokens) ids.push_back(t.id);
  }

 public:
  // The string of a token id (added tokens as decode shows them), empty if unknown.
  std::string_view token_text(int32_t id) const {
    if (const auto* t = added_.by_id(id)) return t->decoded;
    if (const auto* s = model_->vocab().token(id)) return *s;
    return {};
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    Strings tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
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
      for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
      return out;
    }
    decoder_->apply(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }

 private:
  static uint32_t u32(size_t v) { return uint32_t(v); }
  // Ends a split (see Encoded::Split) at e's ids so far.
  static void mark_split(Encoded& e, bool added) {
    if (e.with_splits) e.splits.push_back({u32(e.ids.size()), added});
  }

  static void push(Encoded& e, int32_t id, Span span) {
    e.ids.push_back(id);
    if (e.with_offsets) e.offsets.push_back(span);
  }

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedTokens added_;
  size_t id_bound_ = 0;
  size_t special_token_count_ = 0;
  const ByteLevelPre* byte_level_ = nullptr;  // set when the ByteLevel fast path applies
  const Bpe* byte_bpe_ = nullptr;              // set when ByteLevel words go to BPE as raw bytes
  std::array<int32_t, 256> byte_ids_{};  // then: the token of each byte's ByteLevel character
  const BertNormalizer* bert_ = nullptr;      // set when the BERT ASCII fast path applies
  std::string split_before_;                  // '▁' when BPE may be cut before it
  bool metaspace_ = false;                    // set when the metaspace fast path applies
  mutable WordCache cache_{default_cache_words};
};

}  // namespace zest::detail
