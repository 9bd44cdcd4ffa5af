// LlamaForCausalLM's config.json (LlamaConfig): Llama 1-3.x, and the many models saved as llama.
#pragma once

#include "zest/io/families/common.hpp"

namespace zest::detail {

inline void read_llama(const ConfigFields& f, ModelConfig& c) {
  read_decoder(f, c, {});
  read_bias_flags(f, c);
}

}  // namespace zest::detail
