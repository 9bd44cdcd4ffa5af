// Post-processors of tokenizer.json: TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel and Sequence. They add the special tokens around the ids of one sequence, or join a
// sentence pair with the pair template's special tokens and token type ids, and (Roberta,
// ByteLevel with trim_offsets) trim whitespace off the offsets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/tokenizer/normalized.hpp"
#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/sequence.hpp"
#include "zest/tokenizer/unicode.hpp"

namespace zest::detail {

struct Encoded {
  // One of Hugging Face's pre-tokens ("splits"): a non-empty piece of text after the
  // pre-tokenizer, or an added token. `end` is where its ids end in `ids`.
  struct Split {
    uint32_t end;
    bool added;  // an added token (Hugging Face's split that comes already tokenized)
  };
  std::vector<int32_t> ids;
  std::vector<Span> offsets;       // filled only when asked for
  std::vector<int32_t> type_ids;   // filled only when with_types (sentence pairs)
  std::vector<Split> splits;       // filled only when with_splits (the pre-cut of a pair's texts)
  bool with_offsets = false;
  bool with_types = false;
  bool with_splits = false;
};

// Appends `from` to `to` (ids, offsets, and type ids: from's own, or `type_id` when given).
inline void append(Encoded& to, const Encoded& from, std::optional<int32_t> type_id = std::nullopt) {
  to.ids.insert(to.ids.end(), from.ids.begin(), from.ids.end());
  if (to.with_offsets) to.offsets.insert(to.offsets.end(), from.offsets.begin(), from.offsets.end());
  if (type_id) to.type_ids.insert(to.type_ids.end(), from.ids.size(), *type_id);
  else to.type_ids.insert(to.type_ids.end(), from.type_ids.begin(), from.type_ids.end());
}

using TokenText = std::function<std::string_view(int32_t)>;

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void apply(Encoded& e, bool add_special_tokens, const TokenText& text) const = 0;
  // A sentence pair: b joins a as the pair template says (its special tokens when
  // add_special_tokens, its type ids either way) and true is returned; a step without a template
  // (ByteLevel) only trims offsets and returns false, leaving the join to the next step.
  virtual bool apply_pair(Encoded& a, Encoded& b, bool add_special_tokens, const TokenText& text) const = 0;
};

// One piece of a pair template: special token ids, or sequence 0 (A) or 1 (B), with its type id.
struct TemplatePiece {
  int sequence = -1;
  std::vector<int32_t> ids;
  int32_t type_id = 0;
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

// Special tokens before and after one sequence (all cases here are one of these), and the pair
// template (none for ByteLevel, which only trims).
class Template final : public PostProcessor {
 public:
  Template(std::vector<int32_t> before, std::vector<int32_t> after, bool trim, bool prefix_space,
           std::optional<std::vector<TemplatePiece>> pair = std::nullopt, bool joins = true)
      : before_(std::move(before)), after_(std::move(after)), trim_(trim), prefix_space_(prefix_space),
        pair_(std::move(pair)), joins_(joins) {}

