// Hand-written splitters for the hot pre-tokenization regexes, equal to the regex (tested on
// the corpora). No same-run comparison with the regex is recorded; on its own, the GPT-2 scanner
// splits brown.txt's 1,184,727 pieces in 4.1 ms on one thread (bench/LOG.md, tokenizer, third
// round):
//   GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   cl100k / LLaMA-3 (digits up to 3) and Qwen2 (digits one by one):
//     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//     \s*[\r\n]+|\s+(?!\S)|\s+
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "zest/tokenizer/ascii_masks.hpp"
#include "zest/tokenizer/unicode.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

enum class CharClass : unsigned char { letter, number, space, other };

inline CharClass classify(char32_t c) {
  if (unicode::is_whitespace(c)) return CharClass::space;
  if (unicode::is_letter(c)) return CharClass::letter;
  if (unicode::is_number(c)) return CharClass::number;
  return CharClass::other;
}

// ASCII classes by table, the rest through utf8proc.
struct AsciiClasses {
  CharClass table[128];
  constexpr AsciiClasses() : table{} {
    for (int c = 0; c < 128; ++c) {
      const bool space = c == ' ' || (c >= 9 && c <= 13);
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool digit = c >= '0' && c <= '9';
      table[c] = space ? CharClass::space : letter ? CharClass::letter : digit ? CharClass::number : CharClass::other;
    }
  }
};
inline constexpr AsciiClasses ascii_classes{};

// The class of the non-ASCII character at s[i] and its length in bytes.
[[gnu::noinline]] inline CharClass class_at_non_ascii(std::string_view s, size_t i, size_t& len) {
  size_t j = i;
  const char32_t c = utf8::next(s, j);
  len = j - i;
  return classify(c);
}

// The class of the character at s[i] and its length in bytes; ASCII inline.
inline CharClass class_at(std::string_view s, size_t i, size_t& len) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    len = 1;
    return ascii_classes.table[b];
  }
  return class_at_non_ascii(s, i, len);
}

// Eight bytes at a time (SWAR): the high bit of each byte of w that is an ASCII letter, or an
// ASCII letter or digit. Adding 0x80 - lo to a 7-bit byte sets its high bit iff it is >= lo,
// without a carry into the next byte.
namespace swar {
inline constexpr uint64_t ones = 0x0101010101010101ull, high = 0x80 * ones;
constexpr uint64_t in_range(uint64_t low7, unsigned char lo, unsigned char hi) {
  return (low7 + (0x80 - lo) * ones) & ~(low7 + (0x80 - hi - 1) * ones) & high;
}
constexpr uint64_t letters(uint64_t w) {
  const uint64_t folded = (w | 0x20 * ones) & 0x7F * ones;  // 'A'-'Z' to 'a'-'z'
  return in_range(folded, 'a', 'z') & ~w;
}
constexpr uint64_t alnum(uint64_t w) { return letters(w) | (in_range(w & 0x7F * ones, '0', '9') & ~w); }
// How many bytes, from the first in memory, have their high bit set in mask (all 8: 8).
inline size_t leading_bytes(uint64_t mask) {
  const uint64_t gaps = ~mask & high;
  return gaps ? size_t(__builtin_ctzll(gaps)) / 8 : 8;
}
}  // namespace swar

// Where the run of ASCII letters at s[j] stops, 8 bytes at a time: a word's end found without
// a (mispredicted) branch per byte. Stops at the first byte that is not an ASCII letter, or
// where fewer than 8 bytes are left.
inline size_t ascii_letters_end(std::string_view s, size_t j) {
  while (j + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + j, 8);
    const size_t n = swar::leading_bytes(swar::letters(w));
    if (n < 8) return j + n;
    j += 8;
  }
  return j;
}

