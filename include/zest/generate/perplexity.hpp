// Perplexity of a decoder model over a token stream, as zest-perplexity and the demo model's
// PyTorch reference (tools/demo_model_reference.py) compute it: the ids are cut into
// non-overlapping windows of ctx tokens (a last, shorter window counts if it has two or more),
// each run from an empty cache, and every token after a window's first is predicted.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/models/decoder.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest {

struct Perplexity {
  double perplexity = 0;  // exp(nll)
  double nll = 0;         // mean negative log-likelihood, nats per predicted token
  size_t tokens = 0;      // predicted tokens
  size_t windows = 0;
};

namespace detail {

// `progress`, if given, sees the running result after each window.
inline Perplexity perplexity(const DecoderModel& model, std::span<const int32_t> ids, size_t ctx, ThreadPool& pool,
                             const std::function<void(const Perplexity&)>& progress = {}) {
  if (ctx < 2 || ctx > model.config().max_sequence_length())
    fail(Error::Kind::input, "perplexity: ctx ", ctx, " must be in [2, ", model.config().max_sequence_length(),
                 "], the model's maximum length");
  if (ids.size() < 2) fail(Error::Kind::input, "perplexity: fewer than two tokens");
  const size_t vocab = model.vocab_size();
  std::vector<float> logits(ctx * vocab);
  DecoderState state(model, ctx);
  Perplexity result;
  double total = 0;
  for (size_t start = 0; start + 2 <= ids.size(); start += ctx) {
    const size_t n = std::min(ctx, ids.size() - start);
    state.reset();
    model.forward(state, ids.subspan(start, n), logits, pool, /*all_positions=*/true);
    for (size_t t = 0; t + 1 < n; ++t) {
      const float* row = logits.data() + t * vocab;
      const double max = *std::max_element(row, row + vocab);
      double sum = 0;
      for (size_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - max);
      total += max + std::log(sum) - double(row[ids[start + t + 1]]);
    }
    result.tokens += n - 1;
    ++result.windows;
    result.nll = total / double(result.tokens);
    result.perplexity = std::exp(result.nll);
    if (progress) progress(result);
  }
  return result;
}

}  // namespace detail
}  // namespace zest
