// JSON values that know where they are, so that every fault names the file and the place: a value
// by its JSON path ("tokenizer.json: $.model.merges[12]: expected a string"), an optional field
// by its name ("config.json: field 'top_k' must be an integer, got "x""). JSON null counts as
// absent, as in Hugging Face's configuration classes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/error.hpp"

namespace zest::detail {

// `text` parsed as a JSON object; `file` names it in the error.
inline nlohmann::json parse_json_object(std::string_view text, std::string_view file) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) fail(Error::Kind::format, file, ": not valid JSON");
  if (!json.is_object()) fail(Error::Kind::format, file, ": not a JSON object");
  return json;
}

// A view of one value of a parsed document: the document and the file name must outlive it.
class JsonRef {
 public:
  JsonRef(const nlohmann::json& value, std::string path, std::string_view file)
      : value_(&value), path_(std::move(path)), file_(file) {}
  // The document's root, "$".
  JsonRef(const nlohmann::json& root, std::string_view file) : JsonRef(root, "$", file) {}

  const nlohmann::json& raw() const { return *value_; }
  const std::string& path() const { return path_; }
  std::string_view file() const { return file_; }

  [[noreturn]] void error(std::string_view what) const {
    fail(Error::Kind::format, file_, ": ", path_, ": ", what);
  }
  // A fault in a child that has no JSON value of its own here (a table the fast loader took).
  [[noreturn]] void child_error(std::string_view child, std::string_view what) const {
    fail(Error::Kind::format, file_, ": ", path_, ".", child, ": ", what);
  }
  [[noreturn]] void unsupported(std::string_view what) const {
    fail(Error::Kind::unsupported, file_, ": ", path_, ": ", what);
  }

  bool is_null() const { return value_->is_null(); }
  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }

  // The field `key`, or nullptr when it is absent or null (or this is no object).
  const nlohmann::json* find(std::string_view key) const {
    const auto it = value_->find(key);
    return it == value_->end() || it->is_null() ? nullptr : &*it;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Required members: a fault names the path.
  JsonRef operator[](std::string_view key) const {
    if (!value_->is_object()) error("expected an object");
    auto it = value_->find(key);
    if (it == value_->end()) fail(Error::Kind::format, file_, ": ", path_, ": missing \"", key, "\"");
    return JsonRef(*it, path_ + "." + std::string(key), file_);
  }
  JsonRef operator[](size_t i) const {
    if (!value_->is_array() || i >= value_->size()) error("expected an array with element " + std::to_string(i));
    return JsonRef((*value_)[i], path_ + "[" + std::to_string(i) + "]", file_);
  }
  size_t size() const {
    if (!value_->is_array() && !value_->is_object()) error("expected an array or object");
    return value_->size();
  }

  // This value as a type: a fault names the path.
  std::string str() const { return str_ref(); }
  const std::string& str_ref() const {
    if (!value_->is_string()) error("expected a string");
    return value_->get_ref<const std::string&>();
  }
  bool boolean() const {
    if (!value_->is_boolean()) error("expected true or false");
    return value_->get<bool>();
  }
  double number() const {
    if (!value_->is_number()) error("expected a number");
    return value_->get<double>();
  }
  int64_t integer() const {
    if (!value_->is_number_integer()) error("expected an integer");
    return value_->get<int64_t>();
  }
  // A token id: an integer in [0, 2^31).
  int32_t id() const {
    const auto v = integer();
    if (v < 0 || v > INT32_MAX) error("token id out of range: " + std::to_string(v));
    return int32_t(v);
  }

  // The "type" of a component object.
  std::string type() const { return (*this)["type"].str(); }

  // Optional fields, absent or null: nullopt or the fallback. A fault names the field.
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

  std::optional<JsonRef> get_object(std::string_view key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_object()) wrong_type(key, "an object", *value);
    return JsonRef(*value, path_ + "." + std::string(key), file_);
  }

  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& got) const {
    std::string shown = got.dump();
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    fail(Error::Kind::config, where(), ": field '", key, "' must be ", expected, ", got ", shown);
  }
  [[noreturn]] void invalid(std::string_view key, std::string_view why) const {
    fail(Error::Kind::config, where(), ": field '", key, "' ", why);
  }

 private:
  // The value of `key` as T, or nullopt when absent; `is` says whether the JSON holds a T.
  template <typename T>
  std::optional<T> get_checked(std::string_view key, bool (nlohmann::json::*is)() const noexcept,
                               std::string_view expected) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!(value->*is)()) wrong_type(key, expected, *value);
    return value->get<T>();
  }

  // Where a field lies: the file for a field of the root, the file and path below it.
  std::string where() const { return path_ == "$" ? std::string(file_) : std::string(file_) + ": " + path_; }

  const nlohmann::json* value_;
  std::string path_;
  std::string_view file_;
};

}  // namespace zest::detail