// The length of a contraction ('s 't 're 've 'm 'll 'd) at s[i] == '\'', or 0: GPT-2's in
// lowercase; with ignore_case (cl100k's (?i)) in any case, and 's' also as U+017F (long s).
inline size_t contraction(std::string_view s, size_t i, bool ignore_case = false) {
  const size_t n = s.size();
  if (i + 1 >= n) return 0;
  const char fold = ignore_case ? 0x20 : 0;
  const char a = char(s[i + 1] | fold);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (ignore_case && s.compare(i + 1, 2, "\xC5\xBF") == 0) return 3;
  if (i + 2 >= n) return 0;
  const char b = char(s[i + 2] | fold);
  return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? 3 : 0;
}

#if defined(__AVX2__)
// The GPT-2 pattern on ASCII text, 64 bytes at a time. A piece starts where a run of
// whitespace starts, at a run's last whitespace character that a non-space follows (a ' ' there
// leads the next word, another one stands alone), and where a run of letters, digits or other
// characters starts, unless a ' ' before it leads it. The text is padded with '\n': a run of
// whitespace at its end is not cut. Contractions, rare, then move the starts at them. The
// pieces come from the bits of the starts, without a chain of dependent loads from one piece to
// the next. Returns false, emitting nothing, when s is not all ASCII.
template <typename Emit>
bool scan_gpt2_ascii(std::string_view s, Emit&& emit) {
  thread_local std::vector<uint64_t> starts, quotes;
  const size_t n = s.size(), blocks = (n + 63) / 64;
  if (n == 0) return true;
  starts.resize(blocks + 1);
  quotes.resize(blocks);
  const auto load = [&](size_t b) {
    if (b * 64 + 64 <= n) return ascii_masks(s.data() + b * 64);
    char padded[64];
    std::memset(padded, '\n', sizeof padded);
    if (b * 64 < n) std::memcpy(padded, s.data() + b * 64, n - b * 64);
    return ascii_masks(padded);
  };
  const auto before = [](uint64_t x, uint64_t prev) { return x << 1 | prev >> 63; };  // bit i: byte i - 1's
  AsciiMasks prev, cur, next = load(0);
  uint64_t prev_other = 0;  // none before the text
  for (size_t b = 0; b < blocks; ++b) {
    prev = cur, cur = next, next = load(b + 1);
    if (cur.high) return false;
    const uint64_t space = cur.space, other = ~(cur.letter | cur.digit | space);
    const uint64_t space_first = space & ~before(space, prev.space);
    const uint64_t space_last = space & ~(space >> 1 | next.space << 63);
    const uint64_t run_first = (cur.letter & ~before(cur.letter, prev.letter)) |
                                    (cur.digit & ~before(cur.digit, prev.digit)) | (other & ~before(other, prev_other));
    starts[b] = space_first | space_last | (run_first & ~before(cur.blank, prev.blank));
    quotes[b] = cur.quote;
    prev_other = other;
  }
  if (n % 64) starts[blocks - 1] &= ~0ull >> (64 - n % 64);  // none in the padding
  starts[blocks] = 0;
  // Contractions: a start at an apostrophe that begins one moves past it (the next start there
  // may begin another).
  for (size_t b = 0; b < blocks; ++b) {
    for (uint64_t q = starts[b] & quotes[b]; q;) {
      const size_t at = b * 64 + size_t(__builtin_ctzll(q));
      const size_t c = contraction(s, at);
      for (size_t k = at + 1; c && k <= at + c && k < n; ++k)
        starts[k / 64] = k == at + c ? starts[k / 64] | 1ull << (k % 64) : starts[k / 64] & ~(1ull << (k % 64));
      q = starts[b] & quotes[b] & ~1ull << (at % 64);  // those after it
    }
  }
  size_t begin = 0;
  starts[0] &= ~1ull;  // the first piece starts at 0
  for (size_t b = 0; b < blocks; ++b) {
    for (uint64_t bits = starts[b]; bits; bits &= bits - 1) {
      const size_t at = b * 64 + size_t(__builtin_ctzll(bits));
      emit(begin, at);
      begin = at;
    }
  }
  emit(begin, n);
  return true;
}
#endif

