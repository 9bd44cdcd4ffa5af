// Truncation and padding of one encoding, as Hugging Face's tokenizers apply them in encode():
// the text's own ids are cut so that, with the special tokens, at most max_length remain; then
// the ids are padded to a fixed length (or a multiple). Settings come from tokenizer.json's
// "truncation" and "padding" sections, or from the caller.
#pragma once

#include <nlohmann/json.hpp>

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
  size_t max_length = 512;  // ids, special tokens included
  bool left = false;        // cut at the start (direction "Left") rather than the end
};

struct Padding {
  std::optional<size_t> length;  // "Fixed": pad to this many ids; none: "BatchLongest" (one text: itself)
  size_t multiple_of = 0;        // then round the length up to a multiple of this (0: off)
  bool left = false;             // pad before the ids (direction "Left")
  int32_t id = 0;                // the pad token's id
};

namespace detail {

// tokenizer.json's "truncation": max_length, direction; strategy LongestFirst or OnlyFirst (the
// same for one sequence). A stride only shapes the overflowing encodings, which zest does not
// return, so it changes no id.
inline std::optional<Truncation> read_truncation(const JsonRef& root) {
  if (!root.has("truncation")) return std::nullopt;
  const JsonRef t = root["truncation"];
  const int64_t max_length = t["max_length"].integer();
  if (max_length <= 0) t["max_length"].error("must be a positive integer");
  const std::string strategy = t.get_string("strategy", "LongestFirst");
  if (strategy != "LongestFirst" && strategy != "OnlyFirst")
    t["strategy"].unsupported("truncation strategy \"" + strategy + "\" is not supported (LongestFirst, OnlyFirst)");
  const std::string direction = t.get_string("direction", "Right");
  if (direction != "Right" && direction != "Left") t["direction"].error("must be \"Right\" or \"Left\"");
  if (t.get_int("stride", 0) < 0) t["stride"].error("must not be negative");
  return Truncation{size_t(max_length), direction == "Left"};
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
}

inline void pad(Encoded& e, const Padding& p) {
  size_t target = p.length.value_or(e.ids.size());
  if (p.multiple_of > 0 && target % p.multiple_of != 0) target += p.multiple_of - target % p.multiple_of;
  if (e.ids.size() >= target) return;
  const size_t n = target - e.ids.size();
  e.ids.insert(p.left ? e.ids.begin() : e.ids.end(), n, p.id);
  if (e.with_offsets) e.offsets.insert(p.left ? e.offsets.begin() : e.offsets.end(), n, Span{});
}

}  // namespace detail
}  // namespace zest
