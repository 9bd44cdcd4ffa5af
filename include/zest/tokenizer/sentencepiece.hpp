// A SentencePiece tokenizer.model through libsentencepiece, as a Tokenizer backend.
#pragma once

#include <sentencepiece_processor.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/backend.hpp"

namespace zest::detail {

class SentencePieceTokenizer final : public TokenizerBackend {
 public:
  explicit SentencePieceTokenizer(const std::string& path) : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
    const auto status = sp_->Load(path);
    if (!status.ok()) fail(Error::Kind::format, path, ": not a SentencePiece model: ", status.ToString());
  }

  void encode(std::string_view text, Encoded& e) const override {
    const auto proto = sp_->EncodeAsImmutableProto(std::string(text));
    for (const auto& p : proto.pieces()) {
      e.ids.push_back(int32_t(p.id()));
      if (e.with_offsets) e.offsets.push_back({p.begin(), p.end()});
    }
  }

  // As LLaMA's tokenizers: BOS before the text, nothing after.
  void add_special_tokens(Encoded& e, bool add_special_tokens) const override {
    if (!add_special_tokens || sp_->bos_id() < 0) return;
    e.ids.insert(e.ids.begin(), sp_->bos_id());
    if (e.with_offsets) e.offsets.insert(e.offsets.begin(), Span{});
  }
  size_t special_token_count() const override { return sp_->bos_id() < 0 ? 0 : 1; }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    std::vector<int> kept;
    for (int32_t id : ids) {
      if (id < 0 || size_t(id) >= vocab_size()) fail(Error::Kind::input, "decode: token id ", id, " is not in the vocabulary");
      if (!(skip_special_tokens && sp_->IsControl(id))) kept.push_back(id);
    }
    return sp_->DecodeIds(kept);
  }

  std::optional<std::string> id_to_token(int32_t id) const override {
    if (id < 0 || size_t(id) >= vocab_size()) return std::nullopt;
    return sp_->IdToPiece(id);
  }
  std::optional<int32_t> token_to_id(std::string_view piece) const override {
    const int id = sp_->PieceToId(std::string(piece));
    // PieceToId answers unk for unknown pieces; only the unk piece itself maps to unk.
    if (id < 0 || (id == sp_->unk_id() && sp_->IdToPiece(id) != piece)) return std::nullopt;
    return id;
  }
  SpecialTokens special_tokens() const override {
    const auto opt = [](int id) { return id < 0 ? std::nullopt : std::optional<int32_t>(id); };
    return {opt(sp_->bos_id()), opt(sp_->eos_id()), opt(sp_->pad_id()), opt(sp_->unk_id())};
  }
  size_t vocab_size() const override { return size_t(sp_->GetPieceSize()); }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace zest::detail