// Calls emit(begin, end) for each piece of the GPT-2 pattern in valid UTF-8 `s`.
template <typename Emit>
void scan_gpt2(std::string_view s, Emit&& emit) {
#if defined(__AVX2__)
  if (scan_gpt2_ascii(s, emit)) return;
#endif
  const size_t n = s.size();
  size_t i = 0;
  // End of the run of characters of class k starting at j.
  auto run_end = [&](size_t j, CharClass k) {
    if (k == CharClass::letter) j = ascii_letters_end(s, j);
    size_t len;
    while (j < n && class_at(s, j, len) == k) j += len;
    return j;
  };
  while (i < n) {
    const size_t start = i;
    if (s[i] == '\'') {
      if (const size_t c = contraction(s, i)) {
        emit(start, i + c);
        i += c;
        continue;
      }
    }
    size_t len;
    CharClass k = class_at(s, i, len);
    size_t body = i;
    if (s[i] == ' ' && i + 1 < n) {
      size_t len2;
      const CharClass next = class_at(s, i + 1, len2);
      if (next != CharClass::space) {  // " ?" then a letter, number or other run
        k = next;
        body = i + 1;
        len = len2;
      }
    }
    if (k != CharClass::space) {
      i = run_end(body + len, k);
      emit(start, i);
      continue;
    }
    // Whitespace: the run, less its last character when a non-space follows it.
    size_t end = i + len, last = i;
    while (end < n) {
      size_t l;
      if (class_at(s, end, l) != CharClass::space) break;
      last = end;
      end += l;
    }
    if (end < n && last > i) end = last;
    emit(start, end);
    i = end;
  }
}

// Calls emit(begin, end) for each piece of the cl100k pattern (max_digits 3) or Qwen2's
// (max_digits 1) in valid UTF-8 `s`.
template <typename Emit>
void scan_cl100k(std::string_view s, size_t max_digits, Emit&& emit) {
  const size_t n = s.size();
  auto is_newline = [&](size_t j) { return s[j] == '\r' || s[j] == '\n'; };
  auto run_end = [&](size_t j, CharClass k, size_t limit) {
    size_t len, count = 0;
    while (j < n && count < limit && class_at(s, j, len) == k) j += len, ++count;
    return j;
  };
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    if (s[i] == '\'') {
      if (const size_t len = contraction(s, i, true)) {
        emit(start, i + len);
        i += len;
        continue;
      }
    }
    size_t len;
    const CharClass k = class_at(s, i, len);
    if (k == CharClass::letter) {
      i = run_end(i, CharClass::letter, SIZE_MAX);
    } else if (k == CharClass::number) {
      i = run_end(i, CharClass::number, max_digits);
    } else {
      size_t len2 = 0;
      const CharClass next = i + len < n ? class_at(s, i + len, len2) : CharClass::space;
      const bool next_exists = i + len < n;
      if (!is_newline(i) && next_exists && next == CharClass::letter) {
        // [^\r\n\p{L}\p{N}]?\p{L}+
        i = run_end(i + len, CharClass::letter, SIZE_MAX);
      } else if (k == CharClass::other || (s[i] == ' ' && next_exists && next == CharClass::other)) {
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        i = run_end(k == CharClass::other ? i : i + 1, CharClass::other, SIZE_MAX);
        while (i < n && is_newline(i)) ++i;
      } else {
        // Whitespace: up to its last newline if it has one, else as GPT-2's.
        size_t end = i, last = i, last_newline = SIZE_MAX;
        while (end < n) {
          size_t l;
          if (class_at(s, end, l) != CharClass::space) break;
          if (is_newline(end)) last_newline = end;
          last = end;
          end += l;
        }
        if (last_newline != SIZE_MAX) end = last_newline + 1;
        else if (end < n && last > i) end = last;
        i = end;
      }
    }
    emit(start, i);
  }
}

}  // namespace zest::detail
