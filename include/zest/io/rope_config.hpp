// Rotary embedding parameters from config.json, in both forms transformers writes:
//   transformers 4: "rope_theta": 5e5, "rope_scaling": {"rope_type" (or "type"): "llama3", "factor": 8, ...}
//   transformers 5: "rope_parameters": {"rope_theta": 5e5, "rope_type": "llama3", "factor": 8, ...}
//                   or, for models whose layers differ (Gemma 3), one such object per layer type:
//                   {"full_attention": {...}, "sliding_attention": {...}}
// Every type Hub models use is read (default, linear, dynamic, llama3, yarn, longrope); an unknown
// type, or a key of a type that zest does not read, is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config_fields.hpp"

namespace zest::detail {

enum class RopeType { standard, linear, dynamic, llama3, yarn, longrope };

struct RopeParameters {
  RopeType type = RopeType::standard;
  double theta = 10000.0;
  double factor = 0.0;  // linear, dynamic, llama3; yarn, longrope (0: max_position_embeddings / original)
  std::optional<int64_t> original_max_position_embeddings;  // llama3, yarn, longrope, dynamic
  double low_freq_factor = 1.0, high_freq_factor = 4.0;   // llama3
  double beta_fast = 32.0, beta_slow = 1.0;               // yarn
  std::optional<double> mscale, mscale_all_dim;           // yarn
  bool truncate = true;                                   // yarn
  std::optional<double> attention_factor;                 // yarn, longrope: scales cos and sin
  std::vector<double> short_factor, long_factor;          // longrope
};

inline std::string_view to_string(RopeType type) {
  switch (type) {
    case RopeType::standard: return "default";
    case RopeType::linear: return "linear";
    case RopeType::dynamic: return "dynamic";
    case RopeType::llama3: return "llama3";
    case RopeType::yarn: return "yarn";
    case RopeType::longrope: return "longrope";
  }
  return "?";
}

// One rope_scaling / rope_parameters object into `p` (whose theta is the default or the top-level
// rope_theta).
// `phi3`: Phi3Config's backward compatibility, where "su" and "yarn" both mean longrope.
inline void read_rope_object(const JsonRef& object, RopeParameters& p, bool phi3) {
  const ConfigFields f(object, /*top_level=*/false);
  std::string type = f.get_string("rope_type").value_or(f.get_string("type", "default"));
  if (const auto other = f.get_string("type"); other && f.has("rope_type") && *other != type)
    f.invalid("rope_type", "'" + type + "' and type '" + *other + "' disagree");
  if (phi3 && (type == "su" || type == "yarn")) type = "longrope";
  if (type == "default") p.type = RopeType::standard;
  else if (type == "linear") p.type = RopeType::linear;
  else if (type == "dynamic") p.type = RopeType::dynamic;
  else if (type == "llama3") p.type = RopeType::llama3;
  else if (type == "yarn") p.type = RopeType::yarn;
  else if (type == "longrope") p.type = RopeType::longrope;
  else f.unsupported("rope_type", "'" + type + "' is not supported (supported: default, linear, dynamic, llama3, yarn, longrope)");
  p.theta = f.get_number("rope_theta", p.theta);
  if (!(p.theta > 0)) f.invalid("rope_theta", "must be positive");
  // partial_rotary_factor may sit here in transformers 5; the family reader takes it from either place.
  f.ignore({"partial_rotary_factor"});
  if (p.type != RopeType::standard) {
    // YaRN and LongRoPE without a factor take max_position_embeddings / original (RopeTable).
    const auto factor = f.get_number("factor");
    if (p.type != RopeType::longrope && p.type != RopeType::yarn && !factor)
      f.invalid("factor", "is required by rope type " + type);
    p.factor = factor.value_or(0.0);
    if (factor && !(p.factor > 0)) f.invalid("factor", "must be positive");
  }
  p.original_max_position_embeddings = f.get_int("original_max_position_embeddings");
  switch (p.type) {
    case RopeType::standard:
    case RopeType::linear:
      break;
    case RopeType::dynamic:
      break;
    case RopeType::llama3:
      p.low_freq_factor = f.get_number("low_freq_factor").value_or(0);
      p.high_freq_factor = f.get_number("high_freq_factor").value_or(0);
      if (!p.original_max_position_embeddings) f.invalid("original_max_position_embeddings", "is required by rope type llama3");
      if (!(p.high_freq_factor > p.low_freq_factor && p.low_freq_factor > 0))
        f.invalid("high_freq_factor", "must exceed low_freq_factor, and both be positive");
      break;
    case RopeType::yarn:
      p.beta_fast = f.get_number("beta_fast", 32.0);
      p.beta_slow = f.get_number("beta_slow", 1.0);
      p.mscale = f.get_number("mscale");
      p.mscale_all_dim = f.get_number("mscale_all_dim");
      p.truncate = f.get_bool("truncate", true);
      p.attention_factor = f.get_number("attention_factor");
      break;
    case RopeType::longrope:
      p.short_factor = f.get_numbers("short_factor");
      p.long_factor = f.get_numbers("long_factor");
      p.attention_factor = f.get_number("attention_factor");
      if (p.short_factor.empty() || p.long_factor.size() != p.short_factor.size())
        f.invalid("long_factor", "and short_factor must be lists of the same, non-zero length");
      break;
  }
  if (p.attention_factor && !(*p.attention_factor > 0)) f.invalid("attention_factor", "must be positive");
  f.finish("rope type " + type);
}

// The model's rope parameters from either form; `theta` is the family's default rope_theta.
// `layer_type`: for per-layer-type rope_parameters, the key to read ("full_attention", ...).
// A top-level original_max_position_embeddings (Phi-3 keeps it there) takes priority over the
// one inside the rope object, as transformers gives it.
inline RopeParameters read_rope(const ConfigFields& f, double theta, std::string_view layer_type = "full_attention",
                                bool phi3 = false) {
  RopeParameters p;
  p.theta = f.get_number("rope_theta", theta);
  if (const auto scaling = f.get_object("rope_scaling")) read_rope_object(*scaling, p, phi3);
  if (const auto parameters = f.get_object("rope_parameters")) {
    if (f.has("rope_scaling")) f.invalid("rope_parameters", "and rope_scaling are both present");
    const bool per_type = !parameters->has("rope_type") && !parameters->has("type") && !parameters->has("rope_theta");
    if (per_type) {
      for (const auto& [key, value] : parameters->raw().items())
        if (key != "full_attention" && key != "sliding_attention")
          parameters->unsupported("layer type '" + key + "' is not supported (supported: full_attention, sliding_attention)");
      const auto entry = parameters->get_object(layer_type);
      if (!entry) parameters->error("has no rope_type and no '" + std::string(layer_type) + "' entry");
      read_rope_object(*entry, p, phi3);
    } else {
      read_rope_object(*parameters, p, phi3);
    }
  }
  if (const auto original = f.get_int("original_max_position_embeddings")) p.original_max_position_embeddings = original;
  return p;
}

}  // namespace zest::detail
