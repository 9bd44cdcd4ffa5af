// Zero-copy reading of Hugging Face safetensors files: a single `model.safetensors` or the shards
// named by `model.safetensors.index.json`. Tensors are views into the read-only file mapping.
//
// File layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
// then the data section; [b, e) is relative to the data section's start. Everything in the header is
// checked before a tensor is handed out, so a malformed file gives a zest::Error, never a bad read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/error.hpp"
#include "zest/io/mapped_file.hpp"
#include "zest/tensor.hpp"

namespace zest::detail {

// Where one tensor lies in a safetensors file's data section.
struct TensorInfo {
  DType dtype;
  Shape shape;
  size_t begin;  // byte offset into the data section
  size_t nbytes;
};


// The safetensors library refuses headers above 100 MB; so do we (a corrupt length must not
// make us parse gigabytes).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

inline std::optional<DType> safetensors_dtype(std::string_view name) {
  static constexpr std::pair<std::string_view, DType> kNames[] = {
      {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"F64", DType::f64},
      {"I8", DType::i8},   {"I16", DType::i16}, {"I32", DType::i32},   {"I64", DType::i64},
      {"U8", DType::u8},   {"BOOL", DType::boolean}};
  for (const auto& [text, dtype] : kNames)
    if (text == name) return dtype;
  return std::nullopt;
}

struct SafetensorsHeader {
  std::map<std::string, TensorInfo, std::less<>> tensors;
  std::map<std::string, std::string, std::less<>> metadata;
  size_t data_begin = 0;  // file offset of the data section
};

// Parses and validates the header of a whole safetensors file held in `file`; `name` (the path)
// prefixes every error message.
inline SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file, const std::string& name) {
  using nlohmann::json;
  if (file.size() < 8)
    fail(Error::Kind::format, name, ": truncated safetensors file: ", file.size(), " bytes, need at least 8 for the header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint64_t(file[size_t(i)]);
  if (header_len > kMaxSafetensorsHeader)
    fail(Error::Kind::format, name, ": safetensors header length ", header_len, " exceeds the limit of ", kMaxSafetensorsHeader, " bytes");
  if (header_len > file.size() - 8)
    fail(Error::Kind::format, name, ": safetensors header length ", header_len, " runs past the end of the file (",
         file.size(), " bytes)");

  const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), size_t(header_len));
  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) fail(Error::Kind::format, name, ": safetensors header is not valid JSON");
  if (!header.is_object()) fail(Error::Kind::format, name, ": safetensors header is not a JSON object");

  SafetensorsHeader result;
  result.data_begin = 8 + size_t(header_len);
  const size_t data_size = file.size() - result.data_begin;
  for (auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(Error::Kind::format, name, ": __metadata__ is not a JSON object");
      for (auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string())
          fail(Error::Kind::format, name, ": __metadata__ value of '", meta_key, "' is not a string");
        result.metadata.emplace(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    const std::string where = name + ": tensor '" + key + "'";
    if (!value.is_object()) fail(Error::Kind::format, where, ": entry is not a JSON object");
    const auto dtype_it = value.find("dtype");
    if (dtype_it == value.end() || !dtype_it->is_string()) fail(Error::Kind::format, where, ": missing string field 'dtype'");
    const auto dtype = safetensors_dtype(dtype_it->get_ref<const std::string&>());
    if (!dtype) fail(Error::Kind::format, where, ": unknown dtype '", dtype_it->get_ref<const std::string&>(), "'");

    const auto shape_it = value.find("shape");
    if (shape_it == value.end() || !shape_it->is_array()) fail(Error::Kind::format, where, ": missing array field 'shape'");
    if (shape_it->size() > size_t(Shape::kMaxRank))
      fail(Error::Kind::format, where, ": rank ", shape_it->size(), " exceeds zest's maximum of ", Shape::kMaxRank);
    std::vector<int64_t> dims;
    uint64_t nbytes = dtype_size(*dtype);
    for (const json& d : *shape_it) {
      if (!d.is_number_unsigned()) fail(Error::Kind::format, where, ": shape entries must be non-negative integers, got ", d.dump());
      const uint64_t n = d.get<uint64_t>();
      if (n > uint64_t(INT64_MAX) || __builtin_mul_overflow(nbytes, n, &nbytes))
        fail(Error::Kind::format, where, ": shape ", shape_it->dump(), " overflows");
      dims.push_back(int64_t(n));
    }

    const auto offsets_it = value.find("data_offsets");
    if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
      fail(Error::Kind::format, where, ": 'data_offsets' must be two non-negative integers");
    const uint64_t begin = (*offsets_it)[0].get<uint64_t>(), end = (*offsets_it)[1].get<uint64_t>();
    if (begin > end) fail(Error::Kind::format, where, ": data_offsets [", begin, ", ", end, "] end before they begin");
    if (end > data_size)
      fail(Error::Kind::format, where, ": data_offsets [", begin, ", ", end, "] run past the end of the data section (",
           data_size, " bytes; is the file truncated?)");
    if (end - begin != nbytes)
      fail(Error::Kind::format, where, ": shape ", shape_it->dump(), " of ", dtype_name(*dtype), " needs ", nbytes,
           " bytes but data_offsets [", begin, ", ", end, "] hold ", end - begin);
    result.tensors.emplace(key, TensorInfo{*dtype, Shape(dims), size_t(begin), size_t(nbytes)});
  }

  // No two tensors may share bytes.
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_offset;
  for (const auto& [key, info] : result.tensors) by_offset.emplace_back(&key, &info);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1].second;
    if (prev.begin + prev.nbytes > by_offset[i].second->begin)
      fail(Error::Kind::format, name, ": tensors '", *by_offset[i - 1].first, "' and '", *by_offset[i].first, "' overlap");
  }
  return result;
}


