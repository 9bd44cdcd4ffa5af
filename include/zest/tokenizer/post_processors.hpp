// Post-processors of tokenizer.json for one sequence: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel and Sequence. They add the special tokens around the ids and
// (Roberta, ByteLevel with trim_offsets) trim whitespace off the offsets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zest/io/json.hpp"
#include "zest/tokenizer/normalized.hpp"
#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/sequence.hpp"
#include "zest/tokenizer/unicode.hpp"

namespace zest::detail {

struct Encoded {
  std::vector<int32_t> ids;
  std::vector<Span> offsets;  // filled only when asked for
  bool with_offsets = false;
};

using TokenText = std::function<std::string_view(int32_t)>;

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void apply(Encoded& e, bool add_special_tokens, const TokenText& text) const = 0;
};

// HF's ByteLevel process_offsets: leading/trailing spaces (or Ġ) leave the offsets.
inline void trim_offsets(Encoded& e, bool add_prefix_space, const TokenText& text) {
  if (!e.with_offsets) return;
  const std::string_view space = byte_chars()[' '];
  auto is_space = [&](char32_t c) { return c == utf8::at(space, 0) || unicode::is_whitespace(c); };
  for (size_t i = 0; i < e.ids.size(); ++i) {
    const std::string_view t = text(e.ids[i]);
    std::vector<char32_t> chars;
    for (size_t k = 0; k < t.size();) chars.push_back(utf8::next(t, k));
    size_t lead = 0, trail = 0;
    while (lead < chars.size() && is_space(chars[lead])) ++lead;
    while (trail < chars.size() && is_space(chars[chars.size() - 1 - trail])) ++trail;
    Span& o = e.offsets[i];
    if (lead > 0) {
      const bool first = i == 0 || o.begin == 0;
      if (first && add_prefix_space && lead == 1) lead = 0;
      o.begin = std::min<uint32_t>(o.begin + uint32_t(lead), o.end);
    }
    if (trail > 0 && o.end >= trail) o.end = std::max<uint32_t>(o.end - uint32_t(trail), o.begin);
  }
}

// Special tokens before and after the sequence (all cases here are one of these).
class Template final : public PostProcessor {
 public:
  Template(std::vector<int32_t> before, std::vector<int32_t> after, bool trim, bool prefix_space)
      : before_(std::move(before)), after_(std::move(after)), trim_(trim), prefix_space_(prefix_space) {}

  void apply(Encoded& e, bool add_special_tokens, const TokenText& text) const override {
    if (trim_) trim_offsets(e, prefix_space_, text);
    if (!add_special_tokens) return;
    e.ids.insert(e.ids.begin(), before_.begin(), before_.end());
    e.ids.insert(e.ids.end(), after_.begin(), after_.end());
    if (e.with_offsets) {
      e.offsets.insert(e.offsets.begin(), before_.size(), Span{});
      e.offsets.insert(e.offsets.end(), after_.size(), Span{});
    }
  }

 private:
  std::vector<int32_t> before_, after_;
  bool trim_, prefix_space_;
};

// [token, id] of BertProcessing and RobertaProcessing.
inline int32_t pair_id(const JsonRef& j) {
  if (!j.is_array() || j.size() != 2) j.error("expected [token, id]");
  return j[1].id();
}

inline std::unique_ptr<PostProcessor> make_post_processor(const JsonRef& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.type();
  if (type == "Sequence") return make_sequence<PostProcessor>(j, "processors", make_post_processor);
  if (type == "ByteLevel") return std::make_unique<Template>(std::vector<int32_t>{}, std::vector<int32_t>{},
                                                            j.get_bool("trim_offsets", true), j.get_bool("add_prefix_space", true));
  if (type == "BertProcessing")
    return std::make_unique<Template>(std::vector<int32_t>{pair_id(j["cls"])}, std::vector<int32_t>{pair_id(j["sep"])},
                                      false, false);
  if (type == "RobertaProcessing")
    return std::make_unique<Template>(std::vector<int32_t>{pair_id(j["cls"])}, std::vector<int32_t>{pair_id(j["sep"])},
                                      j.get_bool("trim_offsets", true), j.get_bool("add_prefix_space", true));
  if (type == "TemplateProcessing") {
    const JsonRef single = j["single"];
    const JsonRef specials = j["special_tokens"];
    std::vector<int32_t> before, after;
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const JsonRef piece = single[i];
      if (piece.has("Sequence")) {
        if (seen_sequence) piece.unsupported("a single template with two sequences");
        seen_sequence = true;
        continue;
      }
      const std::string name = piece["SpecialToken"]["id"].str();
      if (!specials.has(name)) piece.error("special token \"" + name + "\" is not in special_tokens");
      const JsonRef ids = specials[name]["ids"];
      for (size_t k = 0; k < ids.size(); ++k) (seen_sequence ? after : before).push_back(ids[k].id());
    }
    if (!seen_sequence) single.error("the single template has no sequence");
    return std::make_unique<Template>(std::move(before), std::move(after), false, false);
  }
  j["type"].unsupported("post-processor \"" + type + "\" is not supported by zest");
}

}  // namespace zest::detail
