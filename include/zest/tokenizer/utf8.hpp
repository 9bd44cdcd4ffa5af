// UTF-8: decoding one character, validating a whole text, encoding a code point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "zest/error.hpp"

namespace zest::detail::utf8 {

// Length of the character that starts with byte `lead` (1 for stray continuation bytes).
inline size_t char_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Decodes the (valid) character at s[i], advancing i past it.
inline char32_t next(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  char32_t cp;
  if (lead < 0x80) {
    cp = lead;
    i += 1;
  } else if (lead < 0xE0) {
    cp = (char32_t(lead & 0x1F) << 6) | (b(1) & 0x3F);
    i += 2;
  } else if (lead < 0xF0) {
    cp = (char32_t(lead & 0x0F) << 12) | (char32_t(b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    i += 3;
  } else {
    cp = (char32_t(lead & 0x07) << 18) | (char32_t(b(1) & 0x3F) << 12) | (char32_t(b(2) & 0x3F) << 6) |
         (b(3) & 0x3F);
    i += 4;
  }
  return cp;
}

// The code point starting at byte i (valid UTF-8).
inline char32_t at(std::string_view s, size_t i) { return next(s, i); }

// Byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
inline size_t find_invalid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: the common case.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    char32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    char32_t cp = c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Appends the UTF-8 encoding of cp.
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

inline std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

// Replaces every invalid sequence by U+FFFD (one per maximal invalid prefix, like
// String::from_utf8_lossy).
inline std::string replace_invalid(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const size_t bad = find_invalid(s);
    if (bad == std::string_view::npos) {
      out += s;
      break;
    }
    out += s.substr(0, bad);
    out += "\xEF\xBF\xBD";
    // Skip the maximal prefix of a valid sequence (at least one byte), as WHATWG/Rust do.
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t k = bad + 1;
    const unsigned char c = p[bad];
    const size_t len = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 1;
    for (size_t j = 1; j < len && k < s.size(); ++j, ++k) {
      const unsigned char d = p[k];
      unsigned char lo = 0x80, hi = 0xBF;
      if (j == 1) {
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
      }
      if (d < lo || d > hi) break;
    }
    s.remove_prefix(k);
  }
  return out;
}

// Throws a zest::Error naming the byte offset of the first invalid sequence in `s`.
inline void check(std::string_view s, std::string_view what) {
  const size_t bad = find_invalid(s);
  if (bad != std::string_view::npos) {
    fail(Error::Kind::input, what, ": invalid UTF-8 at byte offset ", bad, " (byte 0x", std::hex,
         int(static_cast<unsigned char>(s[bad])), ")");
  }
}

}  // namespace zest::detail::utf8
