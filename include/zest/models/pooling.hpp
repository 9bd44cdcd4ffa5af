// Sentence embeddings from an encoder's token states, as sentence-transformers computes them:
// CLS / mean / max / last-token pooling over each text's tokens, then optional L2 normalisation.
// The directory files that say which are read in sentence_transformers.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"
#include "zest/models/encoder.hpp"

namespace zest {

enum class Pooling { cls, mean, max, lasttoken };

inline std::string_view to_string(Pooling mode) {
  switch (mode) {
    case Pooling::cls: return "cls";
    case Pooling::mean: return "mean";
    case Pooling::max: return "max";
    case Pooling::lasttoken: return "lasttoken";
  }
  return "?";
}

inline Pooling parse_pooling(std::string_view name) {
  if (name == "cls") return Pooling::cls;
  if (name == "mean") return Pooling::mean;
  if (name == "max") return Pooling::max;
  if (name == "lasttoken") return Pooling::lasttoken;
  detail::fail(Error::Kind::input, "unknown pooling '", name, "' (choose cls, mean, max or lasttoken)");
}

namespace detail {

// One embedding per text (texts() x hidden_size): the first token's state (cls), the last's
// (lasttoken), or the mean or the elementwise maximum of the states of its tokens. The first
// `skip` tokens (a prompt, with include_prompt false) are left out, as sentence-transformers
// masks them: cls then takes the first token after them.
inline std::vector<float> pool_tokens(const EncoderOutput& h, Pooling mode, size_t skip = 0) {
  const size_t d = h.hidden_size;
  std::vector<float> out(h.texts() * d);
  for (size_t t = 0; t < h.texts(); ++t) {
    if (skip >= h.length(t))
      fail(Error::Kind::input, "text ", t, " has ", h.length(t), " tokens, no more than its prompt's ", skip,
           " that pooling leaves out (include_prompt false)");
    float* e = out.data() + t * d;
    const size_t first = mode == Pooling::lasttoken ? h.length(t) - 1 : skip;
    const size_t end = mode == Pooling::cls || mode == Pooling::lasttoken ? first + 1 : h.length(t);
    std::copy_n(h.row(t, first), d, e);
    for (size_t pos = first + 1; pos < end; ++pos) {
      const float* r = h.row(t, pos);
      if (mode == Pooling::max)
        for (size_t i = 0; i < d; ++i) e[i] = std::max(e[i], r[i]);
      else
        add(e, r, d);
    }
    if (mode == Pooling::mean)
      for (size_t i = 0; i < d; ++i) e[i] /= float(end - first);
  }
  return out;
}

// Each row of d divided by its L2 norm (at least 1e-12, as torch.nn.functional.normalize).
inline void normalize_rows(std::span<float> rows, size_t d) {
  for (size_t r = 0; r + d <= rows.size(); r += d) {
    double sq = 0;
    for (size_t i = 0; i < d; ++i) sq += double(rows[r + i]) * rows[r + i];
    const float inv = float(1.0 / std::max(std::sqrt(sq), 1e-12));
    for (size_t i = 0; i < d; ++i) rows[r + i] *= inv;
  }
}

}  // namespace detail
}  // namespace zest
