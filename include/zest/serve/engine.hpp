// zest::Engine: many requests at once over one decoder Pipeline. Any thread submits a prompt
// and gets a Request: the text streams through GenerateParams::on_text / on_token (called on the
// engine's thread, so keep them short), wait() returns the Generation, cancel() ends it early.
// One scheduler thread runs steps (zest/serve/scheduler.hpp): every running sequence's next
// token in one batched forward pass, which reads each weight once for the whole batch, beside a
// chunk of the new prompts' prefill. The KV cache is one pool of 64-position blocks
// (EngineOptions::kv_cache_bytes) shared out as sequences grow, and prompts that start alike
// share their leading blocks (prefix caching). Greedy results equal Pipeline::generate's.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/sequence.hpp"
#include "zest/pipeline.hpp"
#include "zest/serve/scheduler.hpp"

namespace zest {

struct EngineOptions {
  // The KV cache's size, shared by all sequences in blocks of 64 positions
  // (Pipeline::kv_bytes_per_position() each). 0: 8,192 positions, or one sequence of the model's
  // maximum length if that is more.
  size_t kv_cache_bytes = 0;
  size_t max_batch = 64;        // sequences generating at once; more wait their turn
  size_t prefill_chunk = 256;   // prompt tokens prefilled per step, beside the batch's tokens
  size_t max_waiting = 0;       // requests queued beyond the batch before submit throws Error::Kind::busy; 0: no limit
  bool prefix_caching = true;
};

struct EngineStats {
  size_t waiting = 0, running = 0;                       // requests queued, and in the batch
  size_t kv_blocks = 0, kv_blocks_used = 0, kv_blocks_cached = 0;
  uint64_t submitted = 0, finished = 0;
  uint64_t prompt_tokens = 0, cached_prompt_tokens = 0;  // prefilled, and taken from the prefix cache
  uint64_t generated_tokens = 0, preemptions = 0, steps = 0;
};

// A submitted request's handle; copies share it.
class Request {
 public:
  // Waits for the end and returns the Generation; rethrows what ended the request otherwise
  // (an on_text callback's exception, for one).
  Generation wait() const { return future().get(); }
  const std::shared_future<Generation>& future() const { return state_->future; }
  bool done() const { return future().wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
  // Ends the request at the engine's next step with what it has (StopReason::cancelled).
  void cancel() const { state_->cancelled = true; }
  uint64_t id() const { return state_->id; }

 private:
  friend class Engine;
  explicit Request(std::shared_ptr<detail::RequestState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::RequestState> state_;
};

class Engine {
 public:
  explicit Engine(const Pipeline& pipeline, const EngineOptions& options = {})
      : pipeline_(pipeline), options_(options) {
    const auto& model = *pipeline_.cpu_model_ptr("the batching Engine");
    if (options.max_batch == 0) detail::fail(Error::Kind::input, "EngineOptions::max_batch must be > 0");
    if (options.prefill_chunk == 0) detail::fail(Error::Kind::input, "EngineOptions::prefill_chunk must be > 0");
    const size_t block_bytes = model.kv_bytes_per_position() * detail::kKvBlock;
    size_t bytes = options.kv_cache_bytes;
    if (bytes == 0) bytes = std::max<size_t>(8192, pipeline_.max_length() + detail::kKvBlock) * model.kv_bytes_per_position();
    const size_t blocks = bytes / block_bytes;
    if (blocks == 0)
      detail::fail(Error::Kind::input, "EngineOptions::kv_cache_bytes = ", bytes, " holds no block of 64 positions (",
                   block_bytes, " bytes for this model)");
    scheduler_ = std::make_unique<detail::Scheduler>(
        model, pipeline_.tokenizer_.get(), *pipeline_.pool_,
        detail::Scheduler::Options{blocks, options.max_batch, options.prefill_chunk, options.prefix_caching});
    thread_ = std::thread([this] { loop(); });
  }

  // Ends every request still running (StopReason::cancelled) and stops the engine's thread.
  ~Engine() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The prompt encoded with the tokenizer's special tokens, as Pipeline::generate does.
  Request submit(std::string_view prompt, const GenerateParams& params) {
    return submit_ids(pipeline_.tokenizer().encode(prompt, /*add_special_tokens=*/true), params);
  }
  Request submit_ids(std::span<const int32_t> prompt, const GenerateParams& params) {
    return enqueue(prompt, params, pipeline_.generation_config_.eos_token_ids);
  }
  // A conversation through the model's chat template, as Pipeline::chat answers it.
  Request submit_chat(const nlohmann::ordered_json& messages, const GenerateParams& params, const ChatOptions& options = {}) {
    const auto ids = pipeline_.tokenizer().encode(pipeline_.apply_chat_template(messages, options));
    return enqueue(ids, params, pipeline_.chat_eos_ids_);
  }

  EngineStats stats() const {
    std::lock_guard lock(mutex_);
    EngineStats s = stats_;
    s.waiting += incoming_.size();
    return s;
  }
  const Pipeline& pipeline() const { return pipeline_; }

 private:
  Request enqueue(std::span<const int32_t> prompt, const GenerateParams& params, std::span<const int32_t> eos_ids) {
    detail::validate(params);
    const auto& model = *pipeline_.model_;
    if (prompt.empty()) detail::fail(Error::Kind::input, "the prompt has no tokens");
    for (int32_t id : prompt)
      if (id < 0 || size_t(id) >= model.vocab_size())
        detail::fail(Error::Kind::input, "token id ", id, " is outside the vocabulary of ", model.vocab_size());
    // The last new token is never run: the cache holds prompt + max_new_tokens - 1 positions.
    const size_t total = prompt.size() + size_t(params.max_new_tokens);
    if (total > pipeline_.max_length())
      detail::fail(Error::Kind::input, "the prompt's ", prompt.size(), " tokens + max_new_tokens ", params.max_new_tokens,
                   " exceed the model's maximum length of ", pipeline_.max_length());
    if (total - 1 > scheduler_->max_positions())
      detail::fail(Error::Kind::input, "the prompt's ", prompt.size(), " tokens + max_new_tokens ", params.max_new_tokens,
                   " need more KV cache than the engine's ", scheduler_->max_positions(), " positions (kv_cache_bytes)");
    auto request = std::make_shared<detail::RequestState>();
    request->prompt.assign(prompt.begin(), prompt.end());
    request->params = params;
    request->decoding.emplace(params, pipeline_.tokenizer_.get(), prompt, eos_ids, model.vocab_size());
    {
      std::lock_guard lock(mutex_);
      if (stop_) detail::fail(Error::Kind::input, "the engine is stopping");
      if (options_.max_waiting && stats_.waiting + incoming_.size() >= options_.max_waiting &&
          stats_.running + incoming_.size() >= options_.max_batch)
        detail::fail(Error::Kind::busy, "the engine's queue is full (", options_.max_waiting, " requests waiting)");
      request->id = ++stats_.submitted;
      incoming_.push_back(request);
    }
    wake_.notify_one();
    return Request(std::move(request));
  }

  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || !incoming_.empty() || !scheduler_->idle(); });
        if (scheduler_->idle()) gather_burst(lock);
        for (auto& r : incoming_) scheduler_->add(std::move(r));
        incoming_.clear();
        if (stop_) break;
      }
      scheduler_->step();
      publish_stats();
      scheduler_->settle();
    }
    scheduler_->cancel_all();
    publish_stats();
    scheduler_->settle();
  }

  // An idle engine woken by a request waits while more keep arriving (each within kBurstGap of
  // the last, kBurstLimit at most), so that requests sent together are prefilled in one step.
  // Started at once, the first step would take the cores from the submitting threads, and the
  // rest of the burst would join step by step, each prompt's prefill stalling the tokens of
  // those already running (gpt2-small int8, 8 requests at once: inter-token p99 30 ms, from
  // the prefills of the late ones). One thread's 16 submissions in a loop came up to 1 ms apart:
  // the gap allows 2 ms, which a lone request pays once in its time to first token.
  void gather_burst(std::unique_lock<std::mutex>& lock) {
    constexpr std::chrono::microseconds kBurstGap(2000), kBurstLimit(10000);
    const auto deadline = std::chrono::steady_clock::now() + kBurstLimit;
    for (size_t seen = incoming_.size(); !stop_ && std::chrono::steady_clock::now() < deadline; seen = incoming_.size())
      if (!wake_.wait_for(lock, kBurstGap, [&] { return stop_ || incoming_.size() != seen; })) break;
  }

  void publish_stats() {
    const auto& blocks = scheduler_->blocks();
    const auto& c = scheduler_->counters();
    std::lock_guard lock(mutex_);
    stats_.waiting = scheduler_->waiting();
    stats_.running = scheduler_->running();
    stats_.kv_blocks = blocks.size();
    stats_.kv_blocks_used = blocks.in_use();
    stats_.kv_blocks_cached = blocks.cached();
    stats_.finished = c.finished;
    stats_.prompt_tokens = c.prompt_tokens;
    stats_.cached_prompt_tokens = c.cached_prompt_tokens;
    stats_.generated_tokens = c.generated_tokens;
    stats_.preemptions = c.preemptions;
    stats_.steps = c.steps;
  }

  Pipeline pipeline_;  // shares the loaded model and tokenizer
  EngineOptions options_;
  std::unique_ptr<detail::Scheduler> scheduler_;  // the engine thread's alone
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<detail::RequestState>> incoming_;
  EngineStats stats_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace zest
