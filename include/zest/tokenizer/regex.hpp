// PCRE2 (JIT, UTF, UCP) for the regular expressions of Split and Replace, with Oniguruma's
// meaning of \s (Unicode White_Space) so that matches equal Hugging Face's.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"

namespace zest::detail {

class Regex {
 public:
  explicit Regex(std::string_view pattern) : pattern_(pattern) {
    const std::string translated = translate(pattern);
    int code = 0;
    PCRE2_SIZE where = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &code, &where, nullptr);
    if (!re) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      fail(Error::Kind::config, "invalid regular expression \"", pattern, "\" at offset ", where, ": ",
           reinterpret_cast<const char*>(message));
    }
    code_.reset(re);
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  }

  const std::string& pattern() const { return pattern_; }

  // Calls on_match(begin, end) for each leftmost non-overlapping match in valid UTF-8 `text`.
  template <typename F>
  void for_each_match(std::string_view text, F&& on_match) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), &pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE start = 0;
    while (start <= text.size()) {
      const int rc = pcre2_match(code_.get(), subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) fail(Error::Kind::input, "regular expression \"", pattern_, "\" failed with PCRE2 error ", rc);
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
      on_match(size_t(ov[0]), size_t(ov[1]));
      if (ov[1] > ov[0]) {
        start = ov[1];
      } else {  // an empty match: step over one character
        if (ov[1] >= text.size()) break;
        start = ov[1] + 1;
        while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
      }
    }
  }

 private:
  struct Free {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };

  // Oniguruma's \s is White_Space; PCRE2's (with UCP) also takes U+180E. Spell it out.
  static std::string translate(std::string_view p) {
    static constexpr std::string_view ws = R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
    std::string out;
    bool in_class = false;
    for (size_t i = 0; i < p.size(); ++i) {
      const char c = p[i];
      if (c == '\\' && i + 1 < p.size()) {
        const char e = p[i + 1];
        if (e == 's') {
          out += in_class ? std::string(ws) : "[" + std::string(ws) + "]";
        } else if (e == 'S' && !in_class) {
          out += "[^" + std::string(ws) + "]";
        } else {
          out += c;
          out += e;
        }
        ++i;
        continue;
      }
      if (c == '[' && !in_class) {
        in_class = true;
        out += c;
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
        if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // a literal ] first in a class
        continue;
      }
      if (c == ']' && in_class) in_class = false;
      out += c;
    }
    return out;
  }

  std::string pattern_;
  std::unique_ptr<pcre2_code, Free> code_;
};

}  // namespace zest::detail
