// Tokenizer truncation for encoders: texts longer than the model takes are cut, keeping the
// special tokens, as Hugging Face's tokenizers do with truncation on (one sequence: the text's
// tokens are cut to max_length minus the special tokens, at the end or, with direction Left, at
// the start). The settings come from tokenizer.json's "truncation" section, which
// zest::Tokenizer itself does not take, so it is read here and left out of the tokenizer.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/read_file.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

struct Truncation {
  size_t max_length = 512;  // ids with special tokens
  bool left = false;        // cut at the start (direction "Left") rather than the end
};

struct EncoderTokenizer {
  Tokenizer tokenizer;
  std::optional<Truncation> truncation;  // tokenizer.json's, when it has one
};

namespace detail {

// The directory's tokenizer and tokenizer.json's truncation settings.
inline EncoderTokenizer load_encoder_tokenizer(const std::filesystem::path& dir) {
  const auto file = dir / "tokenizer.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {Tokenizer::from_file(dir), std::nullopt};
  nlohmann::json root = nlohmann::json::parse(read_file(file), nullptr, false);
  if (!root.is_object()) fail(Error::Kind::format, file.string(), ": not a JSON object");
  std::optional<Truncation> truncation;
  if (root.contains("truncation") && !root["truncation"].is_null()) {
    const auto& t = root["truncation"];
    if (!t.is_object() || !t.contains("max_length") || !t["max_length"].is_number_unsigned() || t["max_length"].get<size_t>() == 0)
      fail(Error::Kind::format, file.string(), ": truncation needs a positive integer 'max_length'");
    if (t.contains("stride") && !(t["stride"].is_number_integer() && t["stride"].get<int64_t>() == 0))
      fail(Error::Kind::unsupported, file.string(), ": truncation with a stride is not supported");
    const bool left = t.contains("direction") && t["direction"].is_string() && t["direction"].get<std::string>() == "Left";
    truncation = Truncation{t["max_length"].get<size_t>(), left};
  }
  root["truncation"] = nullptr;
  root["padding"] = nullptr;  // batches are packed, never padded
  return {Tokenizer::from_json(root.dump(), file.string()), truncation};
}

}  // namespace detail

// text's ids with special tokens, at most t.max_length of them.
inline std::vector<int32_t> encode_truncated(const Tokenizer& tokenizer, std::string_view text, const Truncation& t) {
  std::vector<int32_t> full = tokenizer.encode(text, /*add_special_tokens=*/true);
  if (full.size() <= t.max_length) return full;
  const std::vector<int32_t> content = tokenizer.encode(text, false);
  const size_t added = full.size() - content.size();
  if (full.size() < content.size() || t.max_length <= added)
    detail::fail(Error::Kind::input, "truncation to ", t.max_length, " ids leaves no room beside the ", added, " special tokens");
  // The special tokens before the text's own: where its ids sit in the full encoding.
  size_t prefix = 0;
  while (prefix <= added && !std::equal(content.begin(), content.end(), full.begin() + ptrdiff_t(prefix))) ++prefix;
  if (prefix > added)
    detail::fail(Error::Kind::unsupported, "truncation: the post-processor changes the text's own ids");
  const size_t keep = t.max_length - added;
  std::vector<int32_t> out(full.begin(), full.begin() + ptrdiff_t(prefix));
  const auto first = t.left ? content.end() - ptrdiff_t(keep) : content.begin();
  out.insert(out.end(), first, first + ptrdiff_t(keep));
  out.insert(out.end(), full.begin() + ptrdiff_t(prefix + content.size()), full.end());
  return out;
}

}  // namespace zest
