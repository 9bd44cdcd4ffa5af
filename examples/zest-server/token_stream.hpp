// The bridge between the engine's thread, which produces a request's tokens, and the HTTP thread
// that answers it: streamed text waits here until the handler takes it, and each token's time
// feeds the latency histograms.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "metrics.hpp"
#include "zest/generate/params.hpp"

namespace server {

class TokenStream : public std::enable_shared_from_this<TokenStream> {
 public:
  using Clock = std::chrono::steady_clock;

  TokenStream(Metrics& metrics, Clock::time_point arrived) : metrics_(metrics), last_(arrived) {}

  // Sets `params`' callbacks (run on the engine's thread; they keep this stream alive). With
  // `streaming`, the text is kept for take().
  void attach(zest::GenerateParams& params, bool streaming) {
    params.on_token = [self = shared_from_this()](const zest::TokenInfo&) {
      self->timed();
      return true;
    };
    if (streaming)
      params.on_text = [self = shared_from_this()](std::string_view piece) {
        self->push(piece);
        return true;
      };
  }

  // The text streamed since the last call, waiting up to `wait` for some.
  std::string take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, wait, [&] { return !pending_.empty(); });
    return std::exchange(pending_, {});
  }

 private:
  void timed() {
    const Clock::time_point now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    (first_ ? metrics_.time_to_first_token : metrics_.inter_token_latency).observe(seconds);
    first_ = false;
    last_ = now;
  }

  void push(std::string_view piece) {
    {
      std::lock_guard lock(mutex_);
      pending_ += piece;
    }
    arrived_.notify_one();
  }

  Metrics& metrics_;
  Clock::time_point last_;  // the request's arrival, then its last token's time (engine thread only)
  bool first_ = true;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::string pending_;
};

}  // namespace server
