// The examples' one helper beyond zest's public API: a whole file as a string.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zest/error.hpp"

namespace examples {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw zest::Error(zest::Error::Kind::io, path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw zest::Error(zest::Error::Kind::io, path.string() + ": read error");
  return text.str();
}

}  // namespace examples
