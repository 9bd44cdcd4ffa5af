// Fuzz target: arbitrary bytes through encode (invalid UTF-8 must throw zest::Error; with
// replacement it must encode), then decode, and the stream decoder on the input's first bytes,
// for four tokenizers.
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
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : tokenizers()) {
    try {
      (void)tok.encode(text);
    } catch (const zest::Error&) {
    }
    const auto ids = tok.encode_with_offsets(text, true, zest::InvalidUtf8::replace).ids;
    (void)tok.decode(ids);
    const auto head = size <= stream_bytes ? ids
                                           : tok.encode_with_offsets(text.substr(0, stream_bytes), true, zest::InvalidUtf8::replace).ids;
    auto stream = tok.stream_decoder(false);
    std::string joined;
    for (auto id : head) joined += stream.step(id);
    joined += stream.finish();
    if (joined != tok.decode(head)) __builtin_trap();
  }
  return 0;
}
