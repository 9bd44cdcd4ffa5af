// Attribute and item access as jinja2's sandbox does it: `x.name` looks for a Python attribute
// (a method such as dict.items) before the item, `x[key]` for the item before the attribute; what
// is missing is an Undefined that remembers why (its message, if it is used).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "zest/chat/value.hpp"

namespace zest::detail::jinja {

// A bound method looked up but not yet called (x.items, s.upper).
struct Method : Object {
  Value receiver;
  std::string name;
};

// The state of a for loop, behind its `loop` variable.
struct LoopState : Object {
  // What it iterates: a list's own items (held by `list`, not copied), or `copied`.
  std::shared_ptr<const Object> list;
  std::vector<Value> copied;
  const std::vector<Value>* items_ = &copied;
  const std::vector<Value>& items() const { return *items_; }

  LoopState() = default;
  LoopState(const LoopState&) = delete;
  LoopState& operator=(const LoopState&) = delete;

  size_t index = 0;
  int depth = 1;
  bool has_last_changed = false;
  Value last_changed;
};

inline bool is_dict_method(std::string_view n) {
  static constexpr std::string_view names[] = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                               "pop", "popitem", "setdefault", "update", "values"};
  return std::find(std::begin(names), std::end(names), n) != std::end(names);
}
inline bool is_list_method(std::string_view n) {
  static constexpr std::string_view names[] = {"append", "clear", "copy", "count", "extend", "index",
                                               "insert", "pop", "remove", "reverse", "sort"};
  return std::find(std::begin(names), std::end(names), n) != std::end(names);
}
inline bool is_tuple_method(std::string_view n) { return n == "count" || n == "index"; }
inline bool is_str_method(std::string_view n) {
  static constexpr std::string_view names[] = {
      "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
      "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
      "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
      "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
      "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
      "translate", "upper", "zfill"};
  return std::find(std::begin(names), std::end(names), n) != std::end(names);
}

inline Value bound_method(const Value& receiver, std::string_view name) {
  auto m = std::make_shared<Method>();
  m->receiver = receiver;
  m->name = std::string(name);
  return Value::object(Kind::method, std::move(m));
}

