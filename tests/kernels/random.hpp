// Seeded normal random data for the kernel tests.
#pragma once

#include <random>
#include <vector>

inline std::vector<float> random_vector(size_t n, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}
