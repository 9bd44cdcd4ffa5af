// Character classes and case/normalization forms, as Hugging Face tokenizers defines them.
// Classes HF takes from its own crates come from the measured tables in unicode_tables.hpp;
// general categories and the NF* forms come from utf8proc.
#pragma once

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "zest/error.hpp"
#include "zest/tokenizer/unicode_tables.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail::unicode {

template <size_t N>
bool in_ranges(const unicode_tables::CodeRange (&table)[N], char32_t cp) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                    [](char32_t c, const unicode_tables::CodeRange& r) { return c < r.first; });
  return it != std::begin(table) && cp <= (it - 1)->last;
}

// Unicode White_Space (Rust's char::is_whitespace, Oniguruma's \s).
inline bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

inline utf8proc_category_t category(char32_t c) {
  return utf8proc_category(utf8proc_int32_t(c));
}

inline bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

inline bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

// Rust's char::is_numeric (Nd, Nl, No), used by the Digits pre-tokenizer.
inline bool is_numeric(char32_t c) { return is_number(c); }

// Rust regex's \w: Alphabetic (letters, Nl, Other_Alphabetic), marks, Nd, Pc, Join_Control.
inline bool is_word_char(char32_t c) {
  if (c < 0x80) return is_letter(c) || (c >= '0' && c <= '9') || c == '_';
  if (c == 0x200C || c == 0x200D) return true;
  if ((c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
      (c >= 0x1F170 && c <= 0x1F189))
    return true;  // the symbols among Other_Alphabetic (circled and squared letters)
  const auto k = category(c);
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || k == UTF8PROC_CATEGORY_NL ||
         k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC ||
         k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_PC;
}

inline bool is_bert_removed(char32_t c) { return in_ranges(unicode_tables::bert_removed, c); }
inline bool is_bert_punctuation(char32_t c) { return in_ranges(unicode_tables::bert_punctuation, c); }
inline bool is_nonspacing_mark(char32_t c) { return in_ranges(unicode_tables::nonspacing_marks, c); }

// unicode-normalization's is_combining_mark: Mn, Mc and Me.
inline bool is_combining_mark(char32_t c) {
  if (c < 0x300) return false;
  const auto k = category(c);
  return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

inline bool is_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Appends Rust's c.to_lowercase() (which may be more than one character).
inline void append_lowercase(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  const auto& table = unicode_tables::lowercase;
  const auto* it = std::lower_bound(std::begin(table), std::end(table), c,
                                    [](const unicode_tables::Lowered& l, char32_t cp) { return l.cp < cp; });
  if (it != std::end(table) && it->cp == c) {
    out += it->utf8;
  } else {
    utf8::append(out, c);
  }
}

enum class Form { nfc, nfd, nfkc, nfkd };

// Normalizes valid UTF-8 text to one of the four Unicode normalization forms.
inline std::string normalize(std::string_view text, Form form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case Form::nfc: options |= UTF8PROC_COMPOSE; break;
    case Form::nfd: options |= UTF8PROC_DECOMPOSE; break;
    case Form::nfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case Form::nfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  utf8proc_uint8_t* result = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              utf8proc_ssize_t(text.size()), &result,
                              utf8proc_option_t(options));
  if (n < 0) fail(Error::Kind::input, "Unicode normalization failed: ", utf8proc_errmsg(n));
  std::string out(reinterpret_cast<const char*>(result), size_t(n));
  std::free(result);
  return out;
}

}  // namespace zest::detail::unicode
