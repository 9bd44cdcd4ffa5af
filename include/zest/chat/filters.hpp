// Filters, tests and Python methods (str.split, dict.get, ...) with jinja2 3.1's semantics, and
// transformers' own `tojson`. Filters that are generators in jinja2 (select, map, unique, items,
// ...) return a generator value: iterable, true, and without len(), as there.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/chat/access.hpp"
#include "zest/chat/json.hpp"
#include "zest/chat/names.hpp"
#include "zest/chat/operators.hpp"

namespace zest::detail::jinja {

// A call's evaluated arguments.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;

  // The argument at `index` or named `name`; `fallback` when neither was passed.
  // By value: callers pass temporaries as the fallback.
  Value get(size_t index, std::string_view name, const Value& fallback) const {
    if (index < pos.size()) return pos[index];
    for (const auto& [k, v] : kw)
      if (k == name) return v;
    return fallback;
  }
  bool has(size_t index, std::string_view name) const {
    if (index < pos.size()) return true;
    for (const auto& kv : kw)
      if (kv.first == name) return true;
    return false;
  }
  // Refuses more positional arguments than `max`, and keywords not in `names`.
  void check(std::string_view what, size_t max, std::initializer_list<std::string_view> names) const {
    if (pos.size() > max)
      runtime_error(std::string(what) + "() takes at most " + std::to_string(max) + " arguments (" +
                    std::to_string(pos.size()) + " given)");
    for (const auto& kv : kw)
      if (std::find(names.begin(), names.end(), kv.first) == names.end())
        runtime_error(std::string(what) + "() got an unexpected keyword argument '" + kv.first + "'");
  }
};

inline const Value& none_value() {
  static const Value v = Value::none();
  return v;
}

inline int64_t as_int_arg(const Value& v, std::string_view what) {
  if (v.kind == Kind::integer) return v.i;
  if (v.kind == Kind::boolean) return v.b;
  runtime_error("'" + std::string(type_name(v)) + "' object cannot be interpreted as an integer (" +
                std::string(what) + ")");
}

// ---- tests ----

inline bool run_test(TestId id, const Value& v, const Args& args) {
  const auto arg0 = [&]() -> const Value& {
    if (args.pos.empty()) runtime_error("test is missing an argument");
    return args.pos[0];
  };
  switch (id) {
    case TestId::defined: return v.kind != Kind::undefined;
    case TestId::undefined: return v.kind == Kind::undefined;
    case TestId::none: return v.kind == Kind::none;
    case TestId::boolean: return v.kind == Kind::boolean;
    case TestId::true_: return v.kind == Kind::boolean && v.b;
    case TestId::false_: return v.kind == Kind::boolean && !v.b;
    case TestId::integer: return v.kind == Kind::integer;
    case TestId::float_: return v.kind == Kind::floating;
    case TestId::number: return v.is_number();
    case TestId::string: return v.kind == Kind::string;
    case TestId::mapping: return v.kind == Kind::dict;
    case TestId::iterable:
      return v.kind == Kind::list || v.kind == Kind::tuple || v.kind == Kind::dict || v.kind == Kind::string ||
             v.kind == Kind::generator || v.kind == Kind::undefined || v.kind == Kind::loop;
    case TestId::sequence:
      return v.kind == Kind::list || v.kind == Kind::tuple || v.kind == Kind::dict || v.kind == Kind::string ||
             v.kind == Kind::undefined;
    case TestId::callable: return v.is_callable();
    case TestId::escaped: return false;
    case TestId::odd:
    case TestId::even: {
      if (v.kind == Kind::undefined) runtime_error(v.s);
      if (!v.is_number()) runtime_error("unsupported operand type(s) for %: '" + std::string(type_name(v)) + "' and 'int'");
      const bool odd = v.kind == Kind::floating ? py_fmod(v.f, 2) == 1 : (int_of(v) % 2 != 0);
      return id == TestId::odd ? odd : !odd;
    }
    case TestId::divisibleby: {
      const Value m = binary_op(BinOp::mod, v, arg0(), Limits{});
      return equals(m, Value::integer(0));
    }
    case TestId::eq: return equals(v, arg0());
    case TestId::ne: return !equals(v, arg0());
    case TestId::lt: return compare_order(v, arg0(), "<") < 0;
    case TestId::le: return compare_order(v, arg0(), "<=") <= 0;
    case TestId::gt: return compare_order(v, arg0(), ">") > 0;
    case TestId::ge: return compare_order(v, arg0(), ">=") >= 0;
    case TestId::in: return contains(arg0(), v);
    case TestId::sameas: {
      const Value& o = arg0();
      if (v.kind != o.kind) return false;
      if (v.kind == Kind::none || v.kind == Kind::undefined) return v.kind == Kind::none;
      if (v.kind == Kind::boolean) return v.b == o.b;
      // CPython caches the small ints, and a template's equal string constants are one object.
      if (v.kind == Kind::integer) return v.i == o.i && v.i >= -5 && v.i <= 256;
      if (v.kind == Kind::string) return v.s == o.s;
      if (v.obj) return v.obj == o.obj;
      return false;
    }
    case TestId::lower: {
      const std::string s = to_str(v);
      bool cased = false;
      for (size_t k = 0; k < s.size();) {
        const char32_t c = utf8::next(s, k);
        if (py_isupper_char(c)) return false;
        cased = cased || py_islower_char(c);
      }
      return cased;
    }
    case TestId::upper: {
      const std::string s = to_str(v);
      bool cased = false;
      for (size_t k = 0; k < s.size();) {
        const char32_t c = utf8::next(s, k);
        if (py_islower_char(c)) return false;
        cased = cased || py_isupper_char(c);
      }
      return cased;
    }
    case TestId::filter: return v.kind == Kind::string && filter_id(v.s) >= 0;
    case TestId::test: return v.kind == Kind::string && test_id(v.s) >= 0;
  }
  return false;
}

