// Any bytes as a safetensors file: the header parser either accepts them or throws zest::Error.
#include <cstddef>
#include <cstdint>
#include <span>

#include "zest/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = zest::detail::parse_safetensors_header(
        std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.safetensors");
    // Whatever was accepted must lie inside the input.
    for (const auto& [name, info] : header.tensors)
      if (header.data_begin + info.begin + info.nbytes > size) __builtin_trap();
  } catch (const zest::Error&) {
  }
  return 0;
}
