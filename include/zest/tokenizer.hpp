// zest::Tokenizer: Hugging Face tokenizers (tokenizer.json, GPT-2 and BERT vocabulary files) and
// SentencePiece models, giving exactly the ids Hugging Face's own library gives, with its
// truncation and padding.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/backend.hpp"
#include "zest/io/read_file.hpp"
#include "zest/tokenizer/json_loader.hpp"
#include "zest/tokenizer/pipeline.hpp"
#include "zest/tokenizer/sentencepiece.hpp"
#include "zest/tokenizer/truncation.hpp"
#include "zest/tokenizer/utf8.hpp"
#include "zest/tokenizer/vocab_files.hpp"

namespace zest {

// What encode does with bytes that are not UTF-8.
enum class InvalidUtf8 {
  error,    // throw a zest::Error naming the byte offset
  replace,  // replace each bad sequence by U+FFFD first
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::pair<size_t, size_t>> offsets;  // byte [begin, end) in the text per id (its own text, for pairs)
  std::vector<int32_t> type_ids;                   // encode_pair: the token type of each id (0 / 1)
};

// Immutable after loading apart from its word cache and the settings below; one Tokenizer may
// encode from many threads at once. Cheap to copy (copies share the backend and its cache).
class Tokenizer {
 public:
  // Whether `dir` holds one of the tokenizers from_file(dir) reads.
  static bool found_in(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    return fs::exists(dir / "tokenizer.json", ec) || (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec)) ||
           fs::exists(dir / "vocab.txt", ec) || fs::exists(dir / "tokenizer.model", ec);
  }