  bool apply_pair(Encoded& a, Encoded& b, bool add_special_tokens, const TokenText& text) const override {
    if (trim_) trim_offsets(a, prefix_space_, text), trim_offsets(b, prefix_space_, text);
    if (!joins_) return false;
    if (!pair_) fail(Error::Kind::unsupported, "the tokenizer's TemplateProcessing has no pair template");
    Encoded out;
    out.with_offsets = a.with_offsets;
    out.with_types = a.with_types;
    for (const TemplatePiece& piece : *pair_) {
      if (piece.sequence >= 0) {
        append(out, piece.sequence == 0 ? a : b, piece.type_id);
      } else if (add_special_tokens) {
        out.ids.insert(out.ids.end(), piece.ids.begin(), piece.ids.end());
        if (out.with_offsets) out.offsets.insert(out.offsets.end(), piece.ids.size(), Span{});
        out.type_ids.insert(out.type_ids.end(), piece.ids.size(), piece.type_id);
      }
    }
    a = std::move(out);
    b = Encoded{};
    return true;
  }

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
  std::optional<std::vector<TemplatePiece>> pair_;
  bool joins_;
};

// "Sequence": each step in order; once a step has joined a pair, the later ones see one sequence.
class PostSequence final : public PostProcessor {
 public:
  explicit PostSequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void apply(Encoded& e, bool add_special_tokens, const TokenText& text) const override {
    for (const auto& s : steps_) s->apply(e, add_special_tokens, text);
  }
  bool apply_pair(Encoded& a, Encoded& b, bool add_special_tokens, const TokenText& text) const override {
    bool joined = false;
    for (const auto& s : steps_) {
      if (joined) s->apply(a, false, text);  // trims offsets; the pair's special tokens are in
      else joined = s->apply_pair(a, b, add_special_tokens, text);
    }
    return joined;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// [token, id] of BertProcessing and RobertaProcessing.
inline int32_t pair_id(const JsonRef& j) {
  if (!j.is_array() || j.size() != 2) j.error("expected [token, id]");
  return j[1].id();
}

// TemplateProcessing's pair template: each piece {"SpecialToken": {"id", "type_id"}} or
// {"Sequence": {"id": "A" | "B", "type_id"}}.
inline std::vector<TemplatePiece> read_pair_template(const JsonRef& pair, const JsonRef& specials) {
  std::vector<TemplatePiece> pieces;
  bool seen[2] = {false, false};
  for (size_t i = 0; i < pair.size(); ++i) {
    const JsonRef piece = pair[i];
    TemplatePiece p;
    const bool sequence = piece.has("Sequence");
    const JsonRef body = sequence ? piece["Sequence"] : piece["SpecialToken"];
    p.type_id = body.has("type_id") ? int32_t(body["type_id"].integer()) : 0;
    const std::string name = body["id"].str();
    if (sequence) {
      if (name != "A" && name != "B") body["id"].error("a pair template's sequence must be \"A\" or \"B\"");
      p.sequence = name == "A" ? 0 : 1;
      if (seen[p.sequence]) piece.unsupported("a pair template with sequence " + name + " twice");
      seen[p.sequence] = true;
    } else {
      if (!specials.has(name)) piece.error("special token \"" + name + "\" is not in special_tokens");
      const JsonRef ids = specials[name]["ids"];
      for (size_t k = 0; k < ids.size(); ++k) p.ids.push_back(ids[k].id());
    }
    pieces.push_back(std::move(p));
  }
  if (!seen[0] || !seen[1]) pair.error("the pair template needs sequences A and B");
  return pieces;
}

// BertProcessing's and RobertaProcessing's pair: cls A sep B sep (B's part type 1) and
// cls A sep sep B sep (every type 0, as Hugging Face's RobertaProcessing sets them).
inline std::vector<TemplatePiece> fixed_pair(int32_t cls, int32_t sep, bool roberta) {
  const int32_t b = roberta ? 0 : 1;
  std::vector<TemplatePiece> pieces{{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}};
  if (roberta) pieces.push_back({-1, {sep}, 0});
  pieces.push_back({1, {}, b});
  pieces.push_back({-1, {sep}, b});
  return pieces;
}

inline std::unique_ptr<PostProcessor> make_post_processor(const JsonRef& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.type();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> steps;
    const JsonRef items = j["processors"];
    for (size_t i = 0; i < items.size(); ++i)
      if (auto s = make_post_processor(items[i])) steps.push_back(std::move(s));
    return std::make_unique<PostSequence>(std::move(steps));
  }
  if (type == "ByteLevel") return std::make_unique<Template>(std::vector<int32_t>{}, std::vector<int32_t>{},
                                                            j.get_bool("trim_offsets", true), j.get_bool("add_prefix_space", true),
                                                            std::nullopt, false);
  if (type == "BertProcessing") {
    const int32_t cls = pair_id(j["cls"]), sep = pair_id(j["sep"]);
    return std::make_unique<Template>(std::vector<int32_t>{cls}, std::vector<int32_t>{sep}, false, false, fixed_pair(cls, sep, false));
  }
  if (type == "RobertaProcessing") {
    const int32_t cls = pair_id(j["cls"]), sep = pair_id(j["sep"]);
    return std::make_unique<Template>(std::vector<int32_t>{cls}, std::vector<int32_t>{sep}, j.get_bool("trim_offsets", true),
                                      j.get_bool("add_prefix_space", true), fixed_pair(cls, sep, true));
  }
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
    std::optional<std::vector<TemplatePiece>> pair;
    if (j.has("pair") && !j["pair"].is_null()) pair = read_pair_template(j["pair"], specials);
    return std::make_unique<Template>(std::move(before), std::move(after), false, false, std::move(pair));
  }
  j["type"].unsupported("post-processor \"" + type + "\" is not supported by zest");
}

}  // namespace zest::detail
