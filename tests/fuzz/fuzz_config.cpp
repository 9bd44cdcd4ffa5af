// Any bytes as config.json (and, when that parses, as generation_config.json): parsed or rejected
// with zest::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zest/io/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const zest::detail::ModelConfig config = zest::detail::parse_model_config(text, "fuzz/config.json");
    if (config.head_dim <= 0 || config.num_attention_heads % config.num_key_value_heads != 0) __builtin_trap();
    zest::detail::parse_generation_config(text, config, "fuzz/generation_config.json");
  } catch (const zest::Error&) {
  }
  return 0;
}
