// What zest::ChatTemplate refuses, and how: a construct it does not run names itself with the
// line and column; a syntax error too; hostile templates hit the limits instead of hanging or
// exhausting memory.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "zest/chat/chat_template.hpp"

namespace {

// The message of the zest::Error that `f` throws, and its kind; fails the test when none.
template <typename F>
std::pair<std::string, zest::Error::Kind> error_of(F&& f) {
  try {
    f();
  } catch (const zest::Error& e) {
    return {e.what(), e.kind()};
  }
  FAIL("no zest::Error thrown");
  return {};
}

std::pair<std::string, zest::Error::Kind> parse_error(const std::string& text) {
  return error_of([&] { zest::ChatTemplate t(text); });
}

std::pair<std::string, zest::Error::Kind> render_error(const std::string& text, zest::ChatTemplate::Options o = {}) {
  return error_of([&] {
    zest::ChatTemplate t(text, o);
    t.render({});
  });
}

}  // namespace

TEST_CASE("chat template: unsupported constructs are named with their line and column") {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"ok\n  {% include 'x.jinja' %}", "unsupported construct '{% include %}' at line 2, column 6"},
      {"{% extends 'base' %}", "unsupported construct '{% extends %}' at line 1, column 4"},
      {"a\nb\n{% import 'm' as m %}", "unsupported construct '{% import %}' at line 3, column 4"},
      {"{% from 'm' import x %}", "unsupported construct '{% from %}' at line 1, column 4"},
      {"{% block body %}{% endblock %}", "unsupported construct '{% block %}' at line 1, column 4"},
      {"{% autoescape true %}{% endautoescape %}", "unsupported construct '{% autoescape %}' at line 1, column 4"},
      {"{% do x.append(1) %}", "unsupported construct '{% do %}' at line 1, column 4"},
      {"{% for x in y recursive %}{% endfor %}", "unsupported construct 'recursive' loop at line 1, column 15"},
      {"{{ x | frobnicate }}", "unsupported construct filter 'frobnicate' at line 1, column 8"},
      {"\n\n   {{ x is prime }}", "unsupported construct test 'prime' at line 3, column 12"},
      {"{{ f(*args) }}", "unsupported construct '*args' or '**kwargs' in a call at line 1, column 6"},
      {"{{ x[1, 2] }}", "unsupported construct tuple subscript 'x[a, b]' at line 1, column 7"},
      {"é{{ 0x1F }}", "binary, octal and hexadecimal literals are not supported at line 1, column 5"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto [message, kind] = parse_error(c.text);
    CHECK(message.find(c.message) != std::string::npos);
    if (message.find(c.message) == std::string::npos) MESSAGE("got: ", message);
  }
  CHECK(parse_error("{% include 'x' %}").second == zest::Error::Kind::unsupported);
}

TEST_CASE("chat template: syntax errors name their line and column") {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"{% if x %}never closed", "unexpected end of template, expected 'elif' or 'else' or 'endif' at line 1, column 23"},
      {"{% for x in %}{% endfor %}", "expected an expression, got end of statement block at line 1, column 13"},
      {"line\n{{ 1 + }}", "unexpected end of print statement at line 2, column 8"},
      {"{% endfor %}", "unexpected 'endfor' (no block open to end) at line 1, column 4"},
      {"{% frob %}", "unknown tag 'frob' at line 1, column 4"},
      {"{{ 'unterminated }}", "unexpected end of string at line 1, column 4"},
      {"{# no end", "missing end of comment tag at line 1, column 1"},
      {"{{ x }", "unexpected '}' at line 1, column 6"},
      {"{{ a ) }}", "unexpected ')' at line 1, column 6"},
      {"{% set true = 1 %}", "cannot assign to 'true' at line 1, column 8"},
      {"{{ x is y is z }}", "test 'y'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto [message, kind] = parse_error(c.text);
    CHECK(message.find(c.message) != std::string::npos);
    if (message.find(c.message) == std::string::npos) MESSAGE("got: ", message);
  }
  CHECK(parse_error("{% if %}").second == zest::Error::Kind::format);
  CHECK(parse_error(std::string("\xff{{ x }}")).first.find("invalid UTF-8 at byte 0") != std::string::npos);
}

TEST_CASE("chat template: raise_exception's message is the error's, verbatim") {
  const auto [message, kind] = render_error("{{ raise_exception('System role not supported') }}");
  CHECK(message == "System role not supported");
  CHECK(kind == zest::Error::Kind::input);
}

TEST_CASE("chat template: limits stop hostile templates") {
  zest::ChatTemplate::Options small;
  small.max_output_bytes = 1 << 16;
  small.max_steps = 100000;
  small.max_call_depth = 20;
  const auto start = std::chrono::steady_clock::now();

  // Output that grows without end.
  CHECK(render_error("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", small).first.find("exceeds the limit of 65536") !=
        std::string::npos);
  // A string doubling in a namespace.
  CHECK(render_error("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", small)
            .first.find("exceeds the limit") != std::string::npos);
  // Repetition in one step.
  CHECK(render_error("{{ 'x' * 100000000000 }}", small).first.find("exceeds the limit") != std::string::npos);
  CHECK(render_error("{{ [1, 2] * 100000000000 }}", small).first.find("items exceeds the limit") != std::string::npos);
  // Nested loops: 10^15 iterations.
  CHECK(render_error("{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}{% endfor %}"
                     "{% endfor %}{% endfor %}",
                     small)
            .first.find("more than 100000 loop iterations and macro calls") != std::string::npos);
  // Unbounded recursion, and exponential recursion under the depth limit.
  CHECK(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", small).first.find("nested deeper than 20") !=
        std::string::npos);
  CHECK(render_error("{% macro f(n) %}{% if n < 19 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}", small)
            .first.find("loop iterations and macro calls") != std::string::npos);
  // The sandbox's range cap, and arithmetic past 64 bits.
  CHECK(render_error("{{ range(10 ** 9) | length }}").first ==
        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  CHECK(render_error("{{ 2 ** 64 }}").second == zest::Error::Kind::unsupported);
  // Deep nesting at parse time: no stack overflow.
  CHECK(parse_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}").first.find("nesting deeper than 200") !=
        std::string::npos);
  CHECK(parse_error("{{ " + std::string(100000, '[') + std::string(100000, ']') + " }}").first.find("nesting deeper than") !=
        std::string::npos);
  CHECK(parse_error("{{ " + std::string(100000, '{') + " }}").first.find("unexpected end of template") != std::string::npos);
  std::string ifs;
  for (int k = 0; k < 5000; ++k) ifs += "{% if true %}";
  CHECK(parse_error(ifs).first.find("nesting deeper than 200") != std::string::npos);
  CHECK(parse_error("{{ " + std::string(100000, '-') + "1 }}").first.find("nesting deeper than") != std::string::npos);
  CHECK(parse_error("{{ x" + std::string(50000, '|') + " }}").first.size() > 0);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 5.0);
}

TEST_CASE("chat template: 1 ** huge is computed by squaring, not by looping") {
  zest::ChatTemplate t("{{ 1 ** 1000000000000000000 }} {{ (-1) ** 1000000000000000001 }} {{ 0 ** 5 }}");
  CHECK(t.render({}) == "1 -1 0");
}
