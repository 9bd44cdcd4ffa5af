// The library's version and a one-line description of how it was built.
#pragma once

#include <string>

#define ZEST_VERSION_MAJOR 0
#define ZEST_VERSION_MINOR 1
#define ZEST_VERSION_PATCH 0

namespace zest {

inline std::string version() {
  return std::to_string(ZEST_VERSION_MAJOR) + "." + std::to_string(ZEST_VERSION_MINOR) + "." +
         std::to_string(ZEST_VERSION_PATCH);
}

namespace detail {

inline std::string compiler_name() {
#if defined(__clang__)
  return "clang++-" + std::to_string(__clang_major__);
#elif defined(__GNUC__)
  return "g++-" + std::to_string(__GNUC__);
#elif defined(_MSC_VER)
  return "msvc-" + std::to_string(_MSC_VER);
#else
  return "unknown-compiler";
#endif
}

// The widest SIMD level this translation unit was compiled for, plus the extensions the
// kernels use when present. Header-only: this describes the including program's flags.
inline std::string simd_arch_name() {
  std::string arch;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  arch = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  arch = "avx2";
#elif defined(__SSE4_2__)
  arch = "sse4.2";
#elif defined(__ARM_NEON)
  arch = "neon";
#else
  arch = "scalar";
#endif
#if defined(__AVX512VNNI__)
  arch += "+vnni";
#endif
#if defined(__AVX512BF16__)
  arch += "+bf16";
#endif
#if defined(__F16C__)
  arch += "+f16c";
#endif
  return arch;
}

}  // namespace detail

// For example "zest 0.1.0 g++-12 avx512+vnni+bf16+f16c".
inline std::string build_info() {
  return "zest " + version() + " " + detail::compiler_name() + " " + detail::simd_arch_name();
}

}  // namespace zest
