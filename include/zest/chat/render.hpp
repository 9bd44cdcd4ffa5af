// The evaluator: runs a parsed template against variables, with jinja2's scoping (a for loop's
// body gets a fresh scope each iteration, so `set` inside it does not leak; a macro sees the
// template's top level and its own arguments; a call block's `caller` sees where it was written),
// and the limits that keep a hostile template from hanging or exhausting memory.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/chat/ast.hpp"
#include "zest/chat/filters.hpp"

namespace zest::detail::jinja {

struct RenderLimits {
  Limits sizes;
  uint64_t max_steps = 10'000'000;  // loop iterations and macro calls, all together
  int max_call_depth = 100;         // nested macro calls
};

// A macro, or the `caller` of a call block, as a value.
struct MacroValue : Object {
  const Node* node = nullptr;  // NodeKind::macro or NodeKind::call_block
  int parent = 0;              // the frame its body's names resolve through (callers: the call site)
};

// The global functions.
enum class BuiltinId : int { range, dict, namespace_, raise_exception, strftime_now };

class Renderer {
 public:
  using Variables = std::vector<std::pair<std::string, Value>>;

  Renderer(const Variables& globals, const RenderLimits& limits, const std::tm& now)
      : globals_(globals), limits_(limits), now_(now) {}

  // `reserve`: the bytes to make room for at first (a guess at the output's size).
  std::string run(const Body& body, size_t reserve = 0) {
    std::string out;
    out.reserve(std::min(reserve, limits_.sizes.max_bytes));
    out_ = &out;
    push_frame(-1);
    scope_ = 0;
    exec(body);
    return out;
  }

  // Byte ranges of the output that {% generation %} blocks wrote (transformers' assistant masks).
  std::vector<std::pair<size_t, size_t>> generation_spans;

 private:
  enum class Flow { normal, break_, continue_ };

  struct Frame {
    std::vector<std::pair<std::string_view, Value>> vars;
    int parent = -1;
  };

  const Variables& globals_;
  RenderLimits limits_;
  std::tm now_;
  std::vector<Frame> frames_;
  size_t frame_count_ = 0;
  int scope_ = 0;
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  int loop_depth_ = 0;
  bool out_is_top_ = true;

  // ---- scopes ----

