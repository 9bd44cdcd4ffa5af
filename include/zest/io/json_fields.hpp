// Typed reads of JSON object fields with defaults, each failure naming the source and the field.
// JSON null counts as absent, as in Hugging Face's configuration classes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/error.hpp"

namespace zest::detail {

inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Error::Kind::io, path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(Error::Kind::io, path.string(), ": read error");
  return text.str();
}

class JsonFields {
 public:
  // Parses `text` as a JSON object; `source` (a file name) prefixes every error message.
  JsonFields(std::string_view text, std::string source) : source_(std::move(source)) {
    json_ = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json_.is_discarded()) fail(Error::Kind::format, source_, ": not valid JSON");
    if (!json_.is_object()) fail(Error::Kind::format, source_, ": not a JSON object");
  }
  JsonFields(nlohmann::json object, std::string source) : json_(std::move(object)), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  const nlohmann::json& json() const { return json_; }

  const nlohmann::json* find(std::string_view key) const {
    const auto it = json_.find(key);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  std::optional<int64_t> get_int(std::string_view key) const {
    return get_checked<int64_t>(key, &nlohmann::json::is_number_integer, "an integer");
  }
  int64_t get_int(std::string_view key, int64_t fallback) const { return get_int(key).value_or(fallback); }

  std::optional<double> get_number(std::string_view key) const {
    return get_checked<double>(key, &nlohmann::json::is_number, "a number");
  }
  double get_number(std::string_view key, double fallback) const { return get_number(key).value_or(fallback); }

  std::optional<bool> get_bool(std::string_view key) const {
    return get_checked<bool>(key, &nlohmann::json::is_boolean, "true or false");
  }
  bool get_bool(std::string_view key, bool fallback) const { return get_bool(key).value_or(fallback); }

  std::optional<std::string> get_string(std::string_view key) const {
    return get_checked<std::string>(key, &nlohmann::json::is_string, "a string");
  }
  std::string get_string(std::string_view key, std::string_view fallback) const {
    return get_string(key).value_or(std::string(fallback));
  }

  // A token id field that may hold one id or a list of them (eos_token_id does).
  std::vector<int32_t> get_ids(std::string_view key) const {
    const nlohmann::json* value = find(key);
    if (!value) return {};
    std::vector<int32_t> ids;
    auto add = [&](const nlohmann::json& id) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        wrong_type(key, "a token id or a list of token ids", *value);
      ids.push_back(int32_t(id.get<int64_t>()));
    };
    if (value->is_array()) {
      for (const auto& id : *value) add(id);
    } else {
      add(*value);
    }
    return ids;
  }
  std::optional<int32_t> get_id(std::string_view key) const {
    const auto ids = get_ids(key);
    if (ids.size() > 1) wrong_type(key, "a single token id", *find(key));
    return ids.empty() ? std::nullopt : std::optional<int32_t>(ids.front());
  }

  // The nested object `key` as fields of its own, or nullopt when absent.
  std::optional<JsonFields> get_object(std::string_view key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_object()) wrong_type(key, "an object", *value);
    return JsonFields(*value, source_ + ": " + std::string(key));
  }

  // The value of `key` as T, or nullopt when absent; `is` says whether the JSON holds a T.
  template <typename T>
  std::optional<T> get_checked(std::string_view key, bool (nlohmann::json::*is)() const noexcept,
                               std::string_view expected) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!(value->*is)()) wrong_type(key, expected, *value);
    return value->get<T>();
  }

  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& got) const {
    std::string shown = got.dump();
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    fail(Error::Kind::config, source_, ": field '", key, "' must be ", expected, ", got ", shown);
  }
  [[noreturn]] void invalid(std::string_view key, std::string_view why) const {
    fail(Error::Kind::config, source_, ": field '", key, "' ", why);
  }

 private:
  nlohmann::json json_;
  std::string source_;
};

}  // namespace zest::detail
