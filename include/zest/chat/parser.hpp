// Tokens -> statements and expressions, with jinja2's grammar and precedence (its parser.py):
// conditional < or < and < not < comparisons and `in` < + - < ~ < * / // % < ** < unary - + <
// postfix (.attr, [index], (call)) < filters and tests. A construct the engine does not run
// (extends, include, import, block, recursive loops, *args...) is an error naming it with its line
// and column, at parse time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zest/chat/access.hpp"
#include "zest/chat/ast.hpp"
#include "zest/chat/lexer.hpp"
#include "zest/chat/names.hpp"

namespace zest::detail::jinja {

// Nesting deeper than this (brackets, parentheses, blocks) is refused: no stack overflow on a
// hostile template. jinja2 itself stops near Python's recursion limit (1000 frames).
inline constexpr int max_parse_depth = 200;

class Parser {
 public:
  Parser(std::string_view source, std::vector<Token> tokens) : src_(source), tokens_(std::move(tokens)) {}

  Body parse() {
    Body body = subparse({});
    return body;
  }

 private:
  std::string_view src_;
  std::vector<Token> tokens_;
  size_t at_ = 0;
  int depth_ = 0;
  // Names seen while parsing a macro's body: caller, varargs, kwargs.
  int macro_level_ = 0;
  bool saw_caller_ = false, saw_varargs_ = false, saw_kwargs_ = false;

  struct DepthGuard {
    Parser& p;
    size_t pos;
    DepthGuard(Parser& parser, size_t at) : p(parser), pos(at) {
      if (++p.depth_ > max_parse_depth) p.error(pos, "nesting deeper than " + std::to_string(max_parse_depth));
    }
    ~DepthGuard() { --p.depth_; }
  };

  [[noreturn]] void error(size_t pos, const std::string& message) const { syntax_error(src_, pos, message); }
  [[noreturn]] void unsupported(size_t pos, const std::string& what) const {
    const auto [line, column] = line_column(src_, pos);
    fail(Error::Kind::unsupported, "chat template: unsupported construct ", what, " at line ", line, ", column ",
         column);
  }

  const Token& cur() const { return tokens_[at_]; }
  const Token& peek(size_t k = 1) const { return tokens_[std::min(at_ + k, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = tokens_[at_];
    if (at_ + 1 < tokens_.size()) ++at_;
    return t;
  }
  bool is_op(std::string_view op) const { return cur().type == Tok::op && cur().text == op; }
  bool is_name(std::string_view name) const { return cur().type == Tok::name && cur().text == name; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case Tok::eof: return "end of template";
      case Tok::var_end: return "end of print statement";
      case Tok::block_end: return "end of statement block";
      case Tok::name:
      case Tok::op: return "'" + t.text + "'";
      case Tok::string: return "string";
      case Tok::integer: return "integer";
      case Tok::floating: return "float";
      default: return "data";
    }
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) error(cur().pos, "expected '" + std::string(op) + "', got " + describe(cur()));
  }
  void expect(Tok type, std::string_view what) {
    if (cur().type != type) error(cur().pos, "expected " + std::string(what) + ", got " + describe(cur()));
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::name) error(cur().pos, "expected a name, got " + describe(cur()));
    return next().text;
  }

  // ---- statements ----