inline TestId test_by_name(const Value& name) {
  if (name.kind != Kind::string) runtime_error("test name must be a string");
  const int id = test_id(name.s);
  if (id < 0) fail(Error::Kind::unsupported, "chat template: no test named '", name.s, "'");
  return TestId(id);
}

// ---- attribute paths (selectattr, map, sort, ...): "a.b.0" through getitem ----

inline Value attribute_path(const Value& item, std::string_view path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = digits ? get_item(v, Value::integer(std::stoll(std::string(part)))) : get_item(v, Value::string(std::string(part)));
    if (dot == std::string_view::npos) return v;
    start = dot + 1;
  }
}

inline Value attribute_arg(const Value& item, const Value& attribute) {
  if (attribute.kind == Kind::integer) return get_item(item, attribute);
  if (attribute.kind != Kind::string) runtime_error("attribute must be a string or an integer");
  return attribute_path(item, attribute.s);
}

// ---- filters ----

// jinja2's sort key: strings compare case-insensitively unless case_sensitive.
inline Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.kind == Kind::string) return Value::string(py_lower(v.s));
  return v;
}

inline std::string do_indent(const std::string& text, const Value& width, bool first, bool blank) {
  std::string indention;
  if (width.kind == Kind::string)
    indention = width.s;
  else
    indention.assign(size_t(std::max<int64_t>(0, as_int_arg(width, "indent width"))), ' ');
  const std::vector<std::string> lines = py_splitlines(text + "\n");
  std::string rv;
  if (blank) {
    for (size_t k = 0; k < lines.size(); ++k) {
      if (k) rv += "\n" + indention;
      rv += lines[k];
    }
  } else {
    rv = lines.empty() ? std::string() : lines[0];
    for (size_t k = 1; k < lines.size(); ++k) {
      rv += '\n';
      if (!lines[k].empty()) rv += indention;
      rv += lines[k];
    }
  }
  if (first) rv = indention + rv;
  return rv;
}

