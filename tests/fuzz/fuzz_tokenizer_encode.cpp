// Fuzz target: the first byte picks one of four tokenizers, the rest is the text. encode must
// throw zest::Error exactly when the text is not UTF-8; with replacement it must encode, with the
// same ids as encode without offsets and offsets that stay in the text, in order; gpt2 (byte
// level) must decode valid text back to itself; the stream decoder on the text's first bytes
// must join to decode.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "zest/tokenizer.hpp"

namespace {
// The committed test tokenizers, found from this source file's place in the tree.
const std::filesystem::path models = std::filesystem::path(__FILE__).parent_path().parent_path() / "data/tokenizer/models";

// gpt2 first: the one whose decode gives back any valid text.
const std::vector<zest::Tokenizer>& tokenizers() {
  static const std::vector<zest::Tokenizer> all = [] {
    std::vector<zest::Tokenizer> t;
    for (const char* name : {"gpt2", "bert-base-uncased", "spm-bpe-8k", "spm-unigram-8k"})
      t.push_back(zest::Tokenizer::from_file(models / name / "tokenizer.json"));
    return t;
  }();
  return all;
}

// The stream decoder decodes again all the ids it holds at each step, as HF's DecodeStream
// does, and holds them while their text ends in U+FFFD: on fuzzed bytes, mostly invalid and
// replaced by U+FFFD, that is quadratic in the input (52 inputs a second, 4 KiB inputs taking
// seconds). It streams the ids of the first stream_bytes bytes: its held runs stay short, and
// every input still checks it. Encode and decode take the whole input.
constexpr size_t stream_bytes = 16;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One tokenizer per input, not all four in turn: 231 heap allocations an input instead of
  // 1,132 (on a 1,211-input corpus of this target), each of them slow under ASan; mutations of
  // the first byte still reach every tokenizer.
  if (size == 0) return 0;
  const size_t which = data[0] % tokenizers().size();
  const auto& tok = tokenizers()[which];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const bool valid = zest::detail::utf8::find_invalid(text) == std::string_view::npos;
  std::vector<int32_t> ids;
  bool threw = false;
  try {
    ids = tok.encode(text, true);
  } catch (const zest::Error&) {
    threw = true;
  }
  if (threw == valid) __builtin_trap();

  const auto e = tok.encode_with_offsets(text, true, zest::InvalidUtf8::replace);
  if (valid && e.ids != ids) __builtin_trap();
  if (e.offsets.size() != e.ids.size()) __builtin_trap();
  const size_t end = valid ? text.size() : zest::detail::utf8::replace_invalid(text).size();
  size_t last_begin = 0;
  for (const auto& [b, en] : e.offsets) {
    if (b > en || en > end) __builtin_trap();
    if (b == 0 && en == 0) continue;  // the special tokens the post-processor adds
    if (b < last_begin) __builtin_trap();
    last_begin = b;
  }
  const std::string decoded = tok.decode(e.ids);
  if (valid && which == 0 && decoded != text) __builtin_trap();

  const auto head = text.size() <= stream_bytes
                        ? e.ids
                        : tok.encode(text.substr(0, stream_bytes), true, zest::InvalidUtf8::replace);
  auto stream = tok.stream_decoder(false);
  std::string joined;
  for (auto id : head) joined += stream.step(id);
  joined += stream.finish();
  if (joined != tok.decode(head)) __builtin_trap();
  return 0;
}
