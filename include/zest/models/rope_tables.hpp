// The rotary embedding's inverse frequencies for each RoPE type, as transformers'
// modeling_rope_utils.py computes them (in f32, as PyTorch does), and the factor that scales cos
// and sin (YaRN, LongRoPE). Two types depend on how long the sequence is: dynamic NTK stretches
// the base once the sequence passes max_position_embeddings, and LongRoPE switches from its short
// to its long factors past original_max_position_embeddings. transformers decides that per
// forward call from the call's last position, and so does zest (a cached decode step included).
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "zest/io/rope_config.hpp"

namespace zest::detail {

class RopeTable {
 public:
  RopeTable(const RopeParameters& p, size_t rotary_dim, int64_t max_position_embeddings)
      : p_(p), dim_(rotary_dim), max_positions_(max_position_embeddings) {
    switch (p.type) {
      case RopeType::standard:
      case RopeType::dynamic:  // below max_position_embeddings, dynamic is the default table
        freqs_ = base_freqs(float(p.theta));
        break;
      case RopeType::linear:
        freqs_ = base_freqs(float(p.theta));
        for (float& f : freqs_) f /= float(p.factor);
        break;
      case RopeType::llama3: freqs_ = llama3(); break;
      case RopeType::yarn: freqs_ = yarn(); break;
      case RopeType::longrope: {
        const int64_t original = p.original_max_position_embeddings.value_or(max_positions_);
        const double factor = p.factor > 0 ? p.factor : double(max_positions_) / double(original);
        scaling_ = float(p.attention_factor.value_or(
            factor <= 1 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(double(original)))));
        freqs_ = longrope(p.short_factor);
        long_freqs_ = longrope(p.long_factor);
        break;
      }
    }
  }

  size_t rotary_dim() const { return dim_; }
  // What cos and sin are multiplied by (1 but for YaRN and LongRoPE).
  float attention_scaling() const { return scaling_; }

  // The inverse frequencies for a forward call whose last position is seq_len - 1; `scratch`
  // holds them when they are computed for this length.
  const std::vector<float>& inv_freq(size_t seq_len, std::vector<float>& scratch) const {
    if (p_.type == RopeType::longrope && int64_t(seq_len) > p_.original_max_position_embeddings.value_or(max_positions_))
      return long_freqs_;
    if (p_.type == RopeType::dynamic && int64_t(seq_len) > max_positions_) {
      // NTK: base * (factor * seq_len / max - (factor - 1)) ^ (dim / (dim - 2)).
      const double factor = p_.factor, len = double(seq_len), max = double(max_positions_);
      const float base = float(p_.theta) * std::pow(float(factor * len / max - (factor - 1)), float(dim_) / float(dim_ - 2));
      scratch = base_freqs(base);
      return scratch;
    }
    return freqs_;
  }

 private:
  std::vector<float> base_freqs(float base) const {
    std::vector<float> inv(dim_ / 2);
    for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.f / std::pow(base, float(2 * i) / float(dim_));
    return inv;
  }

  // Llama 3.1: long wavelengths (beyond original / low_freq_factor) divided by factor, short ones
  // (below original / high_freq_factor) kept, and a smooth blend between.
  std::vector<float> llama3() const {
    std::vector<float> inv = base_freqs(float(p_.theta));
    const float original = float(*p_.original_max_position_embeddings), factor = float(p_.factor);
    const float low = float(p_.low_freq_factor), high = float(p_.high_freq_factor);
    const float low_wavelen = original / low, high_wavelen = original / high;
    for (float& f : inv) {
      const float wavelen = 2 * std::numbers::pi_v<float> / f;
      if (wavelen > low_wavelen) {
        f /= factor;
      } else if (!(wavelen < high_wavelen)) {
        const float smooth = (original / wavelen - low) / (high - low);
        f = (1 - smooth) * f / factor + smooth * f;
      }
    }
    return inv;
  }

  // YaRN: interpolated frequencies (divided by factor) below the correction range, the original
  // ones above it, a linear ramp between; cos and sin scaled by 0.1 * mscale * ln(factor) + 1.
  std::vector<float> yarn() {
    const int64_t original = p_.original_max_position_embeddings.value_or(max_positions_);
    const double base = p_.theta, factor = p_.factor > 0 ? p_.factor : double(max_positions_) / double(original);
    auto mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
    if (p_.attention_factor) scaling_ = float(*p_.attention_factor);
    else if (p_.mscale && p_.mscale_all_dim && *p_.mscale && *p_.mscale_all_dim)
      scaling_ = float(mscale(factor, *p_.mscale) / mscale(factor, *p_.mscale_all_dim));
    else scaling_ = float(mscale(factor, 1.0));
    const double dim = double(dim_);
    auto correction_dim = [&](double rotations) {
      return dim * std::log(double(original) / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
    };
    double low = correction_dim(p_.beta_fast), high = correction_dim(p_.beta_slow);
    if (p_.truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0);
    high = std::min(high, dim - 1);
    if (low == high) high += 0.001;
    std::vector<float> inv(dim_ / 2);
    for (size_t i = 0; i < inv.size(); ++i) {
      const float pos_freq = std::pow(float(base), float(2 * i) / float(dim_));
      const float ramp = std::clamp((float(i) - float(low)) / (float(high) - float(low)), 0.f, 1.f);
      const float extrapolation = 1 - ramp;
      const float interpolated = 1.f / (float(factor) * pos_freq), original_freq = 1.f / pos_freq;
      inv[i] = interpolated * (1 - extrapolation) + original_freq * extrapolation;
    }
    return inv;
  }

  // LongRoPE: each frequency divided by its own factor.
  std::vector<float> longrope(const std::vector<double>& factors) const {
    std::vector<float> inv(dim_ / 2);
    for (size_t i = 0; i < inv.size(); ++i)
      inv[i] = 1.f / (float(factors[i]) * std::pow(float(p_.theta), float(2 * i) / float(dim_)));
    return inv;
  }

  RopeParameters p_;
  size_t dim_;
  int64_t max_positions_;
  std::vector<float> freqs_, long_freqs_;
  float scaling_ = 1;
};

}  // namespace zest::detail
