// Time to first token of a request whose long prefix (a 1,000-token system prompt, say) an earlier
// request left in the Engine's prefix cache, against the same request with the cache off.
//   bench_prefix_cache MODEL_DIR [--prefix N] [--suffix N] [--dtype D] [--threads T] [--reps R]
// Prints one JSON object: {"prefix_tokens", "suffix_tokens", "uncached_ttft_ms", "cached_ttft_ms",
// "ratio", "cached_tokens"} (medians over the repetitions; each uses new suffixes).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/io/read_file.hpp"
#include "zest/zest.hpp"

namespace {

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// Milliseconds from submit to the first token, and the prompt positions the cache supplied.
std::pair<double, size_t> first_token(zest::Engine& engine, const std::vector<int32_t>& prompt) {
  zest::GenerateParams params;
  params.max_new_tokens = 1;
  const zest::Generation g = engine.submit_ids(prompt, params).wait();
  return {g.timings.prefill_s * 1e3, g.timings.cached_tokens};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_prefix_cache MODEL_DIR [--prefix N] [--suffix N] [--dtype D] [--threads T] [--reps R]\n";
    return 2;
  }
  size_t prefix = 1000, suffix = 16, reps = 5;
  zest::LoadOptions options;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--prefix") prefix = std::stoul(value);
    else if (flag == "--suffix") suffix = std::stoul(value);
    else if (flag == "--dtype") options.dtype = zest::parse_compute_dtype(value);
    else if (flag == "--threads") options.threads = std::stoi(value);
    else if (flag == "--reps") reps = std::stoul(value);
    else { std::cerr << "bench_prefix_cache: unknown flag " << flag << "\n"; return 2; }
  }
  try {
    const auto pipeline = zest::Pipeline::from_pretrained(argv[1], options);
    const size_t vocab = nlohmann::json::parse(zest::detail::read_file(std::string(argv[1]) + "/config.json"))["vocab_size"];
    std::mt19937 rng(7);
    auto random_ids = [&](size_t n) {
      std::vector<int32_t> ids(n);
      for (auto& id : ids) id = int32_t(3 + rng() % (vocab - 3));
      return ids;
    };
    const std::vector<int32_t> system = random_ids(prefix);
    auto with_suffix = [&] {
      std::vector<int32_t> ids = system;
      for (int32_t id : random_ids(suffix)) ids.push_back(id);
      return ids;
    };
    zest::EngineOptions off;
    off.prefix_caching = false;
    zest::Engine uncached_engine(pipeline, off), cached_engine(pipeline);
    first_token(cached_engine, with_suffix());  // the first request leaves the prefix in the cache
    std::vector<double> uncached, cached;
    size_t cached_tokens = 0;
    for (size_t r = 0; r < reps; ++r) {
      uncached.push_back(first_token(uncached_engine, with_suffix()).first);
      const auto [ms, hit] = first_token(cached_engine, with_suffix());
      cached.push_back(ms);
      cached_tokens = hit;
    }
    const nlohmann::json out = {{"prefix_tokens", prefix},          {"suffix_tokens", suffix},
                                {"uncached_ttft_ms", median(uncached)}, {"cached_ttft_ms", median(cached)},
                                {"ratio", median(cached) / median(uncached)}, {"cached_tokens", cached_tokens}};
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_prefix_cache: " << e.what() << "\n";
    return 1;
  }
}
