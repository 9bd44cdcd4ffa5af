// Reading the reference goldens (tests/data/models, format "lab-golden-1"; see its README).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/generate/params.hpp"
#include "zest/io/read_file.hpp"

inline nlohmann::json load_golden(const std::string& path) {
  return nlohmann::json::parse(zest::detail::read_file(path));
}

// (id, logit) pairs of a golden logits record: a full vector ("last_logits") or the trimmed
// form ({"ids": [...], "values": [...]}).
inline std::vector<std::pair<size_t, double>> golden_logits(const nlohmann::json& full, const nlohmann::json& trimmed) {
  std::vector<std::pair<size_t, double>> out;
  if (!full.is_null()) {
    for (size_t i = 0; i < full.size(); ++i) out.emplace_back(i, full[i].get<double>());
  } else {
    for (size_t i = 0; i < trimmed["ids"].size(); ++i)
      out.emplace_back(trimmed["ids"][i].get<size_t>(), trimmed["values"][i].get<double>());
  }
  return out;
}

inline const nlohmann::json& field_or_null(const nlohmann::json& j, const char* key) {
  static const nlohmann::json null;
  return j.contains(key) ? j[key] : null;
}

// Greedy decoding of exactly n tokens, as the goldens' greedy continuations are made.
inline zest::GenerateParams greedy(int n) {
  zest::GenerateParams p;
  p.max_new_tokens = n;
  p.ignore_eos = true;
  return p;
}