inline Value do_tojson(const Value& v, const Args& args) {
  args.check("tojson", 4, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions o;
  o.ensure_ascii = truthy(args.get(0, "ensure_ascii", Value::boolean(false)));
  const Value& indent = args.get(1, "indent", none_value());
  if (indent.kind == Kind::integer || indent.kind == Kind::boolean)
    o.indent = std::string(size_t(std::max<int64_t>(0, int_of(indent))), ' ');
  else if (indent.kind == Kind::string)
    o.indent = indent.s;
  else if (indent.kind != Kind::none)
    runtime_error("tojson: indent must be an integer or a string");
  if (o.indent) o.item_separator = ",";
  const Value& separators = args.get(2, "separators", none_value());
  if (separators.kind == Kind::list || separators.kind == Kind::tuple) {
    const auto& s = separators.as_list().items;
    if (s.size() != 2 || s[0].kind != Kind::string || s[1].kind != Kind::string)
      runtime_error("tojson: separators must be two strings");
    o.item_separator = s[0].s;
    o.key_separator = s[1].s;
  } else if (separators.kind != Kind::none) {
    runtime_error("tojson: separators must be a (item, key) pair");
  }
  o.sort_keys = truthy(args.get(3, "sort_keys", Value::boolean(false)));
  std::string out;
  to_json_text(out, v, o, 0);
  return Value::string(std::move(out));
}

inline Value generator(std::vector<Value> items) { return Value::list(std::move(items), Kind::generator); }

Value apply_filter(FilterId id, const Value& v, const Args& args, const Limits& limits);

inline Value select_or_reject(const Value& v, const Args& args, bool select, bool by_attribute, const Limits& limits) {
  std::vector<Value> out;
  const size_t first_test_arg = by_attribute ? 1 : 0;
  const bool has_test = args.pos.size() > first_test_arg;
  TestId id{};
  Args test_args;
  if (has_test) {
    id = test_by_name(args.pos[first_test_arg]);
    test_args.pos.assign(args.pos.begin() + long(first_test_arg) + 1, args.pos.end());
    test_args.kw = args.kw;
  }
  if (by_attribute && args.pos.empty()) runtime_error("selectattr/rejectattr need an attribute");
  for_each_item(v, [&](const Value& item) {
    const Value x = by_attribute ? attribute_arg(item, args.pos[0]) : item;
    const bool passed = has_test ? run_test(id, x, test_args) : truthy(x);
    if (passed == select) out.push_back(item);
    return true;
  });
  check_items(out.size(), limits);
  return generator(std::move(out));
}

inline Value apply_filter(FilterId id, const Value& v, const Args& args, const Limits& limits) {
  const auto str_arg = [&](size_t index, std::string_view name, const Value& fallback) -> std::string {
    return to_str(args.get(index, name, fallback));
  };
  switch (id) {
    case FilterId::safe:
    case FilterId::string:
      if (v.kind == Kind::string) return v;
      return Value::string(to_str(v));
    case FilterId::trim: {
      const Value& chars = args.get(0, "chars", none_value());
      std::string text;
      const std::string_view view = v.kind == Kind::string ? std::string_view(v.s) : std::string_view(text = to_str(v));
      if (chars.kind == Kind::none) return Value::string(std::string(py_strip(view, true, true)));
      const std::u32string set = to_u32(to_str(chars));
      return Value::string(std::string(py_strip(view, true, true, &set)));
    }
    case FilterId::tojson: return do_tojson(v, args);
    case FilterId::length:
    case FilterId::count: return Value::integer(length(v));
    case FilterId::upper: return Value::string(py_upper(to_str(v)));
    case FilterId::lower: return Value::string(py_lower(to_str(v)));
    case FilterId::capitalize: return Value::string(py_capitalize(to_str(v)));
    case FilterId::title: {
      // jinja2's do_title: words start after -, whitespace, (, {, [ or <.
      const std::string s = to_str(v);
      std::string out;
      bool word_start = true;
      for (size_t k = 0; k < s.size();) {
        const char32_t c = utf8::next(s, k);
        const bool sep = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        utf8::append(out, sep ? c : word_start ? to_upper(c) : to_lower(c));
        word_start = sep;
      }
      return Value::string(std::move(out));
    }
    case FilterId::replace: {
      const Value& count = args.get(2, "count", none_value());
      std::string out = py_replace(to_str(v), str_arg(0, "old", Value::string("")), str_arg(1, "new", Value::string("")),
                                   count.kind == Kind::none ? -1 : as_int_arg(count, "replace count"));
      check_bytes(out.size(), limits);
      return Value::string(std::move(out));
    }
    case FilterId::default_: {
      const Value& fallback = args.get(0, "default_value", Value::string(""));
      const bool boolean = truthy(args.get(1, "boolean", Value::boolean(false)));
      if (v.kind == Kind::undefined || (boolean && !truthy(v))) return fallback;
      return v;
    }
    case FilterId::first: {
      Value out = Value::undefined("No first item, sequence was empty.");
      for_each_item(v, [&](const Value& x) {
        out = x;
        return false;
      });
      return out;
    }
    case FilterId::last: {
      if (v.kind == Kind::generator) runtime_error("'generator' object is not reversible");
      std::vector<Value> items = to_items(v);
      if (items.empty()) return Value::undefined("No last item, sequence was empty.");
      return items.back();
    }
    case FilterId::list:
      if (v.kind == Kind::list) return v;
      return Value::list(to_items(v));
    case FilterId::items: {
      if (v.kind == Kind::undefined) return generator({});
      if (v.kind != Kind::dict) runtime_error("Can only get item pairs from a mapping.");
      std::vector<Value> out;
      for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::list({Value::string(k), x}, Kind::tuple));
      return generator(std::move(out));
    }
    case FilterId::dictsort: {
      if (v.kind != Kind::dict) runtime_error("dictsort: can only sort a mapping");
      const bool case_sensitive = truthy(args.get(0, "case_sensitive", Value::boolean(false)));
      const std::string by = str_arg(1, "by", Value::string("key"));
      const bool reverse = truthy(args.get(2, "reverse", Value::boolean(false)));
      std::vector<Value> out;
      for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::list({Value::string(k), x}, Kind::tuple));
      const size_t pos = by == "key" ? 0 : by == "value" ? 1 : 2;
      if (pos == 2) runtime_error("You can only sort by either \"key\" or \"value\"");
      std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
        const int c = compare_order(sort_key(a.as_list().items[pos], case_sensitive),
                                    sort_key(b.as_list().items[pos], case_sensitive), "<");
        return reverse ? c > 0 : c < 0;
      });
      return Value::list(std::move(out));
    }
    case FilterId::join: {
      const std::string sep = str_arg(0, "d", Value::string(""));
      const Value& attribute = args.get(1, "attribute", none_value());
      std::string out;
      bool first = true;
      for_each_item(v, [&](const Value& x) {
        if (!first) out += sep;
        first = false;
        append_str(out, attribute.kind == Kind::none ? x : attribute_arg(x, attribute));
        check_bytes(out.size(), limits);
        return true;
      });
      return Value::string(std::move(out));
    }
    case FilterId::int_: {
      const Value& fallback = args.get(0, "default", Value::integer(0));
      const int64_t base = as_int_arg(args.get(1, "base", Value::integer(10)), "int base");
      if (v.kind == Kind::integer) return v;
      if (v.kind == Kind::boolean) return Value::integer(v.b);
      if (v.kind == Kind::floating) return std::isfinite(v.f) ? Value::integer(int64_t(v.f)) : fallback;
      if (v.kind == Kind::string) {
        const std::string s(py_strip(v.s, true, true));
        std::string digits;
        for (const char c : s)
          if (c != '_') digits += c;
        try {
          size_t used = 0;
          const long long r = std::stoll(digits, &used, int(base));
          if (used == digits.size() && !digits.empty()) return Value::integer(r);
        } catch (...) {
        }
        try {
          size_t used = 0;
          const double d = std::stod(s, &used);
          if (used == s.size() && std::isfinite(d)) return Value::integer(int64_t(d));
        } catch (...) {
        }
      }
      return fallback;
    }
    case FilterId::float_: {
      const Value& fallback = args.get(0, "default", Value::floating(0.0));
      if (v.kind == Kind::floating) return v;
      if (v.kind == Kind::integer || v.kind == Kind::boolean) return Value::floating(float_of(v));
      if (v.kind == Kind::string) {
        const std::string s(py_strip(v.s, true, true));
        try {
          size_t used = 0;
          const double d = std::stod(s, &used);
          if (used == s.size()) return Value::floating(d);
        } catch (...) {
        }
      }
      return fallback;
    }
    case FilterId::abs:
      if (v.kind == Kind::integer) return Value::integer(v.i < 0 ? -v.i : v.i);
      if (v.kind == Kind::boolean) return Value::integer(v.b);
      if (v.kind == Kind::floating) return Value::floating(std::fabs(v.f));
      runtime_error("bad operand type for abs(): '" + std::string(type_name(v)) + "'");
    case FilterId::round: {
      const int64_t precision = as_int_arg(args.get(0, "precision", Value::integer(0)), "round precision");
      const std::string method = str_arg(1, "method", Value::string("common"));
      if (!v.is_number()) runtime_error("round: a number is required");
      const double scale = std::pow(10.0, double(precision));
      const double x = float_of(v) * scale;
      double r;
      if (method == "common")
        r = std::nearbyint(x);  // Python's round(): halves to even
      else if (method == "ceil")
        r = std::ceil(x);
      else if (method == "floor")
        r = std::floor(x);
      else
        runtime_error("method must be common, ceil or floor");
      return Value::floating(r / scale);
    }
    case FilterId::wordcount: {
      const std::string s = to_str(v);
      int64_t n = 0;
      bool in_word = false;
      for (size_t k = 0; k < s.size();) {
        const char32_t c = utf8::next(s, k);
        const bool w = c == '_' || py_isalnum(c);
        if (w && !in_word) ++n;
        in_word = w;
      }
      return Value::integer(n);
    }
    case FilterId::indent: {
      std::string out = do_indent(to_str(v), args.get(0, "width", Value::integer(4)),
                                  truthy(args.get(1, "first", Value::boolean(false))),
                                  truthy(args.get(2, "blank", Value::boolean(false))));
      check_bytes(out.size(), limits);
      return Value::string(std::move(out));
    }
    case FilterId::unique: {
      const bool case_sensitive = truthy(args.get(0, "case_sensitive", Value::boolean(false)));
      const Value& attribute = args.get(1, "attribute", none_value());
      std::vector<Value> out, seen;
      for_each_item(v, [&](const Value& x) {
        const Value key = sort_key(attribute.kind == Kind::none ? x : attribute_arg(x, attribute), case_sensitive);
        for (const auto& s : seen)
          if (equals(s, key)) return true;
        seen.push_back(key);
        out.push_back(x);
        return true;
      });
      return generator(std::move(out));
    }
    case FilterId::reverse: {
      if (v.kind == Kind::string) {
        std::u32string u = to_u32(v.s);
        std::reverse(u.begin(), u.end());
        return Value::string(from_u32(u));
      }
      if (v.kind == Kind::generator) runtime_error("argument to reversed() must be a sequence");
      std::vector<Value> items = to_items(v);
      std::reverse(items.begin(), items.end());
      return generator(std::move(items));
    }
    case FilterId::sort: {
      const bool reverse = truthy(args.get(0, "reverse", Value::boolean(false)));
      const bool case_sensitive = truthy(args.get(1, "case_sensitive", Value::boolean(false)));
      const Value& attribute = args.get(2, "attribute", none_value());
      std::vector<Value> items = to_items(v);
      std::vector<Value> keys;
      for (const auto& x : items)
        keys.push_back(sort_key(attribute.kind == Kind::none ? x : attribute_arg(x, attribute), case_sensitive));
      std::vector<size_t> order(items.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int c = compare_order(keys[a], keys[b], "<");
        return reverse ? c > 0 : c < 0;
      });
      std::vector<Value> out;
      for (const size_t k : order) out.push_back(items[k]);
      return Value::list(std::move(out));
    }
    case FilterId::min:
    case FilterId::max: {
      const bool case_sensitive = truthy(args.get(0, "case_sensitive", Value::boolean(false)));
      const Value& attribute = args.get(1, "attribute", none_value());
      std::vector<Value> items = to_items(v);
      if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
      size_t best = 0;
      Value best_key = sort_key(attribute.kind == Kind::none ? items[0] : attribute_arg(items[0], attribute), case_sensitive);
      for (size_t k = 1; k < items.size(); ++k) {
        const Value key = sort_key(attribute.kind == Kind::none ? items[k] : attribute_arg(items[k], attribute), case_sensitive);
        const int c = compare_order(key, best_key, "<");
        if (id == FilterId::min ? c < 0 : c > 0) {
          best = k;
          best_key = key;
        }
      }
      return items[best];
    }
    case FilterId::sum: {
      const Value& attribute = args.get(0, "attribute", none_value());
      Value total = args.get(1, "start", Value::integer(0));
      for_each_item(v, [&](const Value& x) {
        total = binary_op(BinOp::add, total, attribute.kind == Kind::none ? x : attribute_arg(x, attribute), limits);
        return true;
      });
      return total;
    }
    case FilterId::select:
    case FilterId::reject: return select_or_reject(v, args, id == FilterId::select, false, limits);
    case FilterId::selectattr:
    case FilterId::rejectattr: return select_or_reject(v, args, id == FilterId::selectattr, true, limits);
    case FilterId::map: {
      std::vector<Value> out;
      if (args.pos.empty()) {
        const Value& attribute = args.get(99, "attribute", none_value());
        if (attribute.kind == Kind::none) runtime_error("map requires a filter argument");
        const bool has_default = args.has(99, "default");
        const Value& fallback = args.get(99, "default", none_value());
        for_each_item(v, [&](const Value& x) {
          Value y = attribute_arg(x, attribute);
          if (has_default && y.kind == Kind::undefined) y = fallback;
          out.push_back(std::move(y));
          return true;
        });
        return generator(std::move(out));
      }
      if (args.pos[0].kind != Kind::string) runtime_error("map: the filter name must be a string");
      const int fid = filter_id(args.pos[0].s);
      if (fid < 0) fail(Error::Kind::unsupported, "chat template: no filter named '", args.pos[0].s, "'");
      Args rest;
      rest.pos.assign(args.pos.begin() + 1, args.pos.end());
      rest.kw = args.kw;
      for_each_item(v, [&](const Value& x) {
        out.push_back(apply_filter(FilterId(fid), x, rest, limits));
        return true;
      });
      return generator(std::move(out));
    }
    case FilterId::attr: {
      const Value& name = args.get(0, "name", none_value());
      if (name.kind != Kind::string) runtime_error("attr: the name must be a string");
      // Python's getattr only: a dict's keys are not its attributes.
      if (v.kind == Kind::dict && !is_dict_method(name.s)) return undefined_attribute(v, name.s);
      return get_attribute(v, name.s);
    }
    case FilterId::escape: {
      const std::string s = to_str(v);
      std::string out;
      for (const char c : s) {
        switch (c) {
          case '&': out += "&amp;"; break;
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '"': out += "&#34;"; break;
          case '\'': out += "&#39;"; break;
          default: out += c;
        }
      }
      return Value::string(std::move(out));
    }
  }
  fail(Error::Kind::unsupported, "chat template: filter not implemented");
}

