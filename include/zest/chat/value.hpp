// The Jinja engine's values: a small JSON-like variant with Python's semantics where templates see
// them (truthiness, str(), repr(), ==, len(), iteration), plus the engine's own objects (namespace,
// macros, bound methods, the loop object). Lists and dicts are shared and immutable once built, as
// in transformers' ImmutableSandboxedEnvironment; only a namespace() changes in place.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/chat/text.hpp"
#include "zest/error.hpp"

namespace zest::detail::jinja {

struct Object {
  virtual ~Object() = default;
};

enum class Kind : uint8_t {
  undefined,  // a missing variable, attribute or item: s holds the message an error would give
  none,
  boolean,
  integer,
  floating,
  string,
  list,
  tuple,
  dict,
  generator,  // what select/map/unique... return: iterable, no len(), always true
  ns,         // namespace(): attributes assignable in place
  macro,      // a template macro, or the `caller` of a call block
  builtin,    // a global function (range, dict, namespace, raise_exception, strftime_now)
  method,     // a bound method (x.items, x.get) looked up but not yet called
  loop,       // the `loop` of a for loop
};

struct Value;
struct List;
struct Dict;

// Runtime errors carry Python's own message (what transformers users see from jinja2).
[[noreturn]] inline void runtime_error(const std::string& message) { throw Error(Error::Kind::input, message); }

struct Value {
  Kind kind = Kind::undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Object> obj;

  Value() = default;
  static Value undefined(std::string message) {
    Value v;
    v.s = std::move(message);
    return v;
  }
  static Value none() {
    Value v;
    v.kind = Kind::none;
    return v;
  }
  static Value boolean(bool x) {
    Value v;
    v.kind = Kind::boolean;
    v.b = x;
    return v;
  }
  static Value integer(int64_t x) {
    Value v;
    v.kind = Kind::integer;
    v.i = x;
    return v;
  }
  static Value floating(double x) {
    Value v;
    v.kind = Kind::floating;
    v.f = x;
    return v;
  }
  static Value string(std::string x) {
    Value v;
    v.kind = Kind::string;
    v.s = std::move(x);
    return v;
  }
  static Value list(std::vector<Value> items, Kind kind = Kind::list);
  static Value dict(std::shared_ptr<Dict> d);
  static Value object(Kind kind, std::shared_ptr<Object> o) {
    Value v;
    v.kind = kind;
    v.obj = std::move(o);
    return v;
  }

  bool is_undefined() const { return kind == Kind::undefined; }
  bool is_none() const { return kind == Kind::none; }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::floating || kind == Kind::boolean; }
  bool is_sequence_like() const { return kind == Kind::list || kind == Kind::tuple || kind == Kind::generator; }
  bool is_callable() const { return kind == Kind::macro || kind == Kind::builtin || kind == Kind::method; }

  const List& as_list() const;
  const Dict& as_dict() const;
  Dict& as_namespace() const;
};

struct List : Object {
  std::vector<Value> items;
};

// a == b for names and keys, which are short: compared in line, not by a call to memcmp.
inline bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.size() > 24) return a == b;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k] != b[k]) return false;
  return true;
}

// Insertion-ordered, string keys (what JSON gives and chat templates build).
struct Dict : Object {
  std::vector<std::pair<std::string, Value>> items;

  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : items)
      if (same_name(k, key)) return &v;
    return nullptr;
  }
  void set(std::string key, Value value) {
    for (auto& [k, v] : items)
      if (same_name(k, key)) {
        v = std::move(value);
        return;
      }
    items.emplace_back(std::move(key), std::move(value));
  }
};

inline Value Value::list(std::vector<Value> items, Kind kind) {
  auto l = std::make_shared<List>();
  l->items = std::move(items);
  return object(kind, std::move(l));
}
inline Value Value::dict(std::shared_ptr<Dict> d) { return object(Kind::dict, std::move(d)); }
inline const List& Value::as_list() const { return static_cast<const List&>(*obj); }
inline const Dict& Value::as_dict() const { return static_cast<const Dict&>(*obj); }
inline Dict& Value::as_namespace() const { return static_cast<Dict&>(*obj); }

// Python's type(x).__name__, for error messages.
inline std::string_view type_name(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::generator: return "generator";
    case Kind::ns: return "Namespace";
    case Kind::macro: return "Macro";
    case Kind::builtin: return "function";
    case Kind::method: return "builtin_function_or_method";
    case Kind::loop: return "LoopContext";
  }
  return "object";
}

// jinja2's object_type_repr: how an Undefined's message names the object it came from.
inline std::string object_type_repr(const Value& v) {
  switch (v.kind) {
    case Kind::none: return "None";
    case Kind::ns: return "jinja2.utils.Namespace object";
    case Kind::macro: return "jinja2.runtime.Macro object";
    case Kind::loop: return "jinja2.runtime.LoopContext object";
    default: return std::string(type_name(v)) + " object";
  }
}

inline Value undefined_attribute(const Value& owner, std::string_view name) {
  return Value::undefined("'" + object_type_repr(owner) + "' has no attribute '" + std::string(name) + "'");
}

