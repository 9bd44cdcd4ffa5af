// zest-generate --parallel N: N copies of one request submitted at once to one zest::Engine, with
// the serving figures a load test reports: aggregate decode throughput, time to first token and
// inter-token latency (p50 / p99), and whether every greedy stream produced the same ids.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/zest.hpp"

namespace examples {

// The p-th percentile (nearest rank) of xs, 0 when empty.
inline double percentile(std::vector<double> xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const size_t rank = size_t(std::ceil(p / 100.0 * double(xs.size())));
  return xs[std::clamp<size_t>(rank, 1, xs.size()) - 1];
}

struct ParallelRun {
  zest::Generation first;  // the first stream's
  nlohmann::json figures;  // parallel, aggregate_decode_tok_s, ttft_ms_p50/p99, itl_ms_p50/p99, all_equal
};

// Submits `n` copies of the request that `submit` makes (given the params to use) and waits for all.
inline ParallelRun run_parallel(zest::Engine& engine, size_t n, const zest::GenerateParams& params,
                                const std::function<zest::Request(zest::Engine&, const zest::GenerateParams&)>& submit) {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> submitted(n);
  std::vector<std::vector<Clock::time_point>> token_times(n);  // written by the engine's thread
  for (auto& t : token_times) t.reserve(size_t(params.max_new_tokens));
  std::vector<zest::Request> requests;
  for (size_t i = 0; i < n; ++i) {
    zest::GenerateParams p = params;
    if (i > 0) p.on_text = nullptr;  // only the first stream prints
    p.on_token = [&token_times, i, user = params.on_token](const zest::TokenInfo& token) {
      token_times[i].push_back(Clock::now());
      return !user || user(token);
    };
    submitted[i] = Clock::now();
    requests.push_back(submit(engine, p));
  }
  std::vector<zest::Generation> results;
  for (auto& r : requests) results.push_back(r.wait());

  std::vector<double> ttft_ms, itl_ms;
  size_t after_first = 0;
  Clock::time_point begin = Clock::time_point::max(), end = Clock::time_point::min();
  bool all_equal = true;
  for (size_t i = 0; i < n; ++i) {
    const auto& times = token_times[i];
    all_equal = all_equal && results[i].ids == results[0].ids;
    if (times.empty()) continue;
    ttft_ms.push_back(std::chrono::duration<double, std::milli>(times.front() - submitted[i]).count());
    for (size_t t = 1; t < times.size(); ++t) itl_ms.push_back(std::chrono::duration<double, std::milli>(times[t] - times[t - 1]).count());
    after_first += times.size() - 1;
    begin = std::min(begin, times.front());
    end = std::max(end, times.back());
  }
  const double wall = end > begin ? std::chrono::duration<double>(end - begin).count() : 0;
  ParallelRun run{results[0], {}};
  run.figures = {{"parallel", n},
                 {"aggregate_decode_tok_s", wall > 0 ? double(after_first) / wall : 0.0},
                 {"ttft_ms_p50", percentile(ttft_ms, 50)},
                 {"ttft_ms_p99", percentile(ttft_ms, 99)},
                 {"itl_ms_p50", percentile(itl_ms, 50)},
                 {"itl_ms_p99", percentile(itl_ms, 99)},
                 {"all_equal", all_equal}};
  return run;
}

}  // namespace examples
