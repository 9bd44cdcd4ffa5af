// Python's operators on the engine's values: arithmetic (int stays int, / gives float, // and %
// floor), + on str/list/tuple, * repeating, % formatting strings, comparisons and `in`, each
// failing with Python's own TypeError message. Results are held to the size limits.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "zest/chat/ast.hpp"
#include "zest/chat/value.hpp"

namespace zest::detail::jinja {

// Size limits on what one render may build (the public Options say what they are).
struct Limits {
  size_t max_bytes = size_t(64) << 20;  // any one string, and the output
  size_t max_items = size_t(1) << 20;   // any one list built by an operator or filter
};

inline void check_bytes(size_t n, const Limits& limits) {
  if (n > limits.max_bytes)
    fail(Error::Kind::input, "chat template: text of ", n, " bytes exceeds the limit of ", limits.max_bytes,
         " (ChatTemplate::Options::max_output_bytes)");
}
inline void check_items(size_t n, const Limits& limits) {
  if (n > limits.max_items)
    fail(Error::Kind::input, "chat template: a list of ", n, " items exceeds the limit of ", limits.max_items);
}

inline std::string_view op_symbol(BinOp op) {
  switch (op) {
    case BinOp::add: return "+";
    case BinOp::sub: return "-";
    case BinOp::mul: return "*";
    case BinOp::div: return "/";
    case BinOp::floordiv: return "//";
    case BinOp::mod: return "%";
    case BinOp::pow: return "** or pow()";
    case BinOp::concat: return "~";
  }
  return "?";
}

[[noreturn]] inline void unsupported_operands(BinOp op, const Value& a, const Value& b) {
  runtime_error("unsupported operand type(s) for " + std::string(op_symbol(op)) + ": '" + std::string(type_name(a)) +
                "' and '" + std::string(type_name(b)) + "'");
}

inline bool is_int_like(const Value& v) { return v.kind == Kind::integer || v.kind == Kind::boolean; }
inline int64_t int_of(const Value& v) { return v.kind == Kind::boolean ? int64_t(v.b) : v.i; }
inline double float_of(const Value& v) { return v.kind == Kind::floating ? v.f : double(int_of(v)); }

[[noreturn]] inline void int_overflow() {
  fail(Error::Kind::unsupported, "chat template: integer arithmetic beyond 64 bits");
}

inline double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

std::string percent_format(const std::string& format, const Value& args, const Limits& limits);

inline Value repeat(const Value& seq, int64_t times, const Limits& limits) {
  if (times < 0) times = 0;
  if (seq.kind == Kind::string) {
    check_bytes(size_t(times) * seq.s.size(), limits);
    std::string out;
    out.reserve(size_t(times) * seq.s.size());
    for (int64_t k = 0; k < times; ++k) out += seq.s;
    return Value::string(std::move(out));
  }
  const auto& items = seq.as_list().items;
  check_items(size_t(times) * items.size(), limits);
  std::vector<Value> out;
  for (int64_t k = 0; k < times; ++k) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.kind);
}

inline Value binary_op(BinOp op, const Value& a, const Value& b, const Limits& limits) {
  if (op == BinOp::concat) {
    std::string out = to_str(a);
    append_str(out, b);
    check_bytes(out.size(), limits);
    return Value::string(std::move(out));
  }
  if (a.kind == Kind::undefined) runtime_error(a.s);
  if (b.kind == Kind::undefined) runtime_error(b.s);
  const bool numbers = a.is_number() && b.is_number();
  const bool ints = numbers && is_int_like(a) && is_int_like(b);
  switch (op) {
    case BinOp::add:
      if (ints) {
        int64_t r;
        if (__builtin_add_overflow(int_of(a), int_of(b), &r)) int_overflow();
        return Value::integer(r);
      }
      if (numbers) return Value::floating(float_of(a) + float_of(b));
      if (a.kind == Kind::string && b.kind == Kind::string) {
        check_bytes(a.s.size() + b.s.size(), limits);
        return Value::string(a.s + b.s);
      }
      if ((a.kind == Kind::list || a.kind == Kind::tuple) && b.kind == a.kind) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        check_items(x.size() + y.size(), limits);
        std::vector<Value> out(x);
        out.insert(out.end(), y.begin(), y.end());
        return Value::list(std::move(out), a.kind);
      }
      if (a.kind == Kind::string || a.kind == Kind::list || a.kind == Kind::tuple)
        runtime_error("can only concatenate " + std::string(type_name(a)) + " (not \"" + std::string(type_name(b)) +
                      "\") to " + std::string(type_name(a)));
      unsupported_operands(op, a, b);
    case BinOp::sub:
      if (ints) {
        int64_t r;
        if (__builtin_sub_overflow(int_of(a), int_of(b), &r)) int_overflow();
        return Value::integer(r);
      }
      if (numbers) return Value::floating(float_of(a) - float_of(b));
      unsupported_operands(op, a, b);
    case BinOp::mul:
      if (ints) {
        int64_t r;
        if (__builtin_mul_overflow(int_of(a), int_of(b), &r)) int_overflow();
        return Value::integer(r);
      }
      if (numbers) return Value::floating(float_of(a) * float_of(b));
      if ((a.kind == Kind::string || a.kind == Kind::list || a.kind == Kind::tuple) && is_int_like(b))
        return repeat(a, int_of(b), limits);
      if ((b.kind == Kind::string || b.kind == Kind::list || b.kind == Kind::tuple) && is_int_like(a))
        return repeat(b, int_of(a), limits);
      if (a.kind == Kind::string || b.kind == Kind::string || a.kind == Kind::list || b.kind == Kind::list)
        runtime_error("can't multiply sequence by non-int of type '" +
                      std::string(type_name(a.kind == Kind::string || a.kind == Kind::list ? b : a)) + "'");
      unsupported_operands(op, a, b);
    case BinOp::div:
      if (numbers) {
        if (float_of(b) == 0) runtime_error(ints ? "division by zero" : "float division by zero");
        return Value::floating(float_of(a) / float_of(b));
      }
      unsupported_operands(op, a, b);
    case BinOp::floordiv:
      if (ints) {
        const int64_t x = int_of(a), y = int_of(b);
        if (y == 0) runtime_error("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) int_overflow();
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value::integer(q);
      }
      if (numbers) {
        if (float_of(b) == 0) runtime_error("float floor division by zero");
        return Value::floating(std::floor(float_of(a) / float_of(b)));
      }
      unsupported_operands(op, a, b);
    case BinOp::mod:
      if (a.kind == Kind::string) return Value::string(percent_format(a.s, b, limits));
      if (ints) {
        const int64_t x = int_of(a), y = int_of(b);
        if (y == 0) runtime_error("integer modulo by zero");
        if (y == -1) return Value::integer(0);
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value::integer(m);
      }
      if (numbers) {
        if (float_of(b) == 0) runtime_error("float modulo");
        return Value::floating(py_fmod(float_of(a), float_of(b)));
      }
      unsupported_operands(op, a, b);
    case BinOp::pow:
      if (ints && int_of(b) >= 0) {
        // By squaring: 1 ** (10 ** 18) must not loop 10 ** 18 times.
        int64_t r = 1, base = int_of(a);
        for (int64_t e = int_of(b); e > 0; e >>= 1) {
          if ((e & 1) && __builtin_mul_overflow(r, base, &r)) int_overflow();
          if (e > 1 && __builtin_mul_overflow(base, base, &base)) int_overflow();
        }
        return Value::integer(r);
      }
      if (numbers) return Value::floating(std::pow(float_of(a), float_of(b)));
      unsupported_operands(op, a, b);
    case BinOp::concat: break;
  }
  unsupported_operands(op, a, b);
}