inline bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean: return v.b;
    case Kind::integer: return v.i != 0;
    case Kind::floating: return v.f != 0;
    case Kind::string: return !v.s.empty();
    case Kind::list:
    case Kind::tuple: return !v.as_list().items.empty();
    case Kind::dict: return !v.as_dict().items.empty();
    default: return true;
  }
}

void append_repr(std::string& out, const Value& v);

// str(x).
inline void append_str(std::string& out, const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return;
    case Kind::none: out += "None"; return;
    case Kind::boolean: out += v.b ? "True" : "False"; return;
    case Kind::integer: out += std::to_string(v.i); return;
    case Kind::floating: out += py_float_repr(v.f); return;
    case Kind::string: out += v.s; return;
    case Kind::generator:
      fail(Error::Kind::unsupported, "printing a generator (Python prints its memory address): add |list");
    case Kind::macro:
    case Kind::builtin:
    case Kind::method:
    case Kind::loop: fail(Error::Kind::unsupported, "printing a ", type_name(v), " object (Python prints its address)");
    default: append_repr(out, v); return;
  }
}

inline std::string to_str(const Value& v) {
  if (v.kind == Kind::string) return v.s;
  std::string out;
  append_str(out, v);
  return out;
}

inline void append_repr(std::string& out, const Value& v) {
  switch (v.kind) {
    case Kind::string: py_repr_string(out, v.s); return;
    case Kind::list:
    case Kind::tuple: {
      const auto& items = v.as_list().items;
      out += v.kind == Kind::list ? '[' : '(';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += ", ";
        append_repr(out, items[k]);
      }
      if (v.kind == Kind::tuple && items.size() == 1) out += ',';
      out += v.kind == Kind::list ? ']' : ')';
      return;
    }
    case Kind::dict: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.as_dict().items) {
        if (!first) out += ", ";
        first = false;
        py_repr_string(out, k);
        out += ": ";
        append_repr(out, x);
      }
      out += '}';
      return;
    }
    case Kind::ns: {
      out += "<Namespace {";
      bool first = true;
      for (const auto& [k, x] : v.as_namespace().items) {
        if (!first) out += ", ";
        first = false;
        py_repr_string(out, k);
        out += ": ";
        append_repr(out, x);
      }
      out += "}>";
      return;
    }
    case Kind::undefined: out += "Undefined"; return;
    default: append_str(out, v); return;
  }
}

// Python's ==, across kinds (1 == 1.0 == True).
inline bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Kind::floating || b.kind == Kind::floating) {
      const double x = a.kind == Kind::floating ? a.f : double(a.kind == Kind::boolean ? a.b : a.i);
      const double y = b.kind == Kind::floating ? b.f : double(b.kind == Kind::boolean ? b.b : b.i);
      return x == y;
    }
    const int64_t x = a.kind == Kind::boolean ? a.b : a.i;
    const int64_t y = b.kind == Kind::boolean ? b.b : b.i;
    return x == y;
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::undefined:
    case Kind::none: return true;
    case Kind::string: return a.s == b.s;
    case Kind::list:
    case Kind::tuple: {
      const auto& x = a.as_list().items;
      const auto& y = b.as_list().items;
      if (x.size() != y.size()) return false;
      for (size_t k = 0; k < x.size(); ++k)
        if (!equals(x[k], y[k])) return false;
      return true;
    }
    case Kind::dict: {
      const auto& x = a.as_dict();
      const auto& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* w = y.find(k);
        if (!w || !equals(v, *w)) return false;
      }
      return true;
    }
    case Kind::builtin: return a.i == b.i;
    default: return a.obj == b.obj;
  }
}

// len(x).
inline int64_t length(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return 0;
    case Kind::string: return int64_t(code_points(v.s));
    case Kind::list:
    case Kind::tuple: return int64_t(v.as_list().items.size());
    case Kind::dict: return int64_t(v.as_dict().items.size());
    case Kind::ns: return int64_t(v.as_namespace().items.size());
    default: runtime_error("object of type '" + std::string(type_name(v)) + "' has no len()");
  }
}

// Calls f(item) for each item of iter(x); f returns false to stop.
template <typename F>
void for_each_item(const Value& v, F&& f) {
  switch (v.kind) {
    case Kind::undefined: return;
    case Kind::list:
    case Kind::tuple:
    case Kind::generator:
      for (const auto& x : v.as_list().items)
        if (!f(x)) return;
      return;
    case Kind::dict:
      for (const auto& kv : v.as_dict().items)
        if (!f(Value::string(kv.first))) return;
      return;
    case Kind::string:
      for (size_t k = 0; k < v.s.size();) {
        const size_t start = k;
        utf8::next(v.s, k);
        if (!f(Value::string(v.s.substr(start, k - start)))) return;
      }
      return;
    default: runtime_error("'" + std::string(type_name(v)) + "' object is not iterable");
  }
}

inline std::vector<Value> to_items(const Value& v) {
  if (v.is_sequence_like()) return v.as_list().items;
  std::vector<Value> out;
  for_each_item(v, [&](const Value& x) {
    out.push_back(x);
    return true;
  });
  return out;
}

}  // namespace zest::detail::jinja
