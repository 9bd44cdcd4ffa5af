// The batching engine's scheduler: one step() advances every running sequence by a token, in one
// batched forward pass (DecoderModel::forward_batch), and prefills the prompts of the sequences
// still reading them: while others are generating, up to prefill_chunk tokens a step (chunked
// prefill: a long prompt delays the others' next tokens by one chunk a step, not by its whole
// length). Sequences take KV
// blocks from one pool as they grow: a prompt's blocks at admission (after the prefix cache's
// share), one more each time a sequence crosses into a new block. Admission waits while the
// pool lacks the blocks; a sequence that needs a block when none is left preempts the newest
// sequence, which frees its blocks and later recomputes its tokens (vLLM's recompute
// preemption), so a full pool delays work but never fails or corrupts it.
// Only the engine's thread calls it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "zest/generate/sequence.hpp"
#include "zest/models/decoder.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/serve/block_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest::detail {

using Clock = std::chrono::steady_clock;

// A submitted request, shared by the caller's handle and the scheduler.
struct RequestState {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  GenerateParams params;
  std::optional<SequenceDecoding> decoding;  // made on the caller's thread: it checks the params
  std::atomic<bool> cancelled{false};
  std::promise<Generation> promise;
  std::shared_future<Generation> future = promise.get_future().share();
  Clock::time_point submitted = Clock::now();
};

struct SchedulerCounters {
  uint64_t finished = 0, prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0, preemptions = 0, steps = 0;
};

class Scheduler {
 public:
  struct Options {
    size_t blocks = 0, max_batch = 64, prefill_chunk = 256;
    bool prefix_caching = true;
  };

  Scheduler(const DecoderModel& model, const Tokenizer* tokenizer, ThreadPool& pool, const Options& options)
      : model_(model), tokenizer_(tokenizer), pool_(pool), options_(options), cache_(kv_shape(model), options.blocks),
        blocks_(options.blocks), scratch_(model) {
    // Rotary tables that follow the sequence's length (dynamic NTK, LongRoPE) make a block's keys
    // depend on more than its prefix: such models recompute every prompt.
    for (const auto& rope : model.config().ropes)
      if (rope.type == RopeType::dynamic || rope.type == RopeType::longrope) options_.prefix_caching = false;
    logits_.resize(options_.max_batch * model.vocab_size());
  }

  // Positions a request may hold at most: the pool's.
  size_t max_positions() const { return blocks_.size() * kKvBlock; }

  void add(std::shared_ptr<RequestState> request) {
    auto s = std::make_unique<Sequence>(model_, cache_, std::move(request));
    s->tokens = s->request->prompt;
    waiting_.push_back(std::move(s));
  }

  bool idle() const { return waiting_.empty() && running_.empty(); }
  size_t waiting() const { return waiting_.size(); }
  size_t running() const { return running_.size(); }
  const BlockPool& blocks() const { return blocks_; }
  const SchedulerCounters& counters() const { return counters_; }

  // Ends every request with what it has (StopReason::cancelled).
  void cancel_all() {
    for (auto* queue : {&running_, &waiting_})
      while (!queue->empty()) end(*queue, queue->size() - 1, StopReason::cancelled);
  }

  // Fulfils the promises of the requests that ended since the last call. The engine calls it
  // after publishing its stats, so that a thread woken by Request::wait reads counters that
  // include its request.
  void settle() {
    for (Ended& e : ended_)
      if (e.error) e.request->promise.set_exception(e.error);
      else e.request->promise.set_value(std::move(e.result));
    ended_.clear();
  }

  void step() {
    ++counters_.steps;
    drop_cancelled();
    admit();
    decode();
    prefill();
  }

 private:
  struct Sequence {
    Sequence(const DecoderModel& model, KvBlocks& cache, std::shared_ptr<RequestState> r)
        : request(std::move(r)), state(model, cache) {}
    std::shared_ptr<RequestState> request;
    DecoderState state;
    std::vector<int32_t> tokens;   // the prompt, then each generated id: the cache holds all but the last
    bool sampling = false;         // prefilled: each step runs the last token and samples the next
    size_t published = 0;         // leading blocks offered to the prefix cache
    bool counted_cache = false;    // its first admission's prefix hits are in the timings
    std::exception_ptr error;      // what ended it, when its callback or a pass threw
    Timings timings;
    Clock::time_point first_token;
  };
  using Queue = std::deque<std::unique_ptr<Sequence>>;