// ---- methods ----

[[noreturn]] inline void unsafe_method(const Value& receiver, std::string_view name) {
  fail(Error::Kind::input, "access to attribute '", name, "' of '", type_name(receiver), "' object is unsafe.");
}

// str.format: {} {0} {name} and {{ }}; conversions and format specs are refused.
inline std::string str_format(const std::string& format, const Args& args, const Limits& limits) {
  std::string out;
  size_t auto_index = 0;
  for (size_t k = 0; k < format.size(); ++k) {
    const char c = format[k];
    if (c == '{' && k + 1 < format.size() && format[k + 1] == '{') {
      out += '{';
      ++k;
      continue;
    }
    if (c == '}' && k + 1 < format.size() && format[k + 1] == '}') {
      out += '}';
      ++k;
      continue;
    }
    if (c == '}') runtime_error("Single '}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t end = format.find('}', k);
    if (end == std::string::npos) runtime_error("Single '{' encountered in format string");
    const std::string field = format.substr(k + 1, end - k - 1);
    if (field.find_first_of("!:[.") != std::string::npos)
      fail(Error::Kind::unsupported, "chat template: str.format field '{", field, "}'");
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.pos.size()) runtime_error("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = &args.pos[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t index = size_t(std::stoul(field));
      if (index >= args.pos.size()) runtime_error("Replacement index " + field + " out of range for positional args tuple");
      v = &args.pos[index];
    } else {
      for (const auto& [name, x] : args.kw)
        if (name == field) v = &x;
      if (!v) runtime_error("'" + field + "'");
    }
    append_str(out, *v);
    check_bytes(out.size(), limits);
    k = end;
  }
  return out;
}

