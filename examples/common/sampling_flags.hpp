// The sampling flags that zest-generate and zest-chat share, and how they change the model's
// generation_config.json defaults: --temperature, --top-k, --top-p and --min-p switch sampling on,
// --greedy (or --temperature 0) switches it off.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zest/zest.hpp"

namespace examples {

struct SamplingFlags {
  std::optional<int> max_new_tokens, top_k;
  std::optional<float> temperature, top_p, min_p, repeat_penalty;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool greedy = false, ignore_eos = false;

  void add_to(CLI::App& app) {
    app.add_option("--max-new-tokens", max_new_tokens, "tokens to generate at most (default: generation_config, else 128)");
    app.add_flag("--greedy", greedy, "always pick the most likely token");
    app.add_option("--temperature", temperature, "sampling temperature (0: greedy)");
    app.add_option("--top-k", top_k, "keep the k most likely tokens (0: off)");
    app.add_option("--top-p", top_p, "keep the most likely tokens holding probability p");
    app.add_option("--min-p", min_p, "drop tokens less likely than p times the most likely");
    app.add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1: off)");
    app.add_option("--seed", seed, "random seed");
    app.add_option("--stop", stop, "stop when the text contains this string (repeatable)");
    app.add_flag("--ignore-eos", ignore_eos, "keep going past end-of-sequence tokens");
  }

  // `defaults` (the model's) changed by the flags given.
  zest::GenerateParams apply(zest::GenerateParams p) const {
    if (max_new_tokens) p.max_new_tokens = *max_new_tokens;
    if (temperature || top_k || top_p || min_p) p.do_sample = true;
    if (temperature) p.temperature = *temperature;
    if (top_k) p.top_k = *top_k;
    if (top_p) p.top_p = *top_p;
    if (min_p) p.min_p = *min_p;
    if (greedy) p.do_sample = false;
    if (repeat_penalty) p.repetition_penalty = *repeat_penalty;
    p.seed = seed;
    p.stop = stop;
    p.ignore_eos = ignore_eos;
    return p;
  }
};

}  // namespace examples