  void drop_cancelled() {
    for (auto* queue : {&running_, &waiting_})
      for (size_t i = queue->size(); i-- > 0;)
        if ((*queue)[i]->request->cancelled.load(std::memory_order_relaxed)) end(*queue, i, StopReason::cancelled);
  }

  // Moves waiting sequences into the batch while the pool has their blocks (the prefix cache's,
  // and new ones for the rest of their tokens) and one to spare for the running ones' growth.
  void admit() {
    while (!waiting_.empty() && running_.size() < options_.max_batch) {
      Sequence& s = *waiting_.front();
      const size_t n = s.tokens.size();
      // At least the last token is computed: its logits pick the next one.
      std::vector<int32_t> shared = options_.prefix_caching ? blocks_.match(s.tokens, (n - 1) / kKvBlock) : std::vector<int32_t>{};
      const size_t needed = (n + kKvBlock - 1) / kKvBlock - shared.size();
      if (blocks_.available() < needed + (running_.empty() ? 0 : 1)) {
        blocks_.release_all(shared);
        break;
      }
      for (int32_t id : shared) s.state.add_block(id);
      for (size_t i = 0; i < needed; ++i) s.state.add_block(blocks_.allocate());
      s.state.adopt(std::span(s.tokens).first(shared.size() * kKvBlock));
      s.published = shared.size();
      if (!s.counted_cache) {
        s.timings.cached_tokens = shared.size() * kKvBlock;
        counters_.cached_prompt_tokens += s.timings.cached_tokens;
        s.counted_cache = true;
      }
      running_.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
  }

  // One token for every sampling sequence, in one pass.
  void decode() {
    batch_.clear();
    for (size_t i = 0; i < running_.size(); ++i) {
      Sequence& s = *running_[i];
      if (!s.sampling) continue;
      if (s.state.length() + 1 > s.state.capacity() && !grow(i)) break;  // it was preempted, with all newer ones
      batch_.push_back(&s);
    }
    if (batch_.empty()) return;
    states_.clear(), ids_.clear();
    for (Sequence* s : batch_) states_.push_back(&s->state), ids_.push_back(s->tokens.back());
    try {
      model_.forward_batch(states_, ids_, std::span(logits_).first(batch_.size() * model_.vocab_size()), scratch_, pool_);
    } catch (...) {
      fail_batch(std::current_exception());
      return;
    }
    for (size_t r = 0; r < batch_.size(); ++r) {
      Sequence& s = *batch_[r];
      ++s.timings.decode_steps;
      publish_full_blocks(s);
      sample(s, std::span(logits_).subspan(r * model_.vocab_size(), model_.vocab_size()));
    }
    remove_finished();
  }

  // Gives running_[i] one more block, preempting the newest sequences while none is free.
  // False when running_[i] itself was preempted.
  bool grow(size_t i) {
    int32_t id;
    while ((id = blocks_.allocate()) < 0) {
      const bool self = running_.size() - 1 == i;
      preempt_newest();
      if (self) return false;
    }
    running_[i]->state.add_block(id);
    return true;
  }

  void preempt_newest() {
    std::unique_ptr<Sequence> s = std::move(running_.back());
    running_.pop_back();
    blocks_.release_all(s->state.release_blocks());
    s->sampling = false;
    s->published = 0;
    ++counters_.preemptions;
    waiting_.push_front(std::move(s));
  }

  // The prompts of the sequences reading them, oldest first: up to prefill_chunk tokens while
  // others wait for their next token, all of them when none does (requests that arrive together
  // start decoding together, none of them slowed by the others' prompts). The sequences whose
  // prompts are in pick their first tokens after the step's last prompt, so that no stream's
  // first inter-token gap holds the prefill of the prompts after its own.
  void prefill() {
    const bool decoding = std::any_of(running_.begin(), running_.end(), [](const auto& s) { return s->sampling; });
    size_t budget = decoding ? options_.prefill_chunk : SIZE_MAX;
    prefilled_.clear();  // row r of logits_ holds prefilled_[r]'s last logits
    for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
      Sequence& s = *running_[i];
      if (s.sampling || s.request->cancelled.load(std::memory_order_relaxed)) continue;
      const size_t end = s.tokens.size(), n = std::min(budget, end - s.state.length());
      const bool last = s.state.length() + n == end;
      std::span<float> logits = last ? std::span(logits_).subspan(prefilled_.size() * model_.vocab_size(), model_.vocab_size())
                                     : std::span<float>{};
      try {
        model_.forward_part(s.state, std::span(s.tokens).subspan(s.state.length(), n), end, logits, scratch_, pool_);
      } catch (...) {
        end_with_error(s, std::current_exception());
        continue;
      }
      budget -= n;
      s.timings.prompt_tokens += n;
      counters_.prompt_tokens += n;
      publish_full_blocks(s);
      if (last) prefilled_.push_back(&s);
    }
    for (size_t r = 0; r < prefilled_.size(); ++r) {
      prefilled_[r]->sampling = true;
      sample(*prefilled_[r], std::span(logits_).subspan(r * model_.vocab_size(), model_.vocab_size()));
    }
    remove_finished();
  }