  // A tokenizer.json, a model directory (tokenizer.json, else vocab.json + merges.txt, else
  // vocab.txt, else tokenizer.model) or a SentencePiece .model file.
  static Tokenizer from_file(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      const fs::path dir = path;
      if (fs::exists(dir / "tokenizer.json")) return from_file(dir / "tokenizer.json");
      const auto config = detail::read_config(dir);
      if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
        return from_json_value(detail::gpt2_files_to_json(dir / "vocab.json", dir / "merges.txt", config),
                               (dir / "vocab.json").string(), config);
      }
      if (fs::exists(dir / "vocab.txt"))
        return from_json_value(detail::bert_vocab_to_json(dir / "vocab.txt", config), (dir / "vocab.txt").string(), config);
      if (fs::exists(dir / "tokenizer.model")) return from_file(dir / "tokenizer.model");
      detail::fail(Error::Kind::io, dir.string(),
                   ": no tokenizer.json, vocab.json + merges.txt, vocab.txt or tokenizer.model in this directory");
    }
    if (!fs::exists(path, ec)) detail::fail(Error::Kind::io, path.string(), ": no such file");
    if (path.extension() == ".model")
      return Tokenizer(std::make_shared<detail::SentencePieceTokenizer>(path.string()), detail::read_config(path.parent_path()));
    return from_json_text(detail::read_file(path), path.string(), detail::read_config(path.parent_path()));
  }

  // A tokenizer.json given as text; `name` is used in error messages.
  static Tokenizer from_json(std::string_view json, std::string_view name = "tokenizer.json") {
    return from_json_text(json, std::string(name), nlohmann::json::object());
  }

  // The ids of `text`, truncated and padded as truncation() and padding() say.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false,
                                   InvalidUtf8 invalid = InvalidUtf8::error) const {
    detail::Encoded e;
    run_encode(text, add_special_tokens, invalid, e);
    return std::move(e.ids);
  }

  Encoding encode_with_offsets(std::string_view text, bool add_special_tokens = false,
                               InvalidUtf8 invalid = InvalidUtf8::error) const {
    detail::Encoded e;
    e.with_offsets = true;
    run_encode(text, add_special_tokens, invalid, e);
    Encoding out{std::move(e.ids), {}, {}};
    out.offsets.reserve(e.offsets.size());
    for (const auto& s : e.offsets) out.offsets.emplace_back(s.begin, s.end);
    return out;
  }

  // A sentence pair (a cross-encoder's query and document; a BERT's two segments) as one
  // encoding, as Hugging Face's encode(text, pair): both texts tokenized, truncated together
  // (truncation()'s strategy, the pair's special tokens counted), joined by the post-processor's
  // pair template (e.g. [CLS] a [SEP] b [SEP], <s> a </s></s> b </s>) with its token type ids.
  Encoding encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens = false,
                       InvalidUtf8 invalid = InvalidUtf8::error) const {
    detail::Encoded a, b;
    a.with_offsets = b.with_offsets = a.with_types = b.with_types = true;
    // Hugging Face cuts each text to about max_length as it tokenizes it (detail::precut), the
    // first one only where the strategy is not OnlySecond.
    a.with_splits = truncation_ && truncation_->strategy != Truncation::Strategy::only_second;
    b.with_splits = truncation_.has_value();
    std::string replaced_a, replaced_b;
    backend_->encode(valid_text(text, invalid, replaced_a), a);
    backend_->encode(valid_text(pair, invalid, replaced_b), b);
    a.type_ids.assign(a.ids.size(), 0);
    b.type_ids.assign(b.ids.size(), 1);
    if (truncation_) {
      const size_t added = add_special_tokens ? backend_->pair_special_token_count() : 0;
      if (truncation_->max_length <= added)
        detail::fail(Error::Kind::input, "truncation to ", truncation_->max_length, " ids leaves no room beside the ", added,
                     " special tokens of a pair");
      detail::precut(a, truncation_->max_length, truncation_->left);
      detail::precut(b, truncation_->max_length, truncation_->left);
      detail::truncate_pair(a, b, truncation_->max_length - added, *truncation_);
    }
    backend_->add_special_tokens_pair(a, b, add_special_tokens);
    if (padding_) detail::pad(a, *padding_);
    Encoding out{std::move(a.ids), {}, std::move(a.type_ids)};
    out.offsets.reserve(a.offsets.size());
    for (const auto& s : a.offsets) out.offsets.emplace_back(s.begin, s.end);
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const {
    return backend_->decode(ids, skip_special_tokens);
  }

  // The token's string, or nullopt for an id outside the vocabulary.
  std::optional<std::string> id_to_token(int32_t id) const { return backend_->id_to_token(id); }
  std::optional<int32_t> token_to_id(std::string_view token) const { return backend_->token_to_id(token); }

  // One more than the largest id: the size an embedding table needs.
  size_t vocab_size() const { return backend_->vocab_size(); }

  const SpecialTokens& special_tokens() const { return specials_; }

  // The word cache: capacity in words (0 turns it off; default 131072, 5 MiB). Copies of a
  // Tokenizer share the pipeline and its cache. Not thread-safe: set it before sharing.
  void set_cache_capacity(size_t words) {
    if (auto* cache = backend_->cache()) cache->set_capacity(words);
  }
  size_t cache_capacity() const { return backend_->cache() ? backend_->cache()->capacity() : 0; }

  // Truncation and padding, as tokenizer.json sets them (none when it does not), applied by
  // encode() as Hugging Face's encode() applies them. Not thread-safe: set them before sharing.
  const std::optional<Truncation>& truncation() const { return truncation_; }
  void set_truncation(std::optional<Truncation> t) {
    if (t && t->max_length == 0) detail::fail(Error::Kind::input, "truncation: max_length must be positive");
    truncation_ = t;
  }
  const std::optional<Padding>& padding() const { return padding_; }
  void set_padding(std::optional<Padding> p) { padding_ = p; }

  // Decodes ids one at a time for streaming: pieces never split a UTF-8 character, and the
  // pieces of step() followed by finish() join to decode() of all the ids.
  class StreamDecoder {
   public:
    StreamDecoder(const Tokenizer& t, bool skip_special_tokens) : t_(&t), skip_(skip_special_tokens) {}

    // The new text that id completes (often empty). As HF's DecodeStream: decode the ids since
    // the previous piece's start, and emit what goes past that piece once it does not end in
    // U+FFFD (an incomplete character).
    std::string step(int32_t id) {
      ids_.push_back(id);
      const std::string text = t_->decode(ids_, skip_);
      if (text.size() <= prefix_.size() || ends_with_replacement(text) || text.compare(0, prefix_.size(), prefix_) != 0)
        return {};
      std::string fresh = text.substr(prefix_.size());
      const size_t next_start = ids_.size() - start_;
      ids_.erase(ids_.begin(), ids_.begin() + ptrdiff_t(start_));
      prefix_ = t_->decode(ids_, skip_);
      start_ = next_start;
      return fresh;
    }

    // Whatever the ids so far decode to that step() has not returned.
    std::string finish() {
      const std::string text = t_->decode(ids_, skip_);
      std::string rest = text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0
                             ? text.substr(prefix_.size())
                             : std::string();
      ids_.clear();
      prefix_.clear();
      start_ = 0;
      return rest;
    }

   private:
    static bool ends_with_replacement(const std::string& s) {
      return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
    }
    const Tokenizer* t_;
    bool skip_;
    std::vector<int32_t> ids_;  // the ids since the start of the last emitted piece
    std::string prefix_;             // what ids_ decoded to when that piece was emitted
    size_t start_ = 0;          // where in ids_ the newest piece starts
  };

  StreamDecoder stream_decoder(bool skip_special_tokens = false) const { return StreamDecoder(*this, skip_special_tokens); }

 private:
  Tokenizer(std::shared_ptr<const detail::TokenizerBackend> backend, const nlohmann::json& config)
      : backend_(std::move(backend)), specials_(special_tokens_of(*backend_, config)) {}

  static Tokenizer from_json_text(std::string_view text, const std::string& file, const nlohmann::json& config) {
    nlohmann::json root;
    detail::ModelTables tables;
    if (!detail::parse_tokenizer_json(text, root, tables)) {  // again the plain way, for the error
      root = nlohmann::json::parse(text, nullptr, false);
      if (root.is_discarded()) detail::fail(Error::Kind::format, file, ": not valid JSON");
    }
    return from_json_value(root, file, config, tables);
  }

  static Tokenizer from_json_value(const nlohmann::json& root, const std::string& file, const nlohmann::json& config,
                                   const detail::ModelTables& tables = {}) {
    Tokenizer t(std::make_shared<detail::JsonTokenizer>(root, tables, file), config);
    const detail::JsonRef j(root, "$", file);
    t.truncation_ = detail::read_truncation(j);
    t.padding_ = detail::read_padding(j);
    return t;
  }

  // `text` as valid UTF-8 (bad bytes an error, or replaced into `replaced`), under 4 GiB.
  static std::string_view valid_text(std::string_view text, InvalidUtf8 invalid, std::string& replaced) {
    if (detail::utf8::find_invalid(text) != std::string_view::npos) {
      if (invalid == InvalidUtf8::error) detail::utf8::check(text, "encode");
      replaced = detail::utf8::replace_invalid(text);
      text = replaced;
    }
    if (text.size() > UINT32_MAX) detail::fail(Error::Kind::input, "encode: text of ", text.size(), " bytes is over 4 GiB");
    return text;
  }

  void run_encode(std::string_view text, bool add_special_tokens, InvalidUtf8 invalid, detail::Encoded& e) const {
    std::string replaced;
    backend_->encode(valid_text(text, invalid, replaced), e);
    if (truncation_) {
      const size_t added = add_special_tokens ? backend_->special_token_count() : 0;
      if (truncation_->max_length <= added)
        detail::fail(Error::Kind::input, "truncation to ", truncation_->max_length, " ids leaves no room beside the ", added,
                     " special tokens");
      if (truncation_->strategy == Truncation::Strategy::only_second && e.ids.size() > truncation_->max_length - added)
        detail::fail(Error::Kind::input, "truncation strategy OnlySecond cuts the second text of a pair; this is one text");
      detail::truncate(e, truncation_->max_length - added, truncation_->left);
    }
    backend_->add_special_tokens(e, add_special_tokens);
    if (padding_) detail::pad(e, *padding_);
  }

  // The backend's own, overridden by tokenizer_config.json's bos/eos/pad/unk_token.
  static SpecialTokens special_tokens_of(const detail::TokenizerBackend& backend, const nlohmann::json& config) {
    SpecialTokens s = backend.special_tokens();
    const auto from_config = [&](const char* key, std::optional<int32_t>& id) {
      if (!config.contains(key)) return;
      const auto& v = config[key];
      const std::string name = v.is_string() ? v.get<std::string>()
                               : v.is_object() && v.contains("content") && v["content"].is_string()
                                   ? v["content"].get<std::string>()
                                   : std::string();
      if (name.empty()) return;
      if (auto found = backend.token_to_id(name)) id = found;
    };
    from_config("bos_token", s.bos);
    from_config("eos_token", s.eos);
    from_config("pad_token", s.pad);
    from_config("unk_token", s.unk);
    return s;
  }

  std::shared_ptr<const detail::TokenizerBackend> backend_;
  SpecialTokens specials_;
  std::optional<Truncation> truncation_;
  std::optional<Padding> padding_;
};

}  // namespace zest