inline Value loop_attribute(const Value& v, std::string_view name) {
  const auto& s = static_cast<const LoopState&>(*v.obj);
  const auto& items = s.items();
  const int64_t n = int64_t(items.size()), k = int64_t(s.index);
  if (name == "index") return Value::integer(k + 1);
  if (name == "index0") return Value::integer(k);
  if (name == "revindex") return Value::integer(n - k);
  if (name == "revindex0") return Value::integer(n - k - 1);
  if (name == "first") return Value::boolean(k == 0);
  if (name == "last") return Value::boolean(k == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(s.depth);
  if (name == "depth0") return Value::integer(s.depth - 1);
  if (name == "previtem")
    return k > 0 ? items[size_t(k - 1)] : Value::undefined("there is no previous item");
  if (name == "nextitem")
    return k + 1 < n ? items[size_t(k + 1)] : Value::undefined("there is no next item");
  if (name == "cycle" || name == "changed") return bound_method(v, name);
  return undefined_attribute(v, name);
}

// x.name
inline Value get_attribute(const Value& v, std::string_view name) {
  switch (v.kind) {
    case Kind::undefined: runtime_error(v.s);
    case Kind::dict: {
      if (is_dict_method(name)) return bound_method(v, name);
      if (const Value* x = v.as_dict().find(name)) return *x;
      return undefined_attribute(v, name);
    }
    case Kind::ns: {
      if (const Value* x = v.as_namespace().find(name)) return *x;
      return undefined_attribute(v, name);
    }
    case Kind::string:
      if (is_str_method(name)) return bound_method(v, name);
      return undefined_attribute(v, name);
    case Kind::list:
      if (is_list_method(name)) return bound_method(v, name);
      return undefined_attribute(v, name);
    case Kind::tuple:
      if (is_tuple_method(name)) return bound_method(v, name);
      return undefined_attribute(v, name);
    case Kind::loop: return loop_attribute(v, name);
    default: return undefined_attribute(v, name);
  }
}

inline Value no_element(const Value& owner, const Value& key) {
  std::string m = object_type_repr(owner) + " has no element ";
  append_repr(m, key);
  return Value::undefined(std::move(m));
}

// x[key]
inline Value get_item(const Value& v, const Value& key) {
  if (v.kind == Kind::undefined) runtime_error(v.s);
  if (key.kind == Kind::undefined) runtime_error(key.s);
  switch (v.kind) {
    case Kind::dict:
      if (key.kind == Kind::string) {
        if (const Value* x = v.as_dict().find(key.s)) return *x;
        return get_attribute(v, key.s);
      }
      return no_element(v, key);
    case Kind::list:
    case Kind::tuple:
    case Kind::string: {
      if (key.kind == Kind::string) return get_attribute(v, key.s);
      if (key.kind != Kind::integer && key.kind != Kind::boolean) return no_element(v, key);
      int64_t k = key.kind == Kind::boolean ? int64_t(key.b) : key.i;
      if (v.kind == Kind::string) {
        if (is_ascii(v.s)) {
          const int64_t n = int64_t(v.s.size());
          if (k < 0) k += n;
          if (k < 0 || k >= n) return no_element(v, key);
          return Value::string(std::string(1, v.s[size_t(k)]));
        }
        const std::u32string u = to_u32(v.s);
        const int64_t n = int64_t(u.size());
        if (k < 0) k += n;
        if (k < 0 || k >= n) return no_element(v, key);
        return Value::string(from_u32(u.substr(size_t(k), 1)));
      }
      const auto& items = v.as_list().items;
      const int64_t n = int64_t(items.size());
      if (k < 0) k += n;
      if (k < 0 || k >= n) return no_element(v, key);
      return items[size_t(k)];
    }
    case Kind::ns:
    case Kind::loop:
      if (key.kind == Kind::string) return get_attribute(v, key.s);
      return no_element(v, key);
    default:
      if (key.kind == Kind::string) return get_attribute(v, key.s);
      return no_element(v, key);
  }
}

// Python's slice.indices(): the positions a[start:stop:step] takes from a sequence of n, which
// are first, first + step, ... (count of them).
struct SlicePositions {
  int64_t first = 0, step = 1, count = 0;
  size_t operator[](int64_t j) const { return size_t(first + j * step); }
};

inline SlicePositions slice_positions(int64_t n, const Value& start, const Value& stop, const Value& step) {
  const auto as_index = [](const Value& x, int64_t fallback) -> int64_t {
    if (x.kind == Kind::none) return fallback;
    if (x.kind == Kind::integer) return x.i;
    if (x.kind == Kind::boolean) return x.b;
    if (x.kind == Kind::undefined) runtime_error(x.s);
    runtime_error("slice indices must be integers or None or have an __index__ method");
  };
  const int64_t st = as_index(step, 1);
  if (st == 0) runtime_error("slice step cannot be zero");
  int64_t a, b;
  if (st > 0) {
    a = as_index(start, 0);
    b = as_index(stop, n);
    if (a < 0) a = std::max<int64_t>(a + n, 0);
    if (b < 0) b = std::max<int64_t>(b + n, 0);
    a = std::min(a, n);
    b = std::min(b, n);
  } else {
    a = as_index(start, n - 1);
    b = as_index(stop, -n - 1);
    if (a < 0) a = std::max<int64_t>(a + n, -1);
    if (b < 0) b = std::max<int64_t>(b + n, -1);
    a = std::min(a, n - 1);
    b = std::min(b, n - 1);
  }
  // a and b lie in [-1, n]: the count is at most n + 1, and no position overflows.
  const __int128 stride = st, span = st > 0 ? __int128(b) - a : __int128(a) - b;
  const __int128 count = span <= 0 ? 0 : (span + (stride > 0 ? stride : -stride) - 1) / (stride > 0 ? stride : -stride);
  return {a, st, int64_t(count)};
}

// x[start:stop:step]; what cannot be sliced is an Undefined, as jinja2's getitem gives.
inline Value get_slice(const Value& v, const Value& start, const Value& stop, const Value& step) {
  if (v.kind == Kind::undefined) runtime_error(v.s);
  if (v.kind == Kind::string) {
    if (is_ascii(v.s)) {
      std::string out;
      const SlicePositions at = slice_positions(int64_t(v.s.size()), start, stop, step);
      out.reserve(size_t(at.count));
      for (int64_t j = 0; j < at.count; ++j) out += v.s[at[j]];
      return Value::string(std::move(out));
    }
    const std::u32string u = to_u32(v.s);
    std::u32string out;
    const SlicePositions at = slice_positions(int64_t(u.size()), start, stop, step);
    for (int64_t j = 0; j < at.count; ++j) out += u[at[j]];
    return Value::string(from_u32(out));
  }
  if (v.kind == Kind::list || v.kind == Kind::tuple) {
    const auto& items = v.as_list().items;
    std::vector<Value> out;
    const SlicePositions at = slice_positions(int64_t(items.size()), start, stop, step);
    out.reserve(size_t(at.count));
    for (int64_t j = 0; j < at.count; ++j) out.push_back(items[at[j]]);
    return Value::list(std::move(out), v.kind);
  }
  return Value::undefined(object_type_repr(v) + " has no element slice");
}

}  // namespace zest::detail::jinja