  int push_frame(int parent) {
    if (frame_count_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[frame_count_];
    f.vars.clear();
    f.parent = parent;
    return int(frame_count_++);
  }
  void pop_frame() { frames_[--frame_count_].vars.clear(); }

  // Makes a pushed frame the scope, and counts one more level of `depth` (loops or macro calls),
  // until it goes out of scope, thrown through or not: then the frame is popped and both restored.
  class ScopeGuard {
   public:
    ScopeGuard(Renderer& r, int frame, int* depth) : r_(r), saved_(r.scope_), depth_(depth) {
      r_.scope_ = frame;
      if (depth_) ++*depth_;
    }
    ~ScopeGuard() {
      r_.pop_frame();
      r_.scope_ = saved_;
      if (depth_) --*depth_;
    }
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;

   private:
    Renderer& r_;
    int saved_;
    int* depth_;
  };

  void assign(int frame, std::string_view name, Value v) {
    auto& vars = frames_[size_t(frame)].vars;
    for (auto& [k, x] : vars)
      if (same_name(k, name)) {
        x = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }

  const Value* find(std::string_view name) const {
    for (int f = scope_; f >= 0; f = frames_[size_t(f)].parent) {
      for (const auto& [k, x] : frames_[size_t(f)].vars)
        if (same_name(k, name)) return &x;
    }
    for (const auto& [k, x] : globals_)
      if (same_name(k, name)) return &x;
    return nullptr;
  }

  // A name no scope has: a global function, or undefined.
  static Value lookup_missing(std::string_view name) {
    const int id = builtin_id(name);
    if (id < 0) return Value::undefined("'" + std::string(name) + "' is undefined");
    Value b;
    b.kind = Kind::builtin;
    b.i = id;
    return b;
  }
  static int builtin_id(std::string_view name) {
    if (name == "range") return int(BuiltinId::range);
    if (name == "dict") return int(BuiltinId::dict);
    if (name == "namespace") return int(BuiltinId::namespace_);
    if (name == "raise_exception") return int(BuiltinId::raise_exception);
    if (name == "strftime_now") return int(BuiltinId::strftime_now);
    return -1;
  }

  void step() {
    if (++steps_ > limits_.max_steps)
      fail(Error::Kind::input, "chat template: more than ", limits_.max_steps,
           " loop iterations and macro calls (ChatTemplate::Options::max_steps)");
  }

  void write(std::string_view s) {
    out_->append(s);
    if (out_->size() > limits_.sizes.max_bytes) check_bytes(out_->size(), limits_.sizes);
  }

  // Runs f with the output going to a fresh string, which it returns.
  template <typename F>
  std::string capture(F&& f) {
    std::string buffer;
    std::string* saved = out_;
    const bool saved_top = out_is_top_;
    out_ = &buffer;
    out_is_top_ = false;
    try {
      f();
    } catch (...) {
      out_ = saved;
      out_is_top_ = saved_top;
      throw;
    }
    out_ = saved;
    out_is_top_ = saved_top;
    return buffer;
  }

  // {{ e }}. A chain of + and ~ whose first operand is a string is written piece by piece, as
  // each operand is evaluated (in jinja2's order), never built as one string first; its checks
  // and errors are those of building it.
  void write_value(const Expr& e) {
    constexpr int max_chain = 16;
    const Expr* levels[max_chain];  // levels[0] is e; each one's a is the next
    int depth = 0;
    const Expr* first = &e;
    while (first->kind == ExprKind::binary && (first->op == BinOp::add || first->op == BinOp::concat) &&
           depth < max_chain) {
      levels[depth++] = first;
      first = first->a.get();
    }
    Value t;
    const Value& v = eval_ref(*first, t);
    if (v.kind != Kind::string || depth == 0) {
      const Value* result = &v;
      Value acc;
      for (int k = depth - 1; k >= 0; --k) {
        if (levels[k]->b->calls && result == &v && &v != &t) result = &(acc = v);
        Value tb;
        const Value& b = eval_ref(*levels[k]->b, tb);
        acc = binary_op(levels[k]->op, *result, b, limits_.sizes);
        result = &acc;
      }
      if (result->kind == Kind::string) {
        write(result->s);
      } else {
        std::string s;
        append_str(s, *result);
        write(s);
      }
      return;
    }
    std::string& out = *out_;
    out += v.s;
    size_t size = v.s.size();  // of the string jinja2 builds
    for (int k = depth - 1; k >= 0; --k) {
      const Expr& level = *levels[k];
      Value tb;
      const Value& b = eval_ref(*level.b, tb);
      if (level.op == BinOp::add) {
        if (b.kind != Kind::string) binary_op(BinOp::add, Value::string({}), b, limits_.sizes);  // throws

        check_bytes(size + b.s.size(), limits_.sizes);
        out += b.s;
        size += b.s.size();
      } else {
        const size_t before = out.size();
        append_str(out, b);
        size += out.size() - before;
        check_bytes(size, limits_.sizes);
      }
    }
    if (out.size() > limits_.sizes.max_bytes) check_bytes(out.size(), limits_.sizes);
  }

  // ---- statements ----

  Flow exec(const Body& body) {
    for (const auto& n : body) {
      const Flow flow = exec(*n);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow exec(const Node& n) {
    switch (n.kind) {
      case NodeKind::text: write(n.text); return Flow::normal;
      case NodeKind::output: write_value(*n.expr); return Flow::normal;
      case NodeKind::if_:
        for (const auto& [cond, body] : n.branches)
          if (eval_bool(*cond)) return exec(body);
        return exec(n.else_body);
      case NodeKind::for_: return exec_for(n);
      case NodeKind::set: exec_set(n); return Flow::normal;
      case NodeKind::set_block: {
        std::string text = capture([&] { exec(n.body); });
        Value v = Value::string(std::move(text));
        if (n.expr) v = eval_with_hole(*n.expr, v);
        assign(scope_, n.targets[0], std::move(v));
        return Flow::normal;
      }
      case NodeKind::macro: {
        auto m = std::make_shared<MacroValue>();
        m->node = &n;
        m->parent = 0;
        assign(scope_, n.name, Value::object(Kind::macro, std::move(m)));
        return Flow::normal;
      }
      case NodeKind::call_block: {
        auto caller = std::make_shared<MacroValue>();
        caller->node = &n;
        caller->parent = scope_;
        const Value caller_value = Value::object(Kind::macro, std::move(caller));
        const Expr& call = *n.expr;
        const Value callee = eval(*call.a);
        Args args = eval_args(call.args);
        const Value v = call_value(callee, args, &caller_value, call);
        write(to_str(v));
        return Flow::normal;
      }
      case NodeKind::filter_block: {
        const std::string text = capture([&] { exec(n.body); });
        write(to_str(eval_with_hole(*n.expr, Value::string(text))));
        return Flow::normal;
      }
      case NodeKind::generation: {
        const size_t start = out_->size();
        const Flow flow = exec(n.body);
        if (out_is_top_) generation_spans.emplace_back(start, out_->size());
        return flow;
      }
      case NodeKind::break_: return Flow::break_;
      case NodeKind::continue_: return Flow::continue_;
      case NodeKind::with: {
        std::vector<Value> values;
        for (const auto& e : n.values) values.push_back(eval(*e));
        const ScopeGuard guard(*this, push_frame(scope_), nullptr);
        for (size_t k = 0; k < n.targets.size(); ++k) assign(scope_, n.targets[k], std::move(values[k]));
        return exec(n.body);
      }
    }
    return Flow::normal;
  }

  void unpack(int frame, const std::vector<std::string>& targets, Value&& v) {
    if (targets.size() == 1) {
      assign(frame, targets[0], std::move(v));
      return;
    }
    unpack(frame, targets, std::as_const(v));
  }
  void unpack(int frame, const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      assign(frame, targets[0], v);
      return;
    }
    if (v.kind == Kind::undefined) runtime_error(v.s);
    const std::vector<Value> items = to_items(v);
    if (items.size() < targets.size())
      runtime_error("not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                    std::to_string(items.size()) + ")");
    if (items.size() > targets.size())
      runtime_error("too many values to unpack (expected " + std::to_string(targets.size()) + ")");
    for (size_t k = 0; k < targets.size(); ++k) assign(frame, targets[k], items[k]);
  }

  void exec_set(const Node& n) {
    Value v = eval(*n.expr);
    if (!n.attr.empty()) {
      const Value* target = find(n.targets[0]);
      if (!target || target->kind != Kind::ns) runtime_error("cannot assign attribute on non-namespace object");
      target->as_namespace().set(n.attr, std::move(v));
      return;
    }
    unpack(scope_, n.targets, std::move(v));
  }

  Flow exec_for(const Node& n) {
    auto state = std::make_shared<LoopState>();
    {
      Value t;
      const Value& iterable = eval_ref(*n.expr, t);
      if (iterable.is_sequence_like()) {
        state->list = iterable.obj;
        state->items_ = &iterable.as_list().items;
      } else {
        state->copied = to_items(iterable);
      }
    }
    state->depth = loop_depth_ + 1;
    const int frame = push_frame(scope_);
    const ScopeGuard guard(*this, frame, &loop_depth_);
    if (n.cond) {
      // `for x in xs if cond`: the condition sees the target, not `loop`; loop.length counts what passed.
      std::vector<Value> kept;
      for (const auto& item : state->items()) {
        step();
        frames_[size_t(frame)].vars.clear();
        unpack(frame, n.targets, item);
        if (eval_bool(*n.cond)) kept.push_back(item);
      }
      state->copied = std::move(kept);
      state->items_ = &state->copied;
      state->list.reset();
    }
    const Value loop = Value::object(Kind::loop, state);
    const std::vector<Value>& items = state->items();
    const size_t count = items.size();
    for (size_t k = 0; k < count; ++k) {
      step();
      state->index = k;
      frames_[size_t(frame)].vars.clear();
      unpack(frame, n.targets, items[k]);
      assign(frame, "loop", loop);
      if (exec(n.body) == Flow::break_) break;
    }
    if (count == 0) {
      frames_[size_t(frame)].vars.clear();
      exec(n.else_body);
    }
    return Flow::normal;
  }

  // ---- expressions ----

  Args eval_args(const std::vector<Arg>& args) {
    Args out;
    for (const auto& a : args) {
      if (a.name.empty())
        out.pos.push_back(eval(*a.value));
      else
        out.kw.emplace_back(a.name, eval(*a.value));
    }
    return out;
  }

  // Evaluates a filter chain whose innermost operand is the block's text.
  Value eval_with_hole(const Expr& e, const Value& hole) {
    const Value operand = e.a ? eval_with_hole(*e.a, hole) : hole;
    return apply_filter(FilterId(e.id), operand, eval_args(e.args), limits_.sizes);
  }

  // The value of e, owned.
  Value eval(const Expr& e) {
    Value tmp;
    const Value& v = eval_ref(e, tmp);
    if (&v == &tmp) return tmp;
    return v;
  }

  // The value of e without copying it where it already exists: a literal of the tree, a variable,
  // an item or attribute of one; else it is computed into `tmp`, which it returns. A reference
  // stays valid until template code runs (a macro, caller or method call: Expr::calls), which may
  // reassign what it refers to; so where a later operand has calls, the earlier one is copied
  // first (keep). What eval_ref computes never reads tmp's previous contents.
  const Value& eval_ref(const Expr& e, Value& tmp) {
    switch (e.kind) {
      case ExprKind::literal: return e.value;
      case ExprKind::name:
        if (const Value* v = find(e.name)) return *v;
        return tmp = lookup_missing(e.name);
      case ExprKind::getattr: {
        Value t;
        const Value& obj = eval_ref(*e.a, t);
        if (&obj != &t) {
          // An attribute of a value that lives on (not of t, which dies here).
          if (obj.kind == Kind::dict && !(e.methods & method_of_dict)) {
            if (const Value* x = obj.as_dict().find(e.name)) return *x;
          } else if (obj.kind == Kind::ns) {
            if (const Value* x = obj.as_namespace().find(e.name)) return *x;
          }
        }
        return tmp = get_attribute(obj, e.name);
      }
      case ExprKind::getitem: {
        Value t, tk;
        const Value& obj = keep(eval_ref(*e.a, t), t, *e.b);
        const Value& key = eval_ref(*e.b, tk);
        if (&obj != &t) {
          if (obj.kind == Kind::dict && key.kind == Kind::string) {
            if (const Value* x = obj.as_dict().find(key.s)) return *x;
          } else if ((obj.kind == Kind::list || obj.kind == Kind::tuple) &&
                     (key.kind == Kind::integer || key.kind == Kind::boolean)) {
            const auto& items = obj.as_list().items;
            const int64_t n = int64_t(items.size());
            int64_t k = int_of(key);
            if (k < 0) k += n;
            if (k >= 0 && k < n) return items[size_t(k)];
          }
        }
        return tmp = get_item(obj, key);
      }
      case ExprKind::binary: return tmp = eval_binary(e);
      case ExprKind::compare: return tmp = Value::boolean(eval_compare(e));
      case ExprKind::not_: return tmp = Value::boolean(!eval_bool(*e.a));
      case ExprKind::filter: {
        Value t;
        const Value& operand = keep(eval_ref(*e.a, t), t, e.args);
        return tmp = apply_filter(FilterId(e.id), operand, eval_args(e.args), limits_.sizes);
      }
      case ExprKind::test: return tmp = Value::boolean(eval_test(e));
      case ExprKind::and_: {
        const Value& a = eval_ref(*e.a, tmp);
        if (!truthy(a)) return a;
        return eval_ref(*e.b, tmp);
      }
      case ExprKind::or_: {
        const Value& a = eval_ref(*e.a, tmp);
        if (truthy(a)) return a;
        return eval_ref(*e.b, tmp);
      }
      case ExprKind::cond:
        if (eval_bool(*e.a)) return eval_ref(*e.b, tmp);
        if (e.c) return eval_ref(*e.c, tmp);
        return tmp = Value::undefined("the inline if-expression evaluated to false and no else section was defined.");
      default: return tmp = eval_new(e);
    }
  }

  // truthy(eval(e)), without building the booleans of comparisons, tests, not, and, or.
  bool eval_bool(const Expr& e) {
    switch (e.kind) {
      case ExprKind::compare: return eval_compare(e);
      case ExprKind::not_: return !eval_bool(*e.a);
      case ExprKind::and_: return eval_bool(*e.a) && eval_bool(*e.b);
      case ExprKind::or_: return eval_bool(*e.a) || eval_bool(*e.b);
      case ExprKind::test: return eval_test(e);
      default: {
        Value t;
        return truthy(eval_ref(e, t));
      }
    }
  }

  bool eval_test(const Expr& e) {
    // `name is defined`: no Undefined (and its message) built for a name that has no value.
    if (e.a->kind == ExprKind::name && e.args.empty() && (TestId(e.id) == TestId::defined || TestId(e.id) == TestId::undefined)) {
      const Value* v = find(e.a->name);
      const bool defined = v ? v->kind != Kind::undefined : builtin_id(e.a->name) >= 0;
      return (defined == (TestId(e.id) == TestId::defined)) != e.negated;
    }
    Value t;
    const Value& operand = keep(eval_ref(*e.a, t), t, e.args);
    return run_test(TestId(e.id), operand, eval_args(e.args)) != e.negated;
  }

  // v, or where evaluating `later` may run template code and v is not already in tmp, a copy of v
  // in tmp.
  static const Value& keep(const Value& v, Value& tmp, const Expr& later) {
    if (!later.calls || &v == &tmp) return v;
    return tmp = v;
  }
  static const Value& keep(const Value& v, Value& tmp, const std::vector<Arg>& later) {
    if (&v == &tmp) return v;
    for (const auto& a : later)
      if (a.value->calls) return tmp = v;
    return v;
  }

  // The expressions that always build a new value.
  Value eval_new(const Expr& e) {
    switch (e.kind) {
      case ExprKind::list:
      case ExprKind::tuple: {
        std::vector<Value> items;
        items.reserve(e.items.size());
        for (const auto& x : e.items) items.push_back(eval(*x));
        return Value::list(std::move(items), e.kind == ExprKind::list ? Kind::list : Kind::tuple);
      }
      case ExprKind::dict: {
        auto d = std::make_shared<Dict>();
        for (size_t k = 0; k + 1 < e.items.size(); k += 2) {
          Value key = eval(*e.items[k]);
          if (key.kind != Kind::string)
            fail(Error::Kind::unsupported, "chat template: dict key of type ", type_name(key), " (only strings)");
          d->set(std::move(key.s), eval(*e.items[k + 1]));
        }
        return Value::dict(std::move(d));
      }
      case ExprKind::slice: {
        const Value obj = eval(*e.a);
        const auto part = [&](size_t k) { return e.items[k] ? eval(*e.items[k]) : Value::none(); };
        return get_slice(obj, part(0), part(1), part(2));
      }
      case ExprKind::call: return eval_call(e);
      case ExprKind::neg:
      case ExprKind::pos: {
        Value t;
        const Value& v = eval_ref(*e.a, t);
        if (v.kind == Kind::undefined) runtime_error(v.s);
        const bool neg = e.kind == ExprKind::neg;
        if (v.kind == Kind::integer || v.kind == Kind::boolean) {
          const int64_t x = int_of(v);
          if (neg && x == INT64_MIN) int_overflow();
          return Value::integer(neg ? -x : x);
        }
        if (v.kind == Kind::floating) return Value::floating(neg ? -v.f : v.f);
        runtime_error("bad operand type for unary " + std::string(neg ? "-" : "+") + ": '" +
                      std::string(type_name(v)) + "'");
      }
      default: return Value();
    }
  }

  // a + b, a ~ b, ...: text appended in place where a is a string built here (a chain of + or ~
  // builds one string, not one per operator).
  Value eval_binary(const Expr& e) {
    Value ta, tb;
    const Value& a = keep(eval_ref(*e.a, ta), ta, *e.b);
    const Value& b = eval_ref(*e.b, tb);
    if (a.kind == Kind::string && (e.op == BinOp::concat || (e.op == BinOp::add && b.kind == Kind::string))) {
      if (e.op == BinOp::add) check_bytes(a.s.size() + b.s.size(), limits_.sizes);
      std::string out;
      if (&a == &ta) {
        out = std::move(ta.s);
      } else {
        const size_t n = a.s.size() + (b.kind == Kind::string ? b.s.size() : 0);
        out.reserve(n + std::min<size_t>(n, 256));  // room for what a chain appends next
        out = a.s;
      }
      if (b.kind == Kind::string)
        out += b.s;
      else
        append_str(out, b);
      if (e.op == BinOp::concat) check_bytes(out.size(), limits_.sizes);
      return Value::string(std::move(out));
    }
    return binary_op(e.op, a, b, limits_.sizes);
  }

  // a op b op c...: false at the first comparison that fails.
  bool eval_compare(const Expr& e) {
    Value t1, t2;
    const Value* left = &eval_ref(*e.a, t1);
    for (const auto& [op, expr] : e.compares) {
      if (expr->calls && left != &t1 && left != &t2) left = &(t1 = *left);
      Value& spare = left == &t1 ? t2 : t1;
      const Value* right = &eval_ref(*expr, spare);
      if (!compare(op, *left, *right)) return false;
      left = right;
    }
    return true;
  }

  Value eval_call(const Expr& e) {
    // x.method(...): call it without building the bound method.
    if (e.a->kind == ExprKind::getattr) {
      Value t;
      const Value& receiver = keep(eval_ref(*e.a->a, t), t, e.args);
      const std::string& name = e.a->name;
      bool is_method = false;
      switch (receiver.kind) {
        case Kind::undefined: runtime_error(receiver.s);
        case Kind::dict: is_method = is_dict_method(name); break;
        case Kind::string: is_method = is_str_method(name); break;
        case Kind::list: is_method = is_list_method(name); break;
        case Kind::tuple: is_method = is_tuple_method(name); break;
        case Kind::loop: is_method = name == "cycle" || name == "changed"; break;
        default: break;
      }
      if (is_method) return call_method(receiver, name, eval_args(e.args), limits_.sizes);
      const Value callee = get_attribute(receiver, name);
      return call_value(callee, eval_args(e.args), nullptr, e);
    }
    const Value callee = eval(*e.a);  // owned: a macro's body may reassign where it came from
    return call_value(callee, eval_args(e.args), nullptr, e);
  }

  Value call_value(const Value& callee, const Args& args, const Value* caller, const Expr& site) {
    switch (callee.kind) {
      case Kind::macro: return call_macro(static_cast<const MacroValue&>(*callee.obj), args, caller);
      case Kind::builtin: return call_builtin(BuiltinId(callee.i), args);
      case Kind::method: {
        const auto& m = static_cast<const Method&>(*callee.obj);
        return call_method(m.receiver, m.name, args, limits_.sizes);
      }
      case Kind::undefined: runtime_error(callee.s);
      default: runtime_error("'" + std::string(type_name(callee)) + "' object is not callable");
    }
    (void)site;
  }

  Value call_macro(const MacroValue& m, const Args& args, const Value* caller) {
    step();
    if (call_depth_ >= limits_.max_call_depth)
      fail(Error::Kind::input, "chat template: macro calls nested deeper than ", limits_.max_call_depth,
           " (ChatTemplate::Options::max_call_depth)");
    const Node& n = *m.node;
    const bool is_caller = n.kind == NodeKind::call_block;
    const std::string& name = n.name;
    const int frame = push_frame(m.parent);
    const ScopeGuard guard(*this, frame, &call_depth_);
    // Positional arguments, then keywords; what is left over goes to varargs / kwargs when the
    // body uses them, else it is an error as in jinja2.
    const size_t np = n.params.size();
    std::vector<bool> bound(np, false);
    std::vector<Value> extra;
    for (size_t k = 0; k < args.pos.size(); ++k) {
      if (k < np) {
        assign(frame, n.params[k], args.pos[k]);
        bound[k] = true;
      } else {
        extra.push_back(args.pos[k]);
      }
    }
    if (!extra.empty() && !n.uses_varargs)
      runtime_error("macro '" + (is_caller ? std::string("caller") : name) + "' takes not more than " +
                    std::to_string(np) + " argument(s)");
    auto kwargs = std::make_shared<Dict>();
    for (const auto& [k, v] : args.kw) {
      size_t p = 0;
      while (p < np && n.params[p] != k) ++p;
      if (p < np) {
        assign(frame, n.params[p], v);
        bound[p] = true;
      } else if (k == "caller" && !is_caller) {
        assign(frame, "caller", v);
      } else {
        kwargs->set(k, v);
      }
    }
    if (!kwargs->items.empty() && !n.uses_kwargs)
      runtime_error("macro '" + (is_caller ? std::string("caller") : name) + "' takes no keyword argument '" +
                    kwargs->items[0].first + "'");
    for (size_t p = 0; p < np; ++p) {
      if (bound[p]) continue;
      if (n.defaults[p])
        assign(frame, n.params[p], eval(*n.defaults[p]));
      else
        assign(frame, n.params[p], Value::undefined("parameter '" + n.params[p] + "' was not provided"));
    }
    if (n.uses_varargs) assign(frame, "varargs", Value::list(std::move(extra), Kind::tuple));
    if (n.uses_kwargs) assign(frame, "kwargs", Value::dict(kwargs));
    if (caller) assign(frame, "caller", *caller);
    std::string text = capture([&] { exec(n.body); });
    return Value::string(std::move(text));
  }

  Value call_builtin(BuiltinId id, const Args& args) {
    switch (id) {
      case BuiltinId::raise_exception: {
        const Value& message = args.get(0, "message", none_value());
        throw Error(Error::Kind::input, to_str(message));
      }
      case BuiltinId::range: {
        if (!args.kw.empty()) runtime_error("range() takes no keyword arguments");
        int64_t start = 0, stop = 0, stride = 1;
        if (args.pos.size() == 1) {
          stop = as_int_arg(args.pos[0], "range");
        } else if (args.pos.size() == 2 || args.pos.size() == 3) {
          start = as_int_arg(args.pos[0], "range");
          stop = as_int_arg(args.pos[1], "range");
          if (args.pos.size() == 3) stride = as_int_arg(args.pos[2], "range");
        } else {
          runtime_error("range expected at most 3 arguments, got " + std::to_string(args.pos.size()));
        }
        if (stride == 0) runtime_error("range() arg 3 must not be zero");
        // The sandbox's MAX_RANGE.
        const __int128 span = stride > 0 ? (__int128(stop) - start + stride - 1) / stride
                                          : (__int128(start) - stop - stride - 1) / -stride;
        if (span > 100000)
          runtime_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        std::vector<Value> out;
        for (int64_t k = start; stride > 0 ? k < stop : k > stop; k += stride) out.push_back(Value::integer(k));
        return Value::list(std::move(out));
      }
      case BuiltinId::dict:
      case BuiltinId::namespace_: {
        auto d = std::make_shared<Dict>();
        for (const auto& p : args.pos) {
          if (p.kind == Kind::dict || p.kind == Kind::ns) {
            for (const auto& [k, v] : (p.kind == Kind::dict ? p.as_dict() : p.as_namespace()).items) d->set(k, v);
          } else {
            for_each_item(p, [&](const Value& pair) {
              const auto kv = to_items(pair);
              if (kv.size() != 2 || kv[0].kind != Kind::string)
                runtime_error("dictionary update sequence element has the wrong length or key type");
              d->set(kv[0].s, kv[1]);
              return true;
            });
          }
        }
        for (const auto& [k, v] : args.kw) d->set(k, v);
        return Value::object(id == BuiltinId::dict ? Kind::dict : Kind::ns, std::move(d));
      }
      case BuiltinId::strftime_now: {
        const Value& format = args.get(0, "format", none_value());
        if (format.kind != Kind::string) runtime_error("strftime() argument 1 must be str, not " + std::string(type_name(format)));
        std::tm tm = now_;
        std::string out(format.s.size() * 4 + 64, '\0');
        const size_t n = std::strftime(out.data(), out.size(), format.s.c_str(), &tm);
        if (n == 0 && !format.s.empty()) fail(Error::Kind::unsupported, "chat template: strftime format '", format.s, "'");
        out.resize(n);
        return Value::string(std::move(out));
      }
    }
    return Value();
  }
};

}  // namespace zest::detail::jinja
