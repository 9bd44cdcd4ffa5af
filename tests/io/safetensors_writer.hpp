// Test helper: writes safetensors files from a header JSON and raw data, so tests can build
// good and deliberately malformed files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

// The header is padded with spaces to a multiple of 8 bytes, as Hugging Face's writer does, unless
// `pad` is false.
inline std::string safetensors_bytes(std::string_view header_json, std::string_view data, bool pad = true) {
  std::string header(header_json);
  if (pad) header.resize((header.size() + 7) / 8 * 8, ' ');
  std::string file(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file[size_t(i)] = char((n >> (8 * i)) & 0xff);
  file += header;
  file += data;
  return file;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// A fresh empty directory under the system's temporary directory.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("zest-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
