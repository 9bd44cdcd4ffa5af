// zest::Session: one sequence whose KV cache outlives a call, so that a conversation's next turn
// (or any text that extends a long shared prefix) prefills only its new tokens. Pipeline runs it:
// generate/generate_ids/chat with a Session continue it; rewind() goes back to a shorter prefix.
// The cache grows as the sequence does, up to the model's maximum length. A Session is one
// sequence: use it from one thread at a time (the Pipeline itself may serve many sessions).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "zest/models/decoder.hpp"

namespace zest {

class Pipeline;

class Session {
 public:
  // Every id of the sequence so far: prompts and generated ids, in order.
  std::span<const int32_t> ids() const { return ids_; }
  size_t length() const { return ids_.size(); }
  // Positions whose keys and values are in the cache (the last generated id is not, until the
  // next call runs it).
  size_t cached() const { return state_.length(); }
  // Keeps the first `length` ids (and their cache) and forgets the rest.
  void rewind(size_t length) {
    ids_.resize(std::min(length, ids_.size()));
    state_.truncate(ids_.size());
  }
  void reset() { rewind(0); }

 private:
  friend class Pipeline;
  // 256 positions to start, the cache doubling when a call needs more.
  static constexpr size_t kInitialCapacity = 256;

  explicit Session(std::shared_ptr<const detail::DecoderModel> model)
      : model_(std::move(model)), state_(*model_, std::min(kInitialCapacity, model_->config().max_sequence_length())) {}

  std::shared_ptr<const detail::DecoderModel> model_;  // the Pipeline's: a session runs on no other
  detail::DecoderState state_;
  std::vector<int32_t> ids_;
};

}  // namespace zest
