// Sampler: picks the next token from a position's logits with Hugging Face's logits processors
// (RepetitionPenalty, Temperature, TopK, TopP, MinP; min_tokens_to_keep = 1) in HF's order.
// Construction sizes every buffer; choosing a token allocates nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/rng.hpp"

namespace zest::detail {

// HF's RepetitionPenaltyLogitsProcessor: every distinct previous id's logit is divided by the
// penalty when positive and multiplied by it when negative (once, however often the id occurs).
// `seen` is caller-owned scratch of vocabulary size, all zero on entry and on return.
inline void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> previous_ids, float penalty,
                                     std::span<uint8_t> seen) {
  for (int32_t id : previous_ids) {
    if (seen[id]) continue;
    seen[id] = 1;
    float& x = logits[id];
    x = x < 0.0f ? x * penalty : x / penalty;
  }
  for (int32_t id : previous_ids) seen[id] = 0;
}

// The first index of the largest value, as torch.argmax.
inline int32_t argmax(std::span<const float> values) {
  return int32_t(std::max_element(values.begin(), values.end()) - values.begin());
}


class Sampler {
 public:
  // Throws Error(input) for parameters out of range or an empty vocabulary.
  Sampler(const GenerateParams& params, size_t vocab_size)
      : params_(params), rng_(params.seed ? *params.seed : random_seed()) {
    validate(params_);
    if (vocab_size == 0 || vocab_size > size_t(std::numeric_limits<int32_t>::max()))
      detail::fail(Error::Kind::input, "sampler: vocabulary size ", vocab_size, " is out of range");
    order_.resize(vocab_size);
    probs_.resize(vocab_size);
    seen_.assign(vocab_size, 0);
  }

  const GenerateParams& params() const { return params_; }

  // The next token for these logits (one per vocabulary entry; they are overwritten with the
  // processed scores) given every id before it, the prompt's included.
  int32_t next(std::span<float> logits, std::span<const int32_t> previous_ids) {
    if (!sampling(prepare(logits, previous_ids))) return detail::argmax(logits);
    const size_t n = filter(logits);
    const double u = rng_.uniform();
    double cumulative = 0.0;
    for (size_t j = 0; j < n; ++j) {
      cumulative += probs_[j];
      if (u < cumulative) return order_[j];
    }
    return order_[n - 1];  // u within rounding of 1
  }

  // The distribution `next` draws from, written to `probs` (vocabulary size): softmax over the
  // tokens the processors keep, 0 for the others; one-hot at the argmax when not sampling.
  void distribution(std::span<float> logits, std::span<const int32_t> previous_ids, std::span<float> probs) {
    if (probs.size() != logits.size())
      detail::fail(Error::Kind::input, "sampler: ", probs.size(), " probabilities for ", logits.size(), " logits");
    const float top = prepare(logits, previous_ids);
    std::fill(probs.begin(), probs.end(), 0.0f);
    if (!sampling(top)) {
      probs[detail::argmax(logits)] = 1.0f;
      return;
    }
    const size_t n = filter(logits);
    for (size_t j = 0; j < n; ++j) probs[order_[j]] = probs_[j];
  }

 private:
  static uint64_t random_seed() {
    std::random_device device;
    return (uint64_t(device()) << 32) ^ device();
  }

  // Whether to draw at random, given the largest logit after the penalty: a temperature so small
  // (or a penalty so strong) that the scores overflow is taken as its limit, greedy decoding.
  bool sampling(float top) const { return params_.sampling() && std::isfinite(top / params_.temperature); }

  // Checks the inputs and applies the repetition penalty (which greedy decoding also uses);
  // returns the largest logit after it.
  float prepare(std::span<float> logits, std::span<const int32_t> previous_ids) {
    if (logits.size() != order_.size())
      detail::fail(Error::Kind::input, "sampler: ", logits.size(), " logits for a vocabulary of ", order_.size());
    bool any_finite = false;
    for (size_t i = 0; i < logits.size(); ++i) {
      if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
        detail::fail(Error::Kind::input, "sampler: logit ", i, " is ", logits[i]);
      any_finite |= logits[i] != -std::numeric_limits<float>::infinity();
    }
    if (!any_finite) detail::fail(Error::Kind::input, "sampler: every logit is -inf");
    for (int32_t id : previous_ids)
      if (id < 0 || size_t(id) >= logits.size())
        detail::fail(Error::Kind::input, "sampler: previous id ", id, " is outside the vocabulary of ", logits.size());
    if (params_.repetition_penalty != 1.0f)
      detail::apply_repetition_penalty(logits, previous_ids, params_.repetition_penalty, seen_);
    return *std::max_element(logits.begin(), logits.end());
  }

