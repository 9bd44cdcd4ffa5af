// The filters and tests the engine knows, by name: the parser resolves each use once, so an
// unknown one is an error at parse time (jinja2: "No filter named ..."), never at render time.
#pragma once

#include <string_view>

namespace zest::detail::jinja {

enum class FilterId : int {
  abs, attr, capitalize, count, default_, dictsort, escape, first, float_, indent, int_, items, join, last, length,
  list, lower, map, max, min, reject, rejectattr, replace, reverse, round, safe, select, selectattr, sort, string,
  sum, title, tojson, trim, unique, upper, wordcount,
};

inline int filter_id(std::string_view name) {
  struct Entry {
    std::string_view name;
    FilterId id;
  };
  static constexpr Entry table[] = {
      {"abs", FilterId::abs},          {"attr", FilterId::attr},           {"capitalize", FilterId::capitalize},
      {"count", FilterId::count},      {"default", FilterId::default_},    {"d", FilterId::default_},
      {"dictsort", FilterId::dictsort}, {"escape", FilterId::escape},      {"e", FilterId::escape},
      {"first", FilterId::first},      {"float", FilterId::float_},        {"indent", FilterId::indent},
      {"int", FilterId::int_},         {"items", FilterId::items},         {"join", FilterId::join},
      {"last", FilterId::last},        {"length", FilterId::length},       {"list", FilterId::list},
      {"lower", FilterId::lower},      {"map", FilterId::map},             {"max", FilterId::max},
      {"min", FilterId::min},          {"reject", FilterId::reject},       {"rejectattr", FilterId::rejectattr},
      {"replace", FilterId::replace},  {"reverse", FilterId::reverse},     {"round", FilterId::round},
      {"safe", FilterId::safe},        {"select", FilterId::select},       {"selectattr", FilterId::selectattr},
      {"sort", FilterId::sort},        {"string", FilterId::string},       {"sum", FilterId::sum},
      {"title", FilterId::title},      {"tojson", FilterId::tojson},       {"trim", FilterId::trim},
      {"unique", FilterId::unique},    {"upper", FilterId::upper},         {"wordcount", FilterId::wordcount},
  };
  for (const auto& e : table)
    if (e.name == name) return int(e.id);
  return -1;
}

enum class TestId : int {
  boolean, callable, defined, divisibleby, eq, escaped, even, false_, filter, float_, ge, gt, in, integer, iterable,
  le, lower, lt, mapping, ne, none, number, odd, sameas, sequence, string, test, true_, undefined, upper,
};

inline int test_id(std::string_view name) {
  struct Entry {
    std::string_view name;
    TestId id;
  };
  static constexpr Entry table[] = {
      {"boolean", TestId::boolean}, {"callable", TestId::callable},     {"defined", TestId::defined},
      {"divisibleby", TestId::divisibleby}, {"eq", TestId::eq},         {"equalto", TestId::eq},
      {"==", TestId::eq},           {"escaped", TestId::escaped},       {"even", TestId::even},
      {"false", TestId::false_},    {"filter", TestId::filter},         {"float", TestId::float_},
      {"ge", TestId::ge},           {">=", TestId::ge},                 {"gt", TestId::gt},
      {"greaterthan", TestId::gt},  {">", TestId::gt},                  {"in", TestId::in},
      {"integer", TestId::integer}, {"iterable", TestId::iterable},     {"le", TestId::le},
      {"<=", TestId::le},           {"lower", TestId::lower},           {"lt", TestId::lt},
      {"lessthan", TestId::lt},     {"<", TestId::lt},                  {"mapping", TestId::mapping},
      {"ne", TestId::ne},           {"!=", TestId::ne},                 {"none", TestId::none},
      {"number", TestId::number},   {"odd", TestId::odd},               {"sameas", TestId::sameas},
      {"sequence", TestId::sequence}, {"string", TestId::string},       {"test", TestId::test},
      {"true", TestId::true_},      {"undefined", TestId::undefined},   {"upper", TestId::upper},
  };
  for (const auto& e : table)
    if (e.name == name) return int(e.id);
  return -1;
}

}  // namespace zest::detail::jinja