  // Offers the prefix cache the sequence's blocks that its cached positions fill.
  void publish_full_blocks(Sequence& s) {
    if (!options_.prefix_caching) return;
    const auto table = s.state.blocks();
    for (; (s.published + 1) * kKvBlock <= s.state.length(); ++s.published)
      blocks_.publish(table[s.published], s.published ? table[s.published - 1] : -1,
                      std::span(s.tokens).subspan(s.published * kKvBlock, kKvBlock));
  }

  // The next token from the last position's logits; the sequence may end there.
  void sample(Sequence& s, std::span<float> logits) {
    try {
      const auto [next, done] = s.request->decoding->step(logits);
      const auto now = Clock::now();
      if (s.request->decoding->result().ids.size() == 1) {
        s.first_token = now;
        s.timings.prefill_s = std::chrono::duration<double>(now - s.request->submitted).count();
      }
      s.timings.decode_s = std::chrono::duration<double>(now - s.first_token).count();
      ++counters_.generated_tokens;
      s.tokens.push_back(next);
      if (done) finished_.push_back(&s);
    } catch (...) {
      end_with_error(s, std::current_exception());
    }
  }

  void remove_finished() {
    for (Sequence* s : finished_)
      for (size_t i = 0; i < running_.size(); ++i)
        if (running_[i].get() == s) {
          end(running_, i, std::nullopt);
          break;
        }
    finished_.clear();
  }

  // A sequence whose callback or pass threw ends with the exception.
  void end_with_error(Sequence& s, std::exception_ptr error) {
    s.error = error;
    finished_.push_back(&s);
  }

  void fail_batch(std::exception_ptr error) {
    for (Sequence* s : batch_) end_with_error(*s, error);
    remove_finished();
  }

  // Removes queue[i], returns its blocks and keeps its result for settle(): the Generation, its
  // stop reason overridden by `reason` when given, or its error.
  void end(Queue& queue, size_t i, std::optional<StopReason> reason) {
    std::unique_ptr<Sequence> s = std::move(queue[i]);
    queue.erase(queue.begin() + ptrdiff_t(i));
    blocks_.release_all(s->state.release_blocks());
    ++counters_.finished;
    Ended& e = ended_.emplace_back(Ended{s->request, {}, s->error});
    if (e.error) return;
    e.result = std::move(s->request->decoding->result());
    if (reason) e.result.stop_reason = *reason;
    e.result.timings = s->timings;
  }

  struct Ended {
    std::shared_ptr<RequestState> request;
    Generation result;
    std::exception_ptr error;
  };

  const DecoderModel& model_;
  const Tokenizer* tokenizer_;
  ThreadPool& pool_;
  Options options_;
  KvBlocks cache_;
  BlockPool blocks_;
  DecoderScratch scratch_;
  Queue waiting_, running_;  // admission order: the newest last
  std::vector<Sequence*> batch_, finished_, prefilled_;
  std::vector<DecoderState*> states_;
  std::vector<int32_t> ids_;
  std::vector<float> logits_;
  std::vector<Ended> ended_;  // since the last settle()
  SchedulerCounters counters_;
};

}  // namespace zest::detail