// printf-style `str % args`: %s %r %d %i %% (flags, width and precision are refused).
inline std::string percent_format(const std::string& format, const Value& args, const Limits& limits) {
  std::vector<Value> values;
  if (args.kind == Kind::tuple)
    values = args.as_list().items;
  else
    values.push_back(args);
  size_t used = 0;
  std::string out;
  for (size_t k = 0; k < format.size(); ++k) {
    if (format[k] != '%') {
      out += format[k];
      continue;
    }
    if (++k >= format.size()) runtime_error("incomplete format");
    const char c = format[k];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (used >= values.size()) runtime_error("not enough arguments for format string");
    const Value& v = values[used++];
    if (c == 's') {
      append_str(out, v);
    } else if (c == 'r') {
      append_repr(out, v);
    } else if (c == 'd' || c == 'i') {
      if (!v.is_number()) runtime_error("%" + std::string(1, c) + " format: a real number is required, not " +
                                        std::string(type_name(v)));
      out += std::to_string(v.kind == Kind::floating ? int64_t(v.f) : int_of(v));
    } else {
      fail(Error::Kind::unsupported, "chat template: '%", c, "' in string formatting");
    }
    check_bytes(out.size(), limits);
  }
  if (used < values.size() && args.kind == Kind::tuple)
    runtime_error("not all arguments converted during string formatting");
  return out;
}

// a < b (and friends): numbers, strings, and lists or tuples element by element.
inline int compare_order(const Value& a, const Value& b, std::string_view symbol) {
  if (a.kind == Kind::undefined) runtime_error(a.s);
  if (b.kind == Kind::undefined) runtime_error(b.s);
  if (a.is_number() && b.is_number()) {
    if (is_int_like(a) && is_int_like(b)) return int_of(a) < int_of(b) ? -1 : int_of(a) > int_of(b) ? 1 : 0;
    const double x = float_of(a), y = float_of(b);
    return x < y ? -1 : x > y ? 1 : 0;  // NaN compares false both ways: treated as equal here
  }
  if (a.kind == Kind::string && b.kind == Kind::string) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if ((a.kind == Kind::list || a.kind == Kind::tuple) && a.kind == b.kind) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t k = 0; k < x.size() && k < y.size(); ++k)
      if (!equals(x[k], y[k])) return compare_order(x[k], y[k], symbol);
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  runtime_error("'" + std::string(symbol) + "' not supported between instances of '" + std::string(type_name(a)) +
                "' and '" + std::string(type_name(b)) + "'");
}

// item in container
inline bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::undefined: return false;
    case Kind::string:
      if (item.kind != Kind::string)
        runtime_error("'in <string>' requires string as left operand, not " + std::string(type_name(item)));
      return container.s.find(item.s) != std::string::npos;
    case Kind::list:
    case Kind::tuple:
    case Kind::generator:
      for (const auto& x : container.as_list().items)
        if (equals(x, item)) return true;
      return false;
    case Kind::dict: return item.kind == Kind::string && container.as_dict().find(item.s) != nullptr;
    default:
      runtime_error("argument of type '" + std::string(type_name(container)) + "' is not iterable");
  }
}

inline bool compare(CmpOp op, const Value& a, const Value& b) {
  switch (op) {
    case CmpOp::eq: return equals(a, b);
    case CmpOp::ne: return !equals(a, b);
    case CmpOp::lt: return compare_order(a, b, "<") < 0;
    case CmpOp::le: return compare_order(a, b, "<=") <= 0;
    case CmpOp::gt: return compare_order(a, b, ">") > 0;
    case CmpOp::ge: return compare_order(a, b, ">=") >= 0;
    case CmpOp::in: return contains(b, a);
    case CmpOp::not_in: return !contains(b, a);
  }
  return false;
}

}  // namespace zest::detail::jinja
