// A strict JSON reader (RFC 8259, UTF-8) that drives an nlohmann SAX handler, faster than
// nlohmann's own lexer on tokenizer.json's long runs of short strings (the figures are beside
// its use, in json_loader.hpp). It accepts
// no more than nlohmann does; on anything unusual (bad JSON, a byte-order mark, numbers out of
// range, nesting over max_depth) it returns false and the caller parses the plain way, which
// also words the error.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

template <typename Sax>
class JsonReader {
 public:
  static constexpr int max_depth = 256;

  JsonReader(std::string_view text, Sax& sax) : p_(text.data()), end_(text.data() + text.size()), sax_(sax) {}

  // One value and nothing after it but whitespace.
  bool parse() {
    skip_space();
    if (!value(0)) return false;
    skip_space();
    return p_ == end_;
  }

 private:
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string(text_) && sax_.string(text_);
      case 't': return word("true") && sax_.boolean(true);
      case 'f': return word("false") && sax_.boolean(false);
      case 'n': return word("null") && sax_.null();
      default: return number();
    }
  }

  bool object(int depth) {
    ++p_;
    if (depth > max_depth || !sax_.start_object(size_t(-1))) return false;
    skip_space();
    if (p_ < end_ && *p_ == '}') return ++p_, sax_.end_object();
    while (true) {
      skip_space();
      if (p_ == end_ || *p_ != '"' || !string(text_) || !sax_.key(text_)) return false;
      skip_space();
      if (p_ == end_ || *p_++ != ':') return false;
      skip_space();
      if (!value(depth)) return false;
      skip_space();
      if (p_ == end_) return false;
      const char c = *p_++;
      if (c == '}') return sax_.end_object();
      if (c != ',') return false;
    }
  }

  bool array(int depth) {
    ++p_;
    if (depth > max_depth || !sax_.start_array(size_t(-1))) return false;
    skip_space();
    if (p_ < end_ && *p_ == ']') return ++p_, sax_.end_array();
    while (true) {
      skip_space();
      if (!value(depth)) return false;
      skip_space();
      if (p_ == end_) return false;
      const char c = *p_++;
      if (c == ']') return sax_.end_array();
      if (c != ',') return false;
    }
  }

  // A string at p_ (on its opening quote) into out: runs of plain bytes copied whole.
  bool string(std::string& out) {
    ++p_;
    out.clear();
    while (true) {
      const char* run = p_;
      while (p_ < end_ && static_cast<unsigned char>(*p_) >= 0x20 && *p_ != '"' && *p_ != '\\') ++p_;
      const std::string_view plain(run, size_t(p_ - run));
      if (utf8::find_invalid(plain) != std::string_view::npos) return false;
      out.append(plain);
      if (p_ == end_) return false;
      if (*p_ == '"') return ++p_, true;
      if (*p_ != '\\' || ++p_ == end_) return false;  // a control character, or a cut escape
      switch (*p_++) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          char32_t c;
          if (!hex4(c) || (c >= 0xDC00 && c <= 0xDFFF)) return false;
          if (c >= 0xD800 && c <= 0xDBFF) {  // a high surrogate: its low one must follow
            char32_t low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8::append(out, c);
          break;
        }
        default: return false;
      }
    }
  }

  bool hex4(char32_t& c) {
    if (end_ - p_ < 4) return false;
    c = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = *p_++;
      const int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (v < 0) return false;
      c = c << 4 | char32_t(v);
    }
    return true;
  }

  // As nlohmann: integers as int64 (negative) or uint64, other numbers (and integers too
  // large for those) as finite doubles.
  bool number() {
    const char* start = p_;
    auto digits = [&] {
      const char* from = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ > from;
    };
    const bool negative = p_ < end_ && *p_ == '-';
    if (negative) ++p_;
    if (p_ < end_ && *p_ == '0') ++p_;
    else if (p_ == end_ || *p_ < '1' || *p_ > '9' || !digits()) return false;
    bool integral = true;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      integral = false;
      if (!digits()) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      integral = false;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    if (integral) {
      if (negative) {
        int64_t v;
        if (std::from_chars(start, p_, v).ec == std::errc()) return sax_.number_integer(v);
      } else {
        uint64_t v;
        if (std::from_chars(start, p_, v).ec == std::errc()) return sax_.number_unsigned(v);
      }
    }
    double d;
    const auto r = std::from_chars(start, p_, d);
    if (r.ec != std::errc() || r.ptr != p_ || !std::isfinite(d)) return false;
    number_.assign(start, p_);
    return sax_.number_float(d, number_);
  }

  bool word(std::string_view w) {
    if (size_t(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }

  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  const char* p_;
  const char* end_;
  Sax& sax_;
  std::string text_, number_;  // the current string, number
};

}  // namespace zest::detail
