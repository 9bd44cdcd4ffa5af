# Finds zest's dependencies and names them as imported targets in ZEST_DEPENDENCY_TARGETS.
# Used by the build tree and, installed beside zestConfig.cmake, by find_package(zest).
# Packages with CMake configs are found as such; Debian ships utf8proc, sentencepiece and
# PCRE2 with pkg-config files only, so those become PkgConfig:: imported targets.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(xsimd 8 CONFIG)
# Debian's xsimd 8.1 target names an `xtl` link item that no package provides; xsimd uses xtl only
# with XSIMD_ENABLE_XTL_COMPLEX, which zest does not set. An empty target satisfies the name.
if(NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED GLOBAL)
endif()
find_dependency(nlohmann_json 3 CONFIG)
find_dependency(PkgConfig)
pkg_check_modules(zest_utf8proc REQUIRED IMPORTED_TARGET GLOBAL libutf8proc)
pkg_check_modules(zest_sentencepiece REQUIRED IMPORTED_TARGET GLOBAL sentencepiece)
pkg_check_modules(zest_pcre2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)

set(ZEST_DEPENDENCY_TARGETS
  Threads::Threads xsimd nlohmann_json::nlohmann_json
  PkgConfig::zest_utf8proc PkgConfig::zest_sentencepiece PkgConfig::zest_pcre2)
