// Truncation and padding of one encoding, as Hugging Face's tokenizers apply them in encode():
// the text's own ids are cut so that, with the special tokens, at most max_length remain; then
// the ids are padded to a fixed length (or a multiple). Settings come from tokenizer.json's
// "truncation" and "padding" sections, or from the caller.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/tokenizer/post_processors.hpp"

namespace zest {

struct Truncation {
  // What a sentence pair gives up: the longer text an id at a time ("LongestFirst"), or only
  // the first or the second text. One text is cut alone (OnlySecond: an error, as in Hugging Face).
  enum class Strategy { longest_first, only_first, only_second };
  size_t max_length = 512;  // ids, special tokens included
  bool left = false;        // cut at the start (direction "Left") rather than the end
  Strategy strategy = Strategy::longest_first;
};

struct Padding {
  std::optional<size_t> length;  // "Fixed": pad to this many ids; none: "BatchLongest" (one text: itself)
  size_t multiple_of = 0;        // then round the length up to a multiple of this (0: off)
  bool left = false;             // pad before the ids (direction "Left")
  int32_t id = 0;                // the pad token's id
};

namespace detail {

// tokenizer.json's "truncation": max_length, direction, strategy (LongestFirst, OnlyFirst,
// OnlySecond). A stride only shapes the overflowing encodings, which zest does not return, so it
// changes no id.
inline std::optional<Truncation> read_truncation(const JsonRef& root) {
  if (!root.has("truncation")) return std::nullopt;
  const JsonRef t = root["truncation"];
  const int64_t max_length = t["max_length"].integer();
  if (max_length <= 0) t["max_length"].error("must be a positive integer");
  const std::string strategy = t.get_string("strategy", "LongestFirst");
  if (strategy != "LongestFirst" && strategy != "OnlyFirst" && strategy != "OnlySecond")
    t["strategy"].unsupported("truncation strategy \"" + strategy + "\" is not supported (LongestFirst, OnlyFirst, OnlySecond)");
  const std::string direction = t.get_string("direction", "Right");
  if (direction != "Right" && direction != "Left") t["direction"].error("must be \"Right\" or \"Left\"");
  if (t.get_int("stride", 0) < 0) t["stride"].error("must not be negative");
  return Truncation{size_t(max_length), direction == "Left",
                    strategy == "OnlyFirst"    ? Truncation::Strategy::only_first
                    : strategy == "OnlySecond" ? Truncation::Strategy::only_second
                                               : Truncation::Strategy::longest_first};
}

// tokenizer.json's "padding": strategy "BatchLongest" or {"Fixed": n}, direction, pad_id,
// pad_to_multiple_of.
inline std::optional<Padding> read_padding(const JsonRef& root) {
  if (!root.has("padding")) return std::nullopt;
  const JsonRef p = root["padding"];
  Padding padding;
  if (p.has("strategy")) {
    const JsonRef s = p["strategy"];
    if (s.is_object() && s.has("Fixed")) {
      const int64_t n = s["Fixed"].integer();
      if (n < 0) s["Fixed"].error("must not be negative");
      padding.length = size_t(n);
    } else if (!(s.is_string() && s.str() == "BatchLongest")) {
      s.unsupported("padding strategy must be \"BatchLongest\" or {\"Fixed\": n}");
    }
  }
  const std::string direction = p.get_string("direction", "Right");
  if (direction != "Right" && direction != "Left") p["direction"].error("must be \"Right\" or \"Left\"");
  padding.left = direction == "Left";
  padding.id = p.has("pad_id") ? p["pad_id"].id() : 0;
  const int64_t multiple = p.get_int("pad_to_multiple_of", 0);
  if (multiple < 0) p["pad_to_multiple_of"].error("must not be negative");
  padding.multiple_of = size_t(multiple);
  return padding;
}

// Cuts e to `keep` ids (offsets alike) at the end, or at the start when t.left.
inline void truncate(Encoded& e, size_t keep, bool left) {
  if (e.ids.size() <= keep) return;
  const auto cut = [&](auto& v) {
    if (left) v.erase(v.begin(), v.end() - ptrdiff_t(keep));
    else v.resize(keep);
  };
  cut(e.ids);
  if (e.with_offsets) cut(e.offsets);
  if (e.with_types) cut(e.type_ids);
}

// Hugging Face's early exit (tokenizers 0.23.0 on, PR #1990: TokenizerImpl::do_tokenize in
// tokenizers/src/tokenizer/mod.rs calls PreTokenizedString::tokenize_with_limit in
// tokenizers/src/tokenizer/pre_tokenizer.rs): a text of a pair is tokenized split by split (see
// Encoded::Split) from the end it keeps, and the splits past the first one, not an added token,
// that brings the count to max_length (special tokens not counted) are dropped. The pair is cut
// afterwards (truncate_pair) from these lengths, so this decides which text LongestFirst takes
// as the longer, and lets OnlyFirst keep an empty first text beside a second cut to max_length.
// Needs e.splits (e.with_splits); a text encoded without them is left whole.
inline void precut(Encoded& e, size_t max_length, bool left) {
  const auto& s = e.splits;
  if (s.empty()) return;
  size_t keep = e.ids.size();
  if (left) {
    for (size_t i = s.size(); i-- > 0;) {
      const size_t from = i == 0 ? 0 : s[i - 1].end;
      if (!s[i].added && e.ids.size() - from >= max_length) {
        keep = e.ids.size() - from;
        break;
      }
    }
  } else {
    for (const auto& split : s)
      if (!split.added && split.end >= max_length) {
        keep = split.end;
        break;
      }
  }
  e.splits.clear();
  truncate(e, keep, left);
}

// A sentence pair cut to `keep` ids in all, as Hugging Face's truncate_encodings: LongestFirst
// gives the shorter text its length and the longer the rest, or, when the shorter is more than
// half, each keep / 2 (the longer, or else the second, one more when keep is odd); OnlyFirst / OnlySecond cut that text alone, an error if it is too short.
inline void truncate_pair(Encoded& a, Encoded& b, size_t keep, const Truncation& t) {
  const size_t total = a.ids.size() + b.ids.size();
  if (total <= keep) return;
  if (t.strategy != Truncation::Strategy::longest_first) {
    Encoded& e = t.strategy == Truncation::Strategy::only_first ? a : b;
    if (e.ids.size() <= total - keep)
      fail(Error::Kind::input, "truncation to ", keep, " ids (special tokens aside): the ",
           t.strategy == Truncation::Strategy::only_first ? "first" : "second", " text has only ", e.ids.size(),
           " and ", total - keep, " must go");
    return truncate(e, e.ids.size() - (total - keep), t.left);
  }
  size_t n1 = std::min(a.ids.size(), b.ids.size()), n2 = 0;
  n2 = n1 > keep ? n1 : std::max(n1, keep - n1);
  if (n1 + n2 > keep) n1 = keep / 2, n2 = n1 + keep % 2;
  if (a.ids.size() > b.ids.size()) std::swap(n1, n2);
  truncate(a, n1, t.left);
  truncate(b, n2, t.left);
}

inline void pad(Encoded& e, const Padding& p) {
  size_t target = p.length.value_or(e.ids.size());
  if (p.multiple_of > 0 && target % p.multiple_of != 0) target += p.multiple_of - target % p.multiple_of;
  if (e.ids.size() >= target) return;
  const size_t n = target - e.ids.size();
  e.ids.insert(p.left ? e.ids.begin() : e.ids.end(), n, p.id);
  if (e.with_offsets) e.offsets.insert(p.left ? e.offsets.begin() : e.offsets.end(), n, Span{});
  if (e.with_types) e.type_ids.insert(p.left ? e.type_ids.begin() : e.type_ids.end(), n, 0);  // pad_type_id 0
}

}  // namespace detail
}  // namespace zest
