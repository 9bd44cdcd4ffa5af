// zest-server's /metrics in Prometheus' text format: requests by endpoint and status, and the
// Engine's counters and gauges (tokens, queue depth, KV blocks), with histograms of time to first
// token and inter-token latency. Observed from handler threads and the engine's thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "zest/serve/engine.hpp"

namespace server {

class Histogram {
 public:
  static constexpr std::array<double, 14> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10,  30};

  void observe(double seconds) {
    std::lock_guard lock(mutex_);
    size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    ++counts_[i];
    sum_ += seconds;
  }

  void render(std::ostream& out, const char* name, const char* help) const {
    std::lock_guard lock(mutex_);
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += counts_[i];
      out << name << "_bucket{le=\"" << bounds[i] << "\"} " << cumulative << "\n";
    }
    cumulative += counts_.back();
    out << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n" << name << "_sum " << sum_ << "\n" << name << "_count " << cumulative << "\n";
  }

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, bounds.size() + 1> counts_{};  // the last: above every bound
  double sum_ = 0;
};

class Metrics {
 public:
  Histogram time_to_first_token, inter_token_latency;

  void count_request(const std::string& endpoint, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
  }
  void count_cancelled() {
    std::lock_guard lock(mutex_);
    ++cancelled_;
  }

  // `engine`: the decoder's Engine stats, none for an encoder.
  std::string render(const std::optional<zest::EngineStats>& engine) const {
    std::ostringstream out;
    {
      std::lock_guard lock(mutex_);
      out << "# HELP zest_requests_total HTTP requests answered, by endpoint and status.\n# TYPE zest_requests_total counter\n";
      for (const auto& [key, n] : requests_)
        out << "zest_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
      counter(out, "zest_requests_cancelled_total", "Generations cut short: the client went away, or the server stopped.", cancelled_);
    }
    if (engine) {
      const zest::EngineStats& s = *engine;
      counter(out, "zest_prompt_tokens_total", "Prompt tokens prefilled.", s.prompt_tokens);
      counter(out, "zest_cached_prompt_tokens_total", "Prompt tokens taken from the prefix cache.", s.cached_prompt_tokens);
      counter(out, "zest_generated_tokens_total", "Tokens generated.", s.generated_tokens);
      gauge(out, "zest_requests_waiting", "Requests queued for a place in the batch.", s.waiting);
      gauge(out, "zest_requests_running", "Requests in the batch.", s.running);
      gauge(out, "zest_kv_blocks", "KV cache blocks of 64 positions.", s.kv_blocks);
      gauge(out, "zest_kv_blocks_used", "KV cache blocks held by requests.", s.kv_blocks_used);
      gauge(out, "zest_kv_blocks_cached", "KV cache blocks in the prefix cache, for prompts that start alike.", s.kv_blocks_cached);
      time_to_first_token.render(out, "zest_time_to_first_token_seconds", "From a request's arrival to its first token.");
      inter_token_latency.render(out, "zest_inter_token_latency_seconds", "Between a request's consecutive tokens.");
    }
    return out.str();
  }

 private:
  static void counter(std::ostream& out, const char* name, const char* help, uint64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << value << "\n";
  }
  static void gauge(std::ostream& out, const char* name, const char* help, uint64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n" << name << " " << value << "\n";
  }

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t cancelled_ = 0;
};

}  // namespace server
