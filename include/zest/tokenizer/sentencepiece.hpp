// A SentencePiece tokenizer.model through libsentencepiece, behind the same interface.
#pragma once

#include <sentencepiece_processor.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/normalized.hpp"

namespace zest::detail {

class SentencePiece {
 public:
  explicit SentencePiece(const std::string& path) : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
    const auto status = sp_->Load(path);
    if (!status.ok()) fail(Error::Kind::format, path, ": not a SentencePiece model: ", status.ToString());
  }

  // Ids (and byte offsets into text) of one text.
  void encode(std::string_view text, std::vector<std::int32_t>& ids, std::vector<Span>* offsets) const {
    const auto proto = sp_->EncodeAsImmutableProto(std::string(text));
    for (const auto& p : proto.pieces()) {
      ids.push_back(static_cast<std::int32_t>(p.id()));
      if (offsets) offsets->push_back({p.begin(), p.end()});
    }
  }

  std::string decode(const std::vector<std::int32_t>& ids) const {
    return sp_->DecodeIds(std::vector<int>(ids.begin(), ids.end()));
  }

  std::size_t size() const { return static_cast<std::size_t>(sp_->GetPieceSize()); }
  std::string piece(std::int32_t id) const { return sp_->IdToPiece(id); }
  std::int32_t id(std::string_view piece) const {
    const int id = sp_->PieceToId(std::string(piece));
    // PieceToId answers unk for unknown pieces; only the unk piece itself maps to unk.
    return id == sp_->unk_id() && sp_->IdToPiece(id) != piece ? -1 : id;
  }
  bool is_control(std::int32_t id) const { return sp_->IsControl(id); }
  std::int32_t bos() const { return sp_->bos_id(); }
  std::int32_t eos() const { return sp_->eos_id(); }
  std::int32_t pad() const { return sp_->pad_id(); }
  std::int32_t unk() const { return sp_->unk_id(); }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace zest::detail
