// JSON and the engine's values: nlohmann::json in (messages, tools, variables), and the `tojson`
// filter as transformers defines it: Python's json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zest/chat/value.hpp"

namespace zest::detail::jinja {

// Objects keep their keys' order with nlohmann::ordered_json (as Python's json does, and tojson
// shows); nlohmann::json sorts them.
template <typename Json>
Value from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return Value::none();
    case Json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case Json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      const auto u = j.template get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(Error::Kind::unsupported, "integer ", u, " in the chat input is beyond 64 bits");
      return Value::integer(int64_t(u));
    }
    case Json::value_t::number_float: return Value::floating(j.template get<double>());
    case Json::value_t::string: return Value::string(j.template get_ref<const typename Json::string_t&>());
    case Json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(from_json(x));
      return Value::list(std::move(items));
    }
    case Json::value_t::object: {
      auto d = std::make_shared<Dict>();
      d->items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d->items.emplace_back(it.key(), from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default: fail(Error::Kind::unsupported, "JSON value of type ", j.type_name(), " in the chat input");
  }
}

struct JsonOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // json.dumps' indent: none, or the text of one level
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};

inline void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  const auto u_escape = [&](uint32_t c) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(c >> shift) & 15];
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t start = i;
      const char32_t cp = utf8::next(s, i);
      if (!ensure_ascii) {
        out += s.substr(start, i - start);
      } else if (cp >= 0x10000) {
        u_escape(0xD800 + ((cp - 0x10000) >> 10));
        u_escape(0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        u_escape(cp);
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20)
          u_escape(c);
        else
          out += char(c);
    }
  }
  out += '"';
}

inline void to_json_text(std::string& out, const Value& v, const JsonOptions& o, int depth) {
  if (depth > 512) runtime_error("maximum recursion depth exceeded while encoding a JSON object");
  const auto newline = [&](int level) {
    out += '\n';
    for (int k = 0; k < level; ++k) out += *o.indent;
  };
  switch (v.kind) {
    case Kind::none: out += "null"; return;
    case Kind::boolean: out += v.b ? "true" : "false"; return;
    case Kind::integer: out += std::to_string(v.i); return;
    case Kind::floating:
      if (std::isnan(v.f))
        out += "NaN";
      else if (std::isinf(v.f))
        out += v.f < 0 ? "-Infinity" : "Infinity";
      else
        out += py_float_repr(v.f);
      return;
    case Kind::string: json_string(out, v.s, o.ensure_ascii); return;
    case Kind::list:
    case Kind::tuple: {
      const auto& items = v.as_list().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += o.item_separator;
        if (o.indent) newline(depth + 1);
        to_json_text(out, items[k], o, depth + 1);
      }
      if (o.indent) newline(depth);
      out += ']';
      return;
    }
    case Kind::dict: {
      const auto& d = v.as_dict();
      if (d.items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> order;
      order.reserve(d.items.size());
      for (const auto& kv : d.items) order.push_back(&kv);
      if (o.sort_keys)
        std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t k = 0; k < order.size(); ++k) {
        if (k) out += o.item_separator;
        if (o.indent) newline(depth + 1);
        json_string(out, order[k]->first, o.ensure_ascii);
        out += o.key_separator;
        to_json_text(out, order[k]->second, o, depth + 1);
      }
      if (o.indent) newline(depth);
      out += '}';
      return;
    }
    default: runtime_error("Object of type " + std::string(type_name(v)) + " is not JSON serializable");
  }
}

}  // namespace zest::detail::jinja
