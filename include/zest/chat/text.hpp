// Python's str semantics on UTF-8 text, as the Jinja engine needs them: code-point length and
// slicing, isspace/strip, case mapping, isprintable (for repr), float repr, split and splitlines.
#pragma once

#include <utf8proc.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zest/tokenizer/utf8.hpp"

namespace zest::detail::jinja {

inline bool is_ascii(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// Number of code points (Python's len(str)).
inline size_t code_points(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

inline std::u32string to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(utf8::next(s, i));
  return out;
}

inline std::string from_u32(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char32_t c : s) utf8::append(out, c);
  return out;
}

// str.isspace(): bidirectional classes WS, B, S and category Zs.
inline bool py_isspace(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// Line boundaries of str.splitlines().
inline bool py_is_linebreak(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
         c == 0x2028 || c == 0x2029;
}

// str.isprintable(): false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than the space.
inline bool py_isprintable(char32_t c) {
  if (c < 0x80) return c >= 0x20 && c < 0x7F;
  switch (utf8proc_category(utf8proc_int32_t(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}

inline bool py_isalnum(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  const auto cat = utf8proc_category(utf8proc_int32_t(c));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

inline bool py_isdigit(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return utf8proc_category(utf8proc_int32_t(c)) == UTF8PROC_CATEGORY_ND;
}

inline bool py_isalpha(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  const auto cat = utf8proc_category(utf8proc_int32_t(c));
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

// Cased characters (upper, lower or title case): what str.title() and capitalize() key on.
inline bool py_iscased(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  const auto cat = utf8proc_category(utf8proc_int32_t(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}
inline bool py_isupper_char(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z';
  return utf8proc_category(utf8proc_int32_t(c)) == UTF8PROC_CATEGORY_LU;
}
inline bool py_islower_char(char32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z';
  return utf8proc_category(utf8proc_int32_t(c)) == UTF8PROC_CATEGORY_LL;
}

// Simple (one-to-one) case mappings; Python's few one-to-many mappings (ß -> SS) are not made.
inline char32_t to_upper(char32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 32 : c;
  return char32_t(utf8proc_toupper(utf8proc_int32_t(c)));
}
inline char32_t to_lower(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  return char32_t(utf8proc_tolower(utf8proc_int32_t(c)));
}
inline char32_t to_title(char32_t c) {
  if (c < 0x80) return to_upper(c);
  return char32_t(utf8proc_totitle(utf8proc_int32_t(c)));
}

template <typename F>
std::string map_chars(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) utf8::append(out, f(utf8::next(s, i)));
  return out;
}

inline std::string py_upper(std::string_view s) { return map_chars(s, to_upper); }
inline std::string py_lower(std::string_view s) { return map_chars(s, to_lower); }

// str.title(): a cased character after an uncased one starts a word (title case), the rest lower.
inline std::string py_title(std::string_view s) {
  bool previous_cased = false;
  return map_chars(s, [&](char32_t c) {
    const char32_t r = previous_cased ? to_lower(c) : to_title(c);
    previous_cased = py_iscased(c);
    return r;
  });
}

// str.capitalize(): first character title case, the rest lower case.
inline std::string py_capitalize(std::string_view s) {
  bool first = true;
  return map_chars(s, [&](char32_t c) {
    const char32_t r = first ? to_title(c) : to_lower(c);
    first = false;
    return r;
  });
}

// str.strip([chars]) / lstrip / rstrip. `chars` empty and !has_chars: whitespace.
inline std::string_view py_strip(std::string_view s, bool left, bool right, const std::u32string* chars = nullptr) {
  const auto strip_it = [&](char32_t c) {
    if (!chars) return py_isspace(c);
    return chars->find(c) != std::u32string::npos;
  };
  size_t begin = 0, end = s.size();
  if (left)
    while (begin < end) {
      size_t next = begin;
      if (!strip_it(utf8::next(s, next))) break;
      begin = next;
    }
  if (right)
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t probe = start;
      if (!strip_it(utf8::next(s, probe))) break;
      end = start;
    }
  return s.substr(begin, end - begin);
}

// str.split(sep=None, maxsplit=-1).
inline std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  // Runs of whitespace separate; none at the ends.
  size_t i = 0;
  const auto skip_space = [&] {
    while (i < s.size()) {
      size_t next = i;
      if (!py_isspace(utf8::next(s, next))) break;
      i = next;
    }
  };
  skip_space();
  while (i < s.size()) {
    if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
      out.emplace_back(py_strip(s.substr(i), false, true));
      return out;
    }
    const size_t start = i;
    while (i < s.size()) {
      size_t next = i;
      if (py_isspace(utf8::next(s, next))) break;
      i = next;
    }
    out.emplace_back(s.substr(start, i - start));
    skip_space();
  }
  return out;
}

// str.rsplit(sep, maxsplit) with a separator.
inline std::vector<std::string> py_rsplit(std::string_view s, const std::string& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t end = s.size();
  while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
    if (end < sep.size()) break;
    const size_t at = s.rfind(sep, end - sep.size());
    if (at == std::string_view::npos) break;
    out.emplace_back(s.substr(at + sep.size(), end - at - sep.size()));
    end = at;
  }
  out.emplace_back(s.substr(0, end));
  return {out.rbegin(), out.rend()};
}

// str.splitlines() (keepends=False).
inline std::vector<std::string> py_splitlines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < s.size()) {
    size_t next = i;
    const char32_t c = utf8::next(s, next);
    if (py_is_linebreak(c)) {
      out.emplace_back(s.substr(start, i - start));
      if (c == '\r' && next < s.size() && s[next] == '\n') ++next;
      start = next;
    }
    i = next;
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

// str.replace(old, new, count).
inline std::string py_replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every character and at the end.
    int64_t done = 0;
    size_t i = 0;
    while (i <= s.size()) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i == s.size()) break;
      const size_t start = i;
      utf8::next(s, i);
      out += s.substr(start, i - start);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(from, start);
    if (at == std::string_view::npos) break;
    out += s.substr(start, at - start);
    out += to;
    start = at + from.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

// repr(float): the shortest digits that round-trip, fixed notation for exponents -4..15.
inline std::string py_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string_view sci(buf, size_t(r.ptr - buf));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (const char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exponent = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exponent);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(size_t(-exponent - 1), '0');
      out += digits;
    } else if (size_t(exponent) + 1 >= digits.size()) {
      out += digits;
      out.append(size_t(exponent) + 1 - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, size_t(exponent) + 1);
      out += '.';
      out += digits.substr(size_t(exponent) + 1);
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += 'e';
  out += exponent < 0 ? '-' : '+';
  const int a = exponent < 0 ? -exponent : exponent;
  if (a < 10) out += '0';
  out += std::to_string(a);
  return out;
}

// repr(str): single quotes unless the text has ' and no ", escapes for the unprintable.
inline void py_repr_string(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t c = utf8::next(s, i);
    if (c == char32_t(quote) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (py_isprintable(c)) {
      out += s.substr(start, i - start);
    } else if (c <= 0xFF) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c <= 0xFFFF) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += hex[(c >> shift) & 15];
    } else {
      out += "\\U";
      for (int shift = 28; shift >= 0; shift -= 4) out += hex[(c >> shift) & 15];
    }
  }
  out += quote;
}

}  // namespace zest::detail::jinja
