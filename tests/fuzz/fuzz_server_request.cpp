// Any bytes as a zest-server request body (examples/zest-server/request.hpp): the first byte picks
// the endpoint and the model, the rest is the body. Parsed, or refused with a 400 ApiError; what
// it accepts the engine accepts too (its parameter checks pass, the prompt fits the context).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../../examples/zest-server/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  server::ServedModel model;
  model.id = "brown-llama";
  model.max_length = 256;
  model.vocab_size = 8000;
  model.embedding_size = 32;
  model.generates = data[0] != 'e';
  try {
    if (data[0] == 'e') {
      const server::EmbeddingRequest r = server::parse_embedding_request(body, model);
      if (r.inputs.empty() || (r.dimensions && (*r.dimensions == 0 || *r.dimensions > model.embedding_size))) __builtin_trap();
    } else {
      server::GenerationRequest r = server::parse_generation_request(body, data[0] == 'c', model);
      server::fit_prompt(r, size % 300, model);
      zest::detail::validate(r.params);
      if (size % 300 + size_t(r.params.max_new_tokens) > model.max_length) __builtin_trap();
    }
  } catch (const server::ApiError& e) {
    if (e.status != 400) __builtin_trap();
  }
  return 0;
}