  Body subparse(std::initializer_list<std::string_view> end_tags) {
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::eof) {
        if (end_tags.size()) {
          std::string tags;
          for (const auto tag : end_tags) tags += (tags.empty() ? "'" : " or '") + std::string(tag) + "'";
          error(t.pos, "unexpected end of template, expected " + tags);
        }
        return body;
      }
      if (t.type == Tok::data) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::text;
        n->pos = t.pos;
        n->text = t.text;
        body.push_back(std::move(n));
        next();
      } else if (t.type == Tok::var_begin) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::output;
        n->pos = t.pos;
        next();
        n->expr = parse_tuple(true, {}, false);
        expect(Tok::var_end, "'}}'");
        body.push_back(std::move(n));
      } else if (t.type == Tok::block_begin) {
        const Token& name = peek();
        if (name.type == Tok::name)
          for (const auto tag : end_tags)
            if (name.text == tag) {
              next();  // leaves the stream at the tag's name
              return body;
            }
        next();
        body.push_back(parse_statement());
      } else {
        error(t.pos, "unexpected " + describe(t));
      }
    }
  }

  void end_block() { expect(Tok::block_end, "'%}'"); }

  std::unique_ptr<Node> make(NodeKind kind, size_t pos) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    return n;
  }

  std::unique_ptr<Node> parse_statement() {
    const Token& t = cur();
    if (t.type != Tok::name) error(t.pos, "tag name expected");
    const size_t pos = t.pos;
    const std::string tag = t.text;
    DepthGuard guard(*this, pos);
    next();
    if (tag == "if") return parse_if(pos);
    if (tag == "for") return parse_for(pos);
    if (tag == "set") return parse_set(pos);
    if (tag == "macro") return parse_macro(pos);
    if (tag == "call") return parse_call_block(pos);
    if (tag == "filter") return parse_filter_block(pos);
    if (tag == "with") return parse_with(pos);
    if (tag == "generation") {
      auto n = make(NodeKind::generation, pos);
      end_block();
      n->body = subparse({"endgeneration"});
      next();
      end_block();
      return n;
    }
    if (tag == "break" || tag == "continue") {
      auto n = make(tag == "break" ? NodeKind::break_ : NodeKind::continue_, pos);
      end_block();
      return n;
    }
    if (tag == "print") {
      auto n = make(NodeKind::output, pos);
      n->expr = parse_tuple(true, {}, false);
      end_block();
      return n;
    }
    if (tag == "extends" || tag == "include" || tag == "import" || tag == "from" || tag == "block" ||
        tag == "autoescape" || tag == "trans" || tag == "do")
      unsupported(pos, "'{% " + tag + " %}'");
    if (tag.rfind("end", 0) == 0 || tag == "elif" || tag == "else")
      error(pos, "unexpected '" + tag + "' (no block open to end)");
    error(pos, "unknown tag '" + tag + "'");
  }

  std::unique_ptr<Node> parse_if(size_t pos) {
    auto n = make(NodeKind::if_, pos);
    while (true) {
      ExprPtr cond = parse_tuple(false, {}, false);
      end_block();
      Body body = subparse({"elif", "else", "endif"});
      n->branches.emplace_back(std::move(cond), std::move(body));
      const std::string tag = next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        end_block();
        n->else_body = subparse({"endif"});
        next();
      }
      end_block();
      return n;
    }
  }

  // Assignment targets: a name, names separated by commas (optionally in parentheses), or with
  // `ns_attr` a name.attr (set only).
  void parse_targets(Node& n, bool allow_attr) {
    const bool paren = skip_op("(");
    while (true) {
      const size_t pos = cur().pos;
      std::string name = expect_name();
      if (allow_attr && is_op(".")) {
        next();
        if (!n.targets.empty()) error(pos, "cannot assign to an attribute in a tuple");
        n.targets.push_back(std::move(name));
        n.attr = expect_name();
        return;
      }
      if (name == "true" || name == "false" || name == "none" || name == "True" || name == "False" ||
          name == "None")
        error(pos, "cannot assign to '" + name + "'");
      n.targets.push_back(std::move(name));
      if (!skip_op(",")) break;
      if (paren && is_op(")")) break;
      if (!paren && cur().type != Tok::name) break;
    }
    if (paren) expect_op(")");
  }

  std::unique_ptr<Node> parse_for(size_t pos) {
    auto n = make(NodeKind::for_, pos);
    parse_targets(*n, false);
    if (!skip_name("in")) error(cur().pos, "expected 'in', got " + describe(cur()));
    n->expr = parse_tuple(false, {"recursive"}, false);
    if (skip_name("if")) n->cond = parse_expression(true);
    if (is_name("recursive")) unsupported(cur().pos, "'recursive' loop");
    end_block();
    n->body = subparse({"endfor", "else"});
    if (next().text == "else") {
      end_block();
      n->else_body = subparse({"endfor"});
      next();
    }
    end_block();
    return n;
  }

  std::unique_ptr<Node> parse_set(size_t pos) {
    auto n = make(NodeKind::set, pos);
    parse_targets(*n, true);
    if (skip_op("=")) {
      n->expr = parse_tuple(true, {}, false);
      end_block();
      return n;
    }
    if (n->targets.size() != 1 || !n->attr.empty()) error(pos, "a block set assigns one name");
    n->kind = NodeKind::set_block;
    if (is_op("|")) n->expr = parse_filter(nullptr, false);
    end_block();
    n->body = subparse({"endset"});
    next();
    end_block();
    return n;
  }

  void parse_signature(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      if (!n.params.empty()) expect_op(",");
      if (is_op(")")) break;
      n.params.push_back(expect_name());
      n.defaults.push_back(skip_op("=") ? parse_expression(true) : nullptr);
    }
    next();
  }

  std::unique_ptr<Node> parse_macro(size_t pos) {
    auto n = make(NodeKind::macro, pos);
    n->name = expect_name();
    parse_signature(*n);
    end_block();
    const bool caller = saw_caller_, varargs = saw_varargs_, kwargs = saw_kwargs_;
    saw_caller_ = saw_varargs_ = saw_kwargs_ = false;
    ++macro_level_;
    n->body = subparse({"endmacro"});
    --macro_level_;
    n->uses_caller = saw_caller_;
    n->uses_varargs = saw_varargs_;
    n->uses_kwargs = saw_kwargs_;
    saw_caller_ = caller;
    saw_varargs_ = varargs;
    saw_kwargs_ = kwargs;
    next();
    if (cur().type == Tok::name) next();  // {% endmacro name %}
    end_block();
    return n;
  }

  std::unique_ptr<Node> parse_call_block(size_t pos) {
    auto n = make(NodeKind::call_block, pos);
    if (is_op("(")) parse_signature(*n);
    n->expr = parse_expression(true);
    if (n->expr->kind != ExprKind::call) error(pos, "expected a call in {% call %}");
    end_block();
    n->body = subparse({"endcall"});
    next();
    end_block();
    return n;
  }

  std::unique_ptr<Node> parse_filter_block(size_t pos) {
    auto n = make(NodeKind::filter_block, pos);
    n->expr = parse_filter(nullptr, true);
    end_block();
    n->body = subparse({"endfilter"});
    next();
    end_block();
    return n;
  }

  std::unique_ptr<Node> parse_with(size_t pos) {
    auto n = make(NodeKind::with, pos);
    while (cur().type != Tok::block_end) {
      if (!n->targets.empty()) expect_op(",");
      n->targets.push_back(expect_name());
      expect_op("=");
      n->values.push_back(parse_expression(true));
    }
    end_block();
    n->body = subparse({"endwith"});
    next();
    end_block();
    return n;
  }

  // ---- expressions ----

  ExprPtr make_expr(ExprKind kind, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  bool tuple_end(std::initializer_list<std::string_view> extra) const {
    const Token& t = cur();
    if (t.type == Tok::var_end || t.type == Tok::block_end || t.type == Tok::eof) return true;
    if (t.type == Tok::op && t.text == ")") return true;
    if (t.type == Tok::name)
      for (const auto e : extra)
        if (t.text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra, bool explicit_parens) {
    const size_t pos = cur().pos;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (tuple_end(extra)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(","))
        is_tuple = true;
      else
        break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error(cur().pos, "expected an expression, got " + describe(cur()));
    }
    auto e = make_expr(ExprKind::tuple, pos);
    e->items = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this, cur().pos);
    if (!with_condexpr) return parse_or();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const size_t pos = next().pos;
      auto e = make_expr(ExprKind::cond, pos);
      e->a = parse_or();
      e->b = std::move(expr);
      if (skip_name("else")) e->c = parse_expression(true);
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto e = make_expr(ExprKind::or_, next().pos);
      e->a = std::move(left);
      e->b = parse_and();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto e = make_expr(ExprKind::and_, next().pos);
      e->a = std::move(left);
      e->b = parse_not();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this, cur().pos);
      auto e = make_expr(ExprKind::not_, next().pos);
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const size_t pos = cur().pos;
    ExprPtr expr = parse_math1();
    std::vector<std::pair<CmpOp, ExprPtr>> ops;
    while (true) {
      CmpOp op;
      if (is_op("==")) op = CmpOp::eq;
      else if (is_op("!=")) op = CmpOp::ne;
      else if (is_op("<")) op = CmpOp::lt;
      else if (is_op("<=")) op = CmpOp::le;
      else if (is_op(">")) op = CmpOp::gt;
      else if (is_op(">=")) op = CmpOp::ge;
      else if (is_name("in")) op = CmpOp::in;
      else if (is_name("not") && peek().type == Tok::name && peek().text == "in") {
        next();
        op = CmpOp::not_in;
      } else {
        break;
      }
      next();
      ops.emplace_back(op, parse_math1());
    }
    if (ops.empty()) return expr;
    auto e = make_expr(ExprKind::compare, pos);
    e->a = std::move(expr);
    e->compares = std::move(ops);
    return e;
  }

  ExprPtr binary(BinOp op, size_t pos, ExprPtr a, ExprPtr b) {
    auto e = make_expr(ExprKind::binary, pos);
    e->op = op;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const BinOp op = cur().text == "+" ? BinOp::add : BinOp::sub;
      const size_t pos = next().pos;
      left = binary(op, pos, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const size_t pos = next().pos;
      left = binary(BinOp::concat, pos, std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string& t = cur().text;
      const BinOp op = t == "*" ? BinOp::mul : t == "/" ? BinOp::div : t == "//" ? BinOp::floordiv : BinOp::mod;
      const size_t pos = next().pos;
      left = binary(op, pos, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const size_t pos = next().pos;
      left = binary(BinOp::pow, pos, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, cur().pos);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto e = make_expr(cur().text == "-" ? ExprKind::neg : ExprKind::pos, cur().pos);
      next();
      e->a = parse_unary(false);
      node = std::move(e);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    const size_t pos = t.pos;
    switch (t.type) {
      case Tok::name: {
        const std::string& n = t.text;
        auto e = make_expr(ExprKind::literal, pos);
        if (n == "true" || n == "True") {
          e->value = Value::boolean(true);
        } else if (n == "false" || n == "False") {
          e->value = Value::boolean(false);
        } else if (n == "none" || n == "None") {
          e->value = Value::none();
        } else {
          e->kind = ExprKind::name;
          e->name = n;
          if (macro_level_ > 0) {
            if (n == "caller") saw_caller_ = true;
            if (n == "varargs") saw_varargs_ = true;
            if (n == "kwargs") saw_kwargs_ = true;
          }
        }
        next();
        return e;
      }
      case Tok::string: {
        std::string s;
        while (cur().type == Tok::string) s += next().text;  // adjacent literals concatenate
        auto e = make_expr(ExprKind::literal, pos);
        e->value = Value::string(std::move(s));
        return e;
      }
      case Tok::integer: {
        auto e = make_expr(ExprKind::literal, pos);
        e->value = Value::integer(next().i);
        return e;
      }
      case Tok::floating: {
        auto e = make_expr(ExprKind::literal, pos);
        e->value = Value::floating(next().f);
        return e;
      }
      case Tok::op:
        if (t.text == "(") {
          next();
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    error(pos, "unexpected " + describe(t));
  }

  ExprPtr parse_list() {
    auto e = make_expr(ExprKind::list, next().pos);
    while (!is_op("]")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("]")) break;
      e->items.push_back(parse_expression(true));
    }
    next();
    return e;
  }

  ExprPtr parse_dict() {
    auto e = make_expr(ExprKind::dict, next().pos);
    while (!is_op("}")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("}")) break;
      e->items.push_back(parse_expression(true));
      expect_op(":");
      e->items.push_back(parse_expression(true));
    }
    next();
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter(std::move(node), false);
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    DepthGuard guard(*this, cur().pos);
    const Token& t = next();
    if (t.text == ".") {
      const Token& attr = cur();
      if (attr.type == Tok::name) {
        auto e = make_expr(ExprKind::getattr, t.pos);
        e->a = std::move(node);
        e->name = next().text;
        return e;
      }
      if (attr.type == Tok::integer) {
        auto e = make_expr(ExprKind::getitem, t.pos);
        e->a = std::move(node);
        e->b = make_expr(ExprKind::literal, attr.pos);
        e->b->value = Value::integer(next().i);
        return e;
      }
      error(attr.pos, "expected a name or number after '.'");
    }
    // [index] or [start:stop:step]
    ExprPtr parts[3];
    bool is_slice = false;
    if (!is_op(":")) parts[0] = parse_expression(true);
    if (is_op(",")) unsupported(cur().pos, "tuple subscript 'x[a, b]'");
    if (skip_op(":")) {
      is_slice = true;
      if (!is_op(":") && !is_op("]")) parts[1] = parse_expression(true);
      if (skip_op(":") && !is_op("]")) parts[2] = parse_expression(true);
    }
    expect_op("]");
    if (!is_slice) {
      auto e = make_expr(ExprKind::getitem, t.pos);
      e->a = std::move(node);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = make_expr(ExprKind::slice, t.pos);
    e->a = std::move(node);
    e->items.resize(3);
    for (int k = 0; k < 3; ++k) e->items[size_t(k)] = std::move(parts[k]);
    return e;
  }

  void parse_call_args(std::vector<Arg>& args) {
    expect_op("(");
    bool keywords = false;
    while (!is_op(")")) {
      if (!args.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) unsupported(cur().pos, "'*args' or '**kwargs' in a call");
      Arg arg;
      if (cur().type == Tok::name && peek().type == Tok::op && peek().text == "=") {
        arg.name = next().text;
        next();
        keywords = true;
      } else if (keywords) {
        error(cur().pos, "positional argument follows keyword argument");
      }
      arg.value = parse_expression(true);
      args.push_back(std::move(arg));
    }
    next();
  }

  ExprPtr parse_call(ExprPtr node) {
    DepthGuard guard(*this, cur().pos);
    auto e = make_expr(ExprKind::call, cur().pos);
    e->a = std::move(node);
    parse_call_args(e->args);
    return e;
  }

  // node|name(args)|... ; with `start_inline` the first filter has no leading '|' (filter blocks).
  ExprPtr parse_filter(ExprPtr node, bool start_inline) {
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      const size_t pos = cur().pos;
      std::string name = expect_name();
      while (skip_op(".")) name += "." + expect_name();
      const int id = filter_id(name);
      if (id < 0) unsupported(pos, "filter '" + name + "'");
      auto e = make_expr(ExprKind::filter, pos);
      e->a = std::move(node);
      e->name = std::move(name);
      e->id = id;
      if (is_op("(")) parse_call_args(e->args);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    DepthGuard guard(*this, cur().pos);
    next();  // is
    auto e = make_expr(ExprKind::test, cur().pos);
    e->negated = skip_name("not");
    const size_t pos = cur().pos;
    std::string name = expect_name();
    while (skip_op(".")) name += "." + expect_name();
    const int id = test_id(name);
    if (id < 0) unsupported(pos, "test '" + name + "'");
    e->a = std::move(node);
    e->name = std::move(name);
    e->id = id;
    const Token& t = cur();
    if (is_op("(")) {
      parse_call_args(e->args);
    } else if ((t.type == Tok::name || t.type == Tok::string || t.type == Tok::integer || t.type == Tok::floating ||
                (t.type == Tok::op && (t.text == "[" || t.text == "{"))) &&
               !(t.type == Tok::name && (t.text == "else" || t.text == "or" || t.text == "and"))) {
      if (is_name("is")) error(t.pos, "you cannot chain multiple tests with is");
      Arg arg;
      arg.value = parse_postfix(parse_primary());
      e->args.push_back(std::move(arg));
    }
    return e;
  }
};

// What the renderer reads from a parsed tree besides its shape (Expr::calls, Expr::methods).
inline bool annotate(Expr& e) {
  bool calls = e.kind == ExprKind::call;
  for (Expr* x : {e.a.get(), e.b.get(), e.c.get()})
    if (x) calls |= annotate(*x);
  for (auto& x : e.items)
    if (x) calls |= annotate(*x);
  for (auto& arg : e.args) calls |= annotate(*arg.value);
  for (auto& [op, x] : e.compares) calls |= annotate(*x);
  if (e.kind == ExprKind::getattr)
    e.methods = uint8_t((is_dict_method(e.name) ? method_of_dict : 0) | (is_str_method(e.name) ? method_of_str : 0) |
                        (is_list_method(e.name) ? method_of_list : 0) |
                        (is_tuple_method(e.name) ? method_of_tuple : 0));
  e.calls = calls;
  return calls;
}

inline void annotate(Body& body) {
  const auto expr = [](ExprPtr& e) {
    if (e) annotate(*e);
  };
  for (auto& n : body) {
    expr(n->expr);
    expr(n->cond);
    for (auto& [cond, branch] : n->branches) {
      expr(cond);
      annotate(branch);
    }
    annotate(n->body);
    annotate(n->else_body);
    for (auto& e : n->defaults) expr(e);
    for (auto& e : n->values) expr(e);
  }
}

inline Body parse_template(std::string_view source) {
  Lexer lexer(source);
  Parser parser(source, lexer.run());
  Body body = parser.parse();
  annotate(body);
  return body;
}

}  // namespace zest::detail::jinja