// One mapped safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path)
      : file_(std::make_shared<detail::MappedFile>(path)),
        header_(detail::parse_safetensors_header(file_->bytes(), path.string())) {}

  const std::filesystem::path& path() const { return file_->path(); }
  bool contains(std::string_view name) const { return header_.tensors.find(name) != header_.tensors.end(); }
  const std::map<std::string, TensorInfo, std::less<>>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string, std::less<>>& metadata() const { return header_.metadata; }

  TensorView get(std::string_view name) const {
    const auto it = header_.tensors.find(name);
    if (it == header_.tensors.end())
      detail::fail(Error::Kind::format, path().string(), ": no tensor named '", name, "'");
    const TensorInfo& info = it->second;
    return TensorView(file_->bytes().data() + header_.data_begin + info.begin, info.dtype, info.shape);
  }
  // See MappedFile::release_resident: views stay valid.
  void release_resident() const { file_->release_resident(); }

 private:
  std::shared_ptr<const detail::MappedFile> file_;  // shared: views outlive copies of this object
  detail::SafetensorsHeader header_;
};

// All the weights of a model: `model.safetensors`, or the shards of `model.safetensors.index.json`.
class Weights {
 public:
  // `path`: a model directory, a .safetensors file, or a .safetensors.index.json file.
  static Weights open(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      if (std::filesystem::exists(path / "model.safetensors", ec)) return open(path / "model.safetensors");
      if (std::filesystem::exists(path / "model.safetensors.index.json", ec))
        return open(path / "model.safetensors.index.json");
      detail::fail(Error::Kind::io, path.string(), ": no model.safetensors or model.safetensors.index.json in this directory");
    }
    Weights weights;
    if (path.string().ends_with(".json")) {
      weights.open_shards(path);
    } else {
      weights.files_.emplace_back(path);
      for (const auto& [name, info] : weights.files_.back().tensors()) weights.where_.emplace(name, 0);
    }
    return weights;
  }

  bool contains(std::string_view name) const { return where_.find(name) != where_.end(); }

  TensorView get(std::string_view name) const {
    const auto it = where_.find(name);
    if (it == where_.end()) detail::fail(Error::Kind::format, description(), ": no tensor named '", name, "'");
    return files_[it->second].get(name);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& [name, file] : where_) result.push_back(name);
    return result;
  }

  const std::vector<SafetensorsFile>& files() const { return files_; }

  // Drops the pages read so far from this process's resident memory; views stay valid (see
  // MappedFile::release_resident).
  void release_resident() const {
    for (const SafetensorsFile& file : files_) file.release_resident();
  }

 private:
  std::string description() const {
    return index_ ? index_->string() : files_.empty() ? std::string("(no weights)") : files_.front().path().string();
  }

  void open_shards(const std::filesystem::path& index_path) {
    using nlohmann::json;
    index_ = index_path;
    const detail::MappedFile index_file(index_path);
    const auto bytes = index_file.bytes();
    json index = json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), nullptr, false);
    if (index.is_discarded()) detail::fail(Error::Kind::format, index_path.string(), ": not valid JSON");
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      detail::fail(Error::Kind::format, index_path.string(), ": missing object 'weight_map'");

    std::map<std::string, size_t> shard_number;
    for (auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string())
        detail::fail(Error::Kind::format, index_path.string(), ": weight_map entry '", tensor, "' is not a file name");
      const std::filesystem::path shard_name(shard.get<std::string>());
      if (shard_name.empty() || shard_name.has_parent_path() || shard_name == "." || shard_name == "..")
        detail::fail(Error::Kind::format, index_path.string(), ": weight_map entry '", tensor, "' names '",
                     shard_name.string(), "', which is not a file beside the index");
      auto [it, added] = shard_number.emplace(shard_name.string(), files_.size());
      if (added) {
        const auto shard_path = index_path.parent_path() / shard_name;
        std::error_code ec;
        if (!std::filesystem::exists(shard_path, ec))
          detail::fail(Error::Kind::io, index_path.string(), ": shard '", shard_name.string(), "' is missing");
        files_.emplace_back(shard_path);
      }
      if (!files_[it->second].contains(tensor))
        detail::fail(Error::Kind::format, index_path.string(), ": tensor '", tensor, "' is not in its shard '",
                     shard_name.string(), "'");
      where_.emplace(tensor, it->second);
    }
  }

  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t, std::less<>> where_;  // tensor name -> index into files_
  std::optional<std::filesystem::path> index_;
};

}  // namespace zest::detail