  // Temperature, top-k, top-p and min-p. Leaves the kept token ids in order_[0, n) and their
  // normalised probabilities in probs_[0, n); returns n.
  size_t filter(std::span<float> logits) {
    if (params_.temperature != 1.0f)
      for (float& x : logits) x /= params_.temperature;
    size_t n = 0;
    for (size_t i = 0; i < logits.size(); ++i)
      if (logits[i] != -std::numeric_limits<float>::infinity()) order_[n++] = int32_t(i);
    // Ranked order: larger logit first; among equal logits the larger id first, the reverse of
    // the stable ascending sort HF's top-p walks (which drops the smaller id first).
    auto ranked = [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a > b; };
    if (params_.top_k > 0 && size_t(params_.top_k) < n) {
      // Everything below the k-th largest value goes; ties with it stay, as in HF's TopK.
      std::nth_element(order_.begin(), order_.begin() + (params_.top_k - 1), order_.begin() + n, ranked);
      const float kth = logits[order_[params_.top_k - 1]];
      size_t kept = 0;
      for (size_t j = 0; j < n; ++j)
        if (logits[order_[j]] >= kth) order_[kept++] = order_[j];
      n = kept;
    }
    if (params_.top_p < 1.0f) n = top_p(logits, n, ranked);  // HF skips top_p == 1
    if (params_.min_p > 0.0f) {
      // HF's MinP removes p < min_p * p_max; dividing both sides by p_max leaves exp(x - x_max).
      float top = -std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < n; ++j) top = std::max(top, logits[order_[j]]);
      size_t kept = 0;
      for (size_t j = 0; j < n; ++j)
        if (!(std::exp(logits[order_[j]] - top) < params_.min_p)) order_[kept++] = order_[j];
      n = kept;
    }
    softmax(logits, n);
    return n;
  }

  // HF's TopP keeps, in ranked order, the first token and each token whose predecessors' mass is
  // below top_p (their rule, "drop where the ascending cumulative sum <= 1 - top_p", restated
  // from the top). Only a head of the ranking holding mass top_p is sorted: it is found by
  // selecting heads of growing size.
  template <typename Ranked>
  size_t top_p(std::span<const float> logits, size_t n, Ranked ranked) {
    float top = -std::numeric_limits<float>::infinity();
    for (size_t j = 0; j < n; ++j) top = std::max(top, logits[order_[j]]);
    double sum = 0.0;
    for (size_t j = 0; j < n; ++j) sum += std::exp(logits[order_[j]] - top);
    const double p = params_.top_p * sum;  // compare unnormalised masses
    size_t m = std::min<size_t>(n, 64);
    for (;; m = std::min(n, m * 4)) {
      if (m < n) std::nth_element(order_.begin(), order_.begin() + (m - 1), order_.begin() + n, ranked);
      double mass = 0.0;
      for (size_t j = 0; j < m; ++j) mass += std::exp(logits[order_[j]] - top);
      if (mass >= p || m == n) break;
    }
    std::sort(order_.begin(), order_.begin() + m, ranked);
    double before = 0.0;
    for (size_t j = 0; j < m; ++j) {
      if (j > 0 && !(before < p)) return j;
      before += std::exp(logits[order_[j]] - top);
    }
    return m;
  }

  // probs_[j] = softmax of logits[order_[j]] over j < n.
  void softmax(std::span<const float> logits, size_t n) {
    float top = -std::numeric_limits<float>::infinity();
    for (size_t j = 0; j < n; ++j) top = std::max(top, logits[order_[j]]);
    double sum = 0.0;
    for (size_t j = 0; j < n; ++j) sum += probs_[j] = std::exp(logits[order_[j]] - top);
    const float scale = float(1.0 / sum);
    for (size_t j = 0; j < n; ++j) probs_[j] *= scale;
  }

  GenerateParams params_;
  detail::Xoshiro256 rng_;
  std::vector<int32_t> order_;  // token ids still in the running, see filter()
  std::vector<float> probs_;    // their probabilities
  std::vector<uint8_t> seen_;   // scratch for the repetition penalty
};

}  // namespace zest::detail
