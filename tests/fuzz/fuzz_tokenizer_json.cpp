// Fuzz target: loading arbitrary bytes as tokenizer.json either gives a Tokenizer or throws a
// zest::Error; a Tokenizer then encodes and decodes a fixed text without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "zest/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  try {
    auto tok = zest::Tokenizer::from_json(json, "fuzz.json");
    const auto ids = tok.encode("Hello, world! 123 <s> [CLS] déjà 北京 \xF0\x9F\x98\x80", true);
    (void)tok.decode(ids, true);
  } catch (const zest::Error&) {
  }
  return 0;
}
