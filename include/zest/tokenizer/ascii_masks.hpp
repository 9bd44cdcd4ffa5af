// The classes of 64 bytes of text as bit masks (bit i for byte i), as simdjson classifies its
// input: the scanners find word boundaries by shifts and ands instead of a branch per byte.
// For AVX2 targets; eight bytes at a time in general-purpose registers was slower than the
// scanners' branches (bench/LOG.md, tokenizer, third round; no figure kept), so other targets
// have none.
#pragma once

#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>

namespace zest::detail {

struct AsciiMasks {
  uint64_t letter = 0;  // A-Z a-z
  uint64_t digit = 0;   // 0-9
  uint64_t space = 0;   // ' ' \t \n \v \f \r (Unicode White_Space below 0x80)
  uint64_t blank = 0;   // ' ' alone
  uint64_t quote = 0;   // '\''
  uint64_t high = 0;    // bytes of 0x80 and above: not ASCII
};

namespace ascii_masks_detail {
inline uint64_t bits(__m256i lo, __m256i hi) {
  return uint32_t(_mm256_movemask_epi8(lo)) |
         uint64_t(uint32_t(_mm256_movemask_epi8(hi))) << 32;
}
// Bytes of v - lo that are at most span (unsigned): v in [lo, lo + span].
inline __m256i in_range(__m256i v, char lo, char span) {
  const __m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8(lo));
  return _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(span)), t);
}
}  // namespace ascii_masks_detail

// p: 64 readable bytes.
inline AsciiMasks ascii_masks(const char* p) {
  using namespace ascii_masks_detail;
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  const __m256i case_bit = _mm256_set1_epi8(0x20), blank = _mm256_set1_epi8(' ');
  AsciiMasks m;
  m.letter = bits(in_range(_mm256_or_si256(lo, case_bit), 'a', 25), in_range(_mm256_or_si256(hi, case_bit), 'a', 25));
  m.digit = bits(in_range(lo, '0', 9), in_range(hi, '0', 9));
  const __m256i blank_lo = _mm256_cmpeq_epi8(lo, blank), blank_hi = _mm256_cmpeq_epi8(hi, blank);
  m.blank = bits(blank_lo, blank_hi);
  m.space = m.blank | bits(in_range(lo, '\t', 4), in_range(hi, '\t', 4));
  m.quote = bits(_mm256_cmpeq_epi8(lo, _mm256_set1_epi8('\'')), _mm256_cmpeq_epi8(hi, _mm256_set1_epi8('\'')));
  m.high = bits(lo, hi);
  return m;
}
}  // namespace zest::detail

#endif
