// A piece of text on its way through the pipeline, with (optionally) where each of its bytes
// came from in the caller's original text, so that tokens can report offsets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

struct Span {
  uint32_t begin = 0, end = 0;
};

struct Normalized {
  std::string text;
  std::vector<Span> align;  // one per byte of text when tracking offsets, else empty
  bool tracked = false;
  bool at_start = true;  // the piece starts at the beginning of the original text

  static Normalized original(std::string_view text, uint32_t base, bool track) {
    Normalized n{std::string(text), {}, track, base == 0};
    if (track) {
      n.align.reserve(text.size());
      size_t i = 0;
      while (i < text.size()) {
        const size_t len = utf8::char_length(static_cast<unsigned char>(text[i]));
        for (size_t k = 0; k < len; ++k)
          n.align.push_back({uint32_t(base + i), uint32_t(base + i + len)});
        i += len;
      }
    }
    return n;
  }

  // The original span of bytes [begin, end) of text.
  Span span(size_t begin, size_t end) const {
    if (!tracked || begin >= end) return {};
    return {align[begin].begin, align[end - 1].end};
  }

  Normalized slice(size_t begin, size_t end) const {
    Normalized n{text.substr(begin, end - begin), {}, tracked, at_start};
    if (tracked) n.align.assign(align.begin() + begin, align.begin() + end);
    if (begin > 0) n.at_start = at_start && tracked && align[begin].begin == 0;
    return n;
  }
};

// Builds a new Normalized, character by character, from an old one.
class Rebuilder {
 public:
  explicit Rebuilder(const Normalized& from) : tracked_(from.tracked) {
    out_.tracked = tracked_;
    out_.at_start = from.at_start;
    out_.text.reserve(from.text.size() + 8);
    if (tracked_) out_.align.reserve(from.text.size() + 8);
  }

  // Appends UTF-8 `s` as coming from original span `from`.
  void push(std::string_view s, Span from) {
    out_.text += s;
    if (tracked_) out_.align.insert(out_.align.end(), s.size(), from);
  }
  void push(char32_t c, Span from) {
    const size_t before = out_.text.size();
    utf8::append(out_.text, c);
    if (tracked_) out_.align.insert(out_.align.end(), out_.text.size() - before, from);
  }

  Normalized take() { return std::move(out_); }

 private:
  bool tracked_;
  Normalized out_;
};

// The original span of the character at bytes [i, i+len) of n.
inline Span char_span(const Normalized& n, size_t i, size_t len) {
  return n.tracked ? n.span(i, i + len) : Span{};
}

}  // namespace zest::detail
