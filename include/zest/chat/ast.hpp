// The parsed template: expressions and statements, built once by the parser, read by the renderer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "zest/chat/value.hpp"

namespace zest::detail::jinja {

enum class ExprKind : uint8_t {
  literal,    // value
  name,       // name
  list,       // items
  tuple,      // items
  dict,       // items: key, value, key, value...
  getattr,    // a.name
  getitem,    // a[b]
  slice,      // a[b:c:d], each of b, c, d may be null
  call,       // a(args)
  filter,     // a|name(args); a null = the body of a filter block or block set
  test,       // a is name(args); negated
  not_,       // not a
  neg,        // -a
  pos,        // +a
  binary,     // a op b: + - * / // % ** ~
  compare,    // a (op b)...: the chain in `compares`
  and_,       // a and b
  or_,        // a or b
  cond,       // b if a else c (c may be null)
};

enum class BinOp : uint8_t { add, sub, mul, div, floordiv, mod, pow, concat };
enum class CmpOp : uint8_t { eq, ne, lt, le, gt, ge, in, not_in };

struct Expr;
// Expr::methods: x.name is a method of these kinds of value (else an item, or undefined).
enum MethodOf : uint8_t { method_of_dict = 1, method_of_str = 2, method_of_list = 4, method_of_tuple = 8 };
using ExprPtr = std::unique_ptr<Expr>;

struct Arg {
  std::string name;  // empty: positional
  ExprPtr value;
};

struct Expr {
  ExprKind kind = ExprKind::literal;
  size_t pos = 0;  // byte offset in the source, for messages
  Value value;
  std::string name;
  int id = 0;  // filter or test id, resolved when parsed
  // Set once parsed (annotate): whether evaluating this expression may call a macro, a caller or a
  // method (the only ways an expression runs template code or changes a value in place), and for
  // getattr, which kinds of value have a method called `name` (method_of bits).
  bool calls = false;
  uint8_t methods = 0;
  BinOp op = BinOp::add;
  bool negated = false;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::vector<Arg> args;
  std::vector<std::pair<CmpOp, ExprPtr>> compares;
};

enum class NodeKind : uint8_t {
  text,         // text
  output,       // {{ expr }}
  if_,          // branches (cond, body); else_body
  for_,         // targets in expr [if cond]: body, else_body
  set,          // targets (or attr of targets[0]) = expr
  set_block,    // {% set targets[0] [| filter] %}body{% endset %}: expr = filter chain or null
  macro,        // name(params = defaults): body
  call_block,   // {% call(params) expr %}body{% endcall %}
  filter_block, // {% filter expr %}body{% endfilter %}
  generation,   // {% generation %}body{% endgeneration %}
  break_,
  continue_,
  with,         // {% with targets = values %}body{% endwith %}
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
  NodeKind kind = NodeKind::text;
  size_t pos = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<std::string> targets;
  std::string attr;  // set ns.attr
  // macros and call blocks
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param, null where none
  std::vector<ExprPtr> values;    // with: one per target
  bool uses_caller = false, uses_varargs = false, uses_kwargs = false;
  bool recursive = false;
};

}  // namespace zest::detail::jinja
