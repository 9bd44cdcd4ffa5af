// StopStringMatcher: finds stop strings in streamed text, also when one spans several tokens'
// pieces, and says how much of the text can be emitted without showing part of a stop string.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"

namespace zest::detail {

class StopStringMatcher {
 public:
  struct Step {
    std::string_view emit;  // text now safe to show; valid until the next push() or flush()
    bool stopped = false;   // a stop string completed: generation ends, emit ends before it
  };

  // Throws Error(input) for an empty stop string or one starting inside a UTF-8 character.
  explicit StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
    for (const std::string& s : stops_) {
      if (s.empty()) detail::fail(Error::Kind::input, "stop strings must not be empty");
      if ((static_cast<unsigned char>(s[0]) & 0xC0) == 0x80)
        detail::fail(Error::Kind::input, "stop string \"", s, "\" starts inside a UTF-8 character");
      longest_ = std::max(longest_, s.size());
    }
    held_.reserve(4 * longest_ + 64);
    out_.reserve(4 * longest_ + 64);
  }

  // Adds the next piece of decoded text. The stop string that completes first (the earliest end;
  // the longest among those ending together) wins, so the result does not depend on how the text
  // was cut into pieces. Text from a stop string on is never emitted.
  Step push(std::string_view piece) {
    out_.clear();
    if (matched_) return {out_, true};
    held_.append(piece);
    size_t best_end = std::string::npos, best_begin = 0;
    for (size_t i = 0; i < stops_.size(); ++i) {
      const size_t at = held_.find(stops_[i]);
      if (at == std::string::npos) continue;
      const size_t end = at + stops_[i].size();
      if (end < best_end || (end == best_end && at < best_begin)) {
        best_end = end;
        best_begin = at;
        matched_ = i;
      }
    }
    if (matched_) {
      out_.assign(held_, 0, best_begin);
      held_.clear();
      return {out_, true};
    }
    const size_t keep = partial_match(held_);
    out_.assign(held_, 0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return {out_, false};
  }

  // The text held back as a possible start of a stop string, for when generation ends without
  // one (end of sequence, length limit).
  std::string_view flush() {
    out_.swap(held_);
    held_.clear();
    return out_;
  }

  // Which stop string (an index into the constructor's list) ended generation, if one did.
  std::optional<size_t> matched() const { return matched_; }

 private:
  // Length of the longest suffix of `text` that is a proper prefix of some stop string.
  size_t partial_match(std::string_view text) const {
    if (stops_.empty()) return 0;
    for (size_t len = std::min(text.size(), longest_ - 1); len > 0; --len) {
      const std::string_view tail = text.substr(text.size() - len);
      for (const std::string& s : stops_)
        if (s.size() > len && std::string_view(s).substr(0, len) == tail) return len;
    }
    return 0;
  }

  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string held_;  // text not yet emitted: a possible start of a stop string
  std::string out_;   // what the last call returned
  std::optional<size_t> matched_;
};

}  // namespace zest::detail
