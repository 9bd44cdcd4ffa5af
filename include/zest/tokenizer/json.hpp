// Reading tokenizer.json: a JSON value with its path, so that every fault names the file and the
// JSON path where it is (e.g. "tokenizer.json: $.model.merges[12]: expected a string").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "zest/error.hpp"

namespace zest::detail {

class JsonRef {
 public:
  JsonRef(const nlohmann::json& value, std::string path, std::string_view file)
      : value_(&value), path_(std::move(path)), file_(file) {}

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

  // Present and not null.
  bool has(std::string_view key) const {
    if (!value_->is_object()) return false;
    auto it = value_->find(key);
    return it != value_->end() && !it->is_null();
  }

  JsonRef operator[](std::string_view key) const {
    if (!value_->is_object()) error("expected an object");
    auto it = value_->find(key);
    if (it == value_->end()) fail(Error::Kind::format, file_, ": ", path_, ": missing \"", key, "\"");
    return JsonRef(*it, path_ + "." + std::string(key), file_);
  }
  JsonRef operator[](std::size_t i) const {
    if (!value_->is_array() || i >= value_->size()) error("expected an array with element " + std::to_string(i));
    return JsonRef((*value_)[i], path_ + "[" + std::to_string(i) + "]", file_);
  }
  std::size_t size() const {
    if (!value_->is_array() && !value_->is_object()) error("expected an array or object");
    return value_->size();
  }

  std::string str() const {
    if (!value_->is_string()) error("expected a string");
    return value_->get<std::string>();
  }
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
  std::int64_t integer() const {
    if (!value_->is_number_integer()) error("expected an integer");
    return value_->get<std::int64_t>();
  }
  // A token id: an integer in [0, 2^31).
  std::int32_t id() const {
    const auto v = integer();
    if (v < 0 || v > INT32_MAX) error("token id out of range: " + std::to_string(v));
    return static_cast<std::int32_t>(v);
  }

  std::string str_or(std::string_view key, std::string fallback) const {
    return has(key) ? (*this)[key].str() : fallback;
  }
  bool bool_or(std::string_view key, bool fallback) const { return has(key) ? (*this)[key].boolean() : fallback; }
  std::int64_t int_or(std::string_view key, std::int64_t fallback) const {
    return has(key) ? (*this)[key].integer() : fallback;
  }

  // The "type" of a component object.
  std::string type() const { return (*this)["type"].str(); }

 private:
  const nlohmann::json* value_;
  std::string path_;
  std::string_view file_;
};

}  // namespace zest::detail