inline bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
  const auto one = [&](const Value& a) {
    if (a.kind != Kind::string)
      runtime_error(std::string(start ? "startswith" : "endswith") + " first arg must be str or a tuple of str, not " +
                    std::string(type_name(a)));
    if (a.s.size() > s.size()) return false;
    return start ? s.compare(0, a.s.size(), a.s) == 0 : s.compare(s.size() - a.s.size(), a.s.size(), a.s) == 0;
  };
  if (affix.kind == Kind::tuple) {
    for (const auto& a : affix.as_list().items)
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

inline Value str_method(const Value& self, std::string_view name, const Args& args, const Limits& limits) {
  const std::string& s = self.s;
  const auto strip = [&](bool left, bool right) {
    const Value& chars = args.get(0, "chars", none_value());
    if (chars.kind == Kind::none) return Value::string(std::string(py_strip(s, left, right)));
    if (chars.kind != Kind::string) runtime_error("strip arg must be None or str");
    const std::u32string set = to_u32(chars.s);
    return Value::string(std::string(py_strip(s, left, right, &set)));
  };
  const auto string_list = [](std::vector<std::string> parts) {
    std::vector<Value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
    return Value::list(std::move(out));
  };
  const auto sub_arg = [&]() -> std::string {
    const Value a = args.get(0, "sub", none_value());
    if (a.kind != Kind::string) runtime_error("must be str, not " + std::string(type_name(a)));
    return a.s;
  };
  if (name == "strip") return strip(true, true);
  if (name == "lstrip") return strip(true, false);
  if (name == "rstrip") return strip(false, true);
  if (name == "upper") return Value::string(py_upper(s));
  if (name == "lower") return Value::string(py_lower(s));
  if (name == "title") return Value::string(py_title(s));
  if (name == "capitalize") return Value::string(py_capitalize(s));
  if (name == "split" || name == "rsplit") {
    const Value& sep = args.get(0, "sep", none_value());
    const int64_t maxsplit = as_int_arg(args.get(1, "maxsplit", Value::integer(-1)), "maxsplit");
    if (sep.kind == Kind::none) {
      if (name == "rsplit" && maxsplit >= 0) fail(Error::Kind::unsupported, "chat template: str.rsplit() on whitespace with maxsplit");
      return string_list(py_split(s, nullptr, maxsplit));
    }
    if (sep.kind != Kind::string) runtime_error("must be str or None, not " + std::string(type_name(sep)));
    if (sep.s.empty()) runtime_error("empty separator");
    return string_list(name == "split" ? py_split(s, &sep.s, maxsplit) : py_rsplit(s, sep.s, maxsplit));
  }
  if (name == "splitlines") return string_list(py_splitlines(s));
  if (name == "startswith" || name == "endswith") {
    if (args.pos.size() > 1) fail(Error::Kind::unsupported, "chat template: str.", name, "() with start/end");
    return Value::boolean(starts_or_ends(s, args.get(0, "prefix", none_value()), name == "startswith"));
  }
  if (name == "replace") {
    const Value& a = args.get(0, "old", none_value());
    const Value& b = args.get(1, "new", none_value());
    if (a.kind != Kind::string || b.kind != Kind::string) runtime_error("replace() arguments must be str");
    std::string out = py_replace(s, a.s, b.s, as_int_arg(args.get(2, "count", Value::integer(-1)), "count"));
    check_bytes(out.size(), limits);
    return Value::string(std::move(out));
  }
  if (name == "format") return Value::string(str_format(s, args, limits));
  if (name == "join") {
    std::string out;
    bool first = true;
    for_each_item(args.get(0, "iterable", none_value()), [&](const Value& x) {
      if (x.kind != Kind::string) runtime_error("sequence item: expected str instance, " + std::string(type_name(x)) + " found");
      if (!first) out += s;
      first = false;
      out += x.s;
      check_bytes(out.size(), limits);
      return true;
    });
    return Value::string(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    if (args.pos.size() > 1) fail(Error::Kind::unsupported, "chat template: str.", name, "() with start/end");
    const std::string sub = sub_arg();
    if (name == "count") {
      if (sub.empty()) return Value::integer(int64_t(code_points(s)) + 1);
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value::integer(n);
    }
    const size_t at = name[0] == 'r' ? s.rfind(sub) : s.find(sub);
    if (at == std::string::npos) {
      if (name == "index" || name == "rindex") runtime_error("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(int64_t(code_points(std::string_view(s).substr(0, at))));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string a = sub_arg();
    if (name == "removeprefix" && s.compare(0, a.size(), a) == 0) return Value::string(s.substr(a.size()));
    if (name == "removesuffix" && !a.empty() && s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0)
      return Value::string(s.substr(0, s.size() - a.size()));
    return self;
  }
  const auto all_chars = [&](auto pred) {
    if (s.empty()) return Value::boolean(false);
    for (size_t k = 0; k < s.size();)
      if (!pred(utf8::next(s, k))) return Value::boolean(false);
    return Value::boolean(true);
  };
  if (name == "isdigit" || name == "isdecimal") return all_chars(py_isdigit);
  if (name == "isalpha") return all_chars(py_isalpha);
  if (name == "isalnum") return all_chars(py_isalnum);
  if (name == "isspace") return all_chars(py_isspace);
  if (name == "isupper" || name == "islower") {
    Args none;
    return Value::boolean(run_test(name == "isupper" ? TestId::upper : TestId::lower, self, none));
  }
  fail(Error::Kind::unsupported, "chat template: str.", name, "()");
}

inline Value call_method(const Value& self, std::string_view name, const Args& args, const Limits& limits) {
  switch (self.kind) {
    case Kind::string: return str_method(self, name, args, limits);
    case Kind::dict: {
      const Dict& d = self.as_dict();
      if (name == "get") {
        const Value& key = args.get(0, "key", none_value());
        const Value& fallback = args.get(1, "default", none_value());
        if (key.kind != Kind::string) return fallback;
        const Value* x = d.find(key.s);
        return x ? *x : fallback;
      }
      if (name == "items") {
        std::vector<Value> out;
        for (const auto& [k, x] : d.items) out.push_back(Value::list({Value::string(k), x}, Kind::tuple));
        return Value::list(std::move(out));
      }
      if (name == "keys") {
        std::vector<Value> out;
        for (const auto& kv : d.items) out.push_back(Value::string(kv.first));
        return Value::list(std::move(out));
      }
      if (name == "values") {
        std::vector<Value> out;
        for (const auto& kv : d.items) out.push_back(kv.second);
        return Value::list(std::move(out));
      }
      if (name == "copy") return self;
      unsafe_method(self, name);
    }
    case Kind::list:
    case Kind::tuple: {
      const auto& items = self.as_list().items;
      if (name == "count") {
        int64_t n = 0;
        for (const auto& x : items) n += equals(x, args.get(0, "value", none_value()));
        return Value::integer(n);
      }
      if (name == "index") {
        for (size_t k = 0; k < items.size(); ++k)
          if (equals(items[k], args.get(0, "value", none_value()))) return Value::integer(int64_t(k));
        runtime_error("value is not in list");
      }
      if (name == "copy" && self.kind == Kind::list) return self;
      unsafe_method(self, name);
    }
    case Kind::loop: {
      auto& s = static_cast<LoopState&>(*self.obj);
      if (name == "cycle") {
        if (args.pos.empty()) runtime_error("no items for cycling given");
        return args.pos[s.index % args.pos.size()];
      }
      if (name == "changed") {
        const Value now = Value::list(args.pos, Kind::tuple);
        const bool changed = !s.has_last_changed || !equals(now, s.last_changed);
        s.has_last_changed = true;
        s.last_changed = now;
        return Value::boolean(changed);
      }
      break;
    }
    default: break;
  }
  fail(Error::Kind::unsupported, "chat template: method ", type_name(self), ".", name, "()");
}

}  // namespace zest::detail::jinja
