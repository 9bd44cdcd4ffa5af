// A whole file into a string: one read into a string of the file's size, or a stream copy for
// pipes and other files of no known size.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zest/error.hpp"

namespace zest::detail {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Error::Kind::io, path.string(), ": cannot open");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && std::filesystem::is_regular_file(path, ec)) {
    std::string text(size_t(size), '\0');
    in.read(text.data(), std::streamsize(size));
    if (in.gcount() != std::streamsize(size)) fail(Error::Kind::io, path.string(), ": read error");
    return text;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) fail(Error::Kind::io, path.string(), ": read error");
  return s.str();
}

}  // namespace zest::detail
