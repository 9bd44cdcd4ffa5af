#!/usr/bin/python3
"""Goldens for zest's Jinja chat-template engine, rendered by Python's jinja2 set up as Hugging Face
transformers' apply_chat_template sets it up (src/transformers/utils/chat_template_utils.py,
_compile_jinja_template): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker, loopcontrols]), its own `tojson` filter, `raise_exception` and
`strftime_now` globals; rendered with messages, tools, documents, add_generation_prompt and the
special tokens and extra variables as keyword arguments.

Writes tests/data/chat/goldens.json:
  "cases":        focused small templates, one or a few constructs each (every construct, filter,
                  test, method and global zest supports), and error cases;
  "conversations" + "shared_cases": zest's own conversations (non-ASCII and emoji, Jinja-looking
                  text in content, assistant-last continuation, a long system prompt, tools without
                  calls, documents, whitespace at the edges of content, reasoning, a long chat)
                  rendered through each real template of ../shared/chat-templates (the test runs
                  these only where ../shared is present; the templates are not copied here).

Deterministic: strftime_now formats 26 July 2024 00:00:00 (as the shared goldens do).
Run: /usr/bin/python3 tools/chat-reference/make_goldens.py  (Debian's python3-jinja2, 3.1.2)
"""

import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "chat-templates")
OUT = os.path.join(ROOT, "tests", "data", "chat", "goldens.json")
NOW = datetime(2024, 7, 26)


class GenerationTag(Extension):
    """transformers' AssistantTracker as far as rendering goes: {% generation %}body{% endgeneration %}
    renders its body (the tracker only records where, which rendering does not show)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_environment()


def render(template, messages, add_generation_prompt=False, tools=None, documents=None, special=None, kwargs=None):
    """The rendering, or the error as (message, from_raise_exception)."""
    variables = dict(special or {})
    variables.update(kwargs or {})
    try:
        compiled = ENV.from_string(template)
        text = compiled.render(messages=messages, tools=tools, documents=documents,
                               add_generation_prompt=add_generation_prompt, **variables)
        return {"expected": text}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"expected_error": str(e), "error_type": "TemplateSyntaxError", "error_from_raise_exception": False}
    except Exception as e:  # noqa: BLE001 - every failure is a golden
        from_raise = type(e) is jinja2.exceptions.TemplateError
        return {"expected_error": str(e), "error_type": type(e).__name__, "error_from_raise_exception": from_raise}


# ---- focused cases: (name, template, variables) ----
M1 = [{"role": "user", "content": "Hello"}]
M3 = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"},
]
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather (météo) now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]}}}

FOCUSED = [
    # whitespace control: trim_blocks, lstrip_blocks, - and +, comments, raw, newlines
    ("ws_trim_lstrip", "  {% if true %}\n  yes\n  {% endif %}\nend\n", {}),
    ("ws_minus", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c", {}),
    ("ws_plus", "a\n  {%+ if true %}b{% endif +%}\nc", {}),
    ("ws_var_minus", "x  {{- 1 -}}  y {{ 2 }}  \n{{ 3 }}\n", {}),
    ("ws_comment", "a\n  {# a comment #}\nb {#- tight -#} c\n{# last #}", {}),
    ("ws_raw", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}\n|", {}),
    ("ws_crlf", "line1\r\n{% if true %}\r\nline2\r\n{% endif %}\r\n", {}),
    ("ws_trailing_newlines", "a\n\n", {}),
    ("ws_inline_tag_after_text", "text {% if true %}\nx{% endif %}   {% if true %}y{% endif %}\n  z", {}),
    ("ws_lstrip_after_var", "{{ 'v' }}  {% if true %}w{% endif %}", {}),
    # for loops
    ("for_loop_vars", "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/"
     "{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.depth }};{% endfor %}", {"messages": M3}),
    ("for_prev_next", "{% for x in [1, 2, 3] %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.previtem is defined }}]{% endfor %}", {}),
    ("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("for_unpack", "{% for k, v in {'a': 1, 'b': [2]}.items() %}{{ k }}={{ v }};{% endfor %}"
     "{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("for_filter", "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }}/{{ loop.length }} {% endfor %}", {"messages": M3}),
    ("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("for_nested_loop", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("for_scope", "{% set c = 0 %}{% for m in [1, 2, 3] %}{{ c }}{% set c = c + 1 %}{{ c }}|{% endfor %}{{ c }}", {}),
    ("for_over_dict_and_string", "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}|{% for ch in 'héllo' %}{{ ch }}.{% endfor %}", {}),
    ("for_cycle_changed", "{% for x in [1, 1, 2] %}{{ loop.cycle('a', 'b') }}{{ loop.changed(x) }}{% endfor %}", {}),
    ("for_loop_in_macro_unvisible", "{% macro m() %}{{ loop is defined }}{% endmacro %}{% for x in [1] %}{{ m() }}{% endfor %}", {}),
    # conditionals and expressions
    ("if_elif_else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    ("inline_if", "{{ 'a' if true else 'b' }}{{ 'c' if false else 'd' }}[{{ 'e' if false }}]{{ 1 if none else 2 if true else 3 }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 3 >= 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 1 < 2 < 3 }} "
     "{{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }} {{ true == 1 }} {{ none == none }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 3 not in [1] }} {{ 'x' in undefined_thing }}", {}),
    ("logic", "{{ true and false }} {{ true or false }} {{ not true }} {{ 0 or 'x' }} {{ '' and 'y' }} {{ not none }} "
     "{{ 1 and 2 }} {{ [] or {} }}", {}),
    ("arithmetic", "{{ 1 + 2 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} "
     "{{ -7 % 3 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ -3 }} {{ +4 }} {{ 2 * 'ab' }} {{ [1] * 2 }} {{ 'x' + 'y' }} "
     "{{ [1] + [2] }} {{ 1e3 }} {{ 2.5e-3 }} {{ 1_000 }}", {}),
    ("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ undefined_thing }}", {}),
    ("percent_format", "{{ '%s is %d years, %r' % ('Ann', 30, 'x') }} {{ '%s!' % 'hi' }} {{ '100%%' % () }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ not 1 == 2 }} {{ 'x' ~ 2 * 3 }} {{ 1 ~ 2 | string }} "
     "{{ 'ab' ~ 'cd' | upper }} {{ -1 | abs }}", {}),
    # indexing, slicing, attributes, literals
    ("index_slice", "{% set s = 'hello' %}{% set l = [1, 2, 3, 4, 5] %}{{ s[0] }}{{ s[-1] }}{{ s[1:] }}{{ s[:-1] }}{{ s[::-1] }}"
     "{{ s[1:4:2] }} {{ l[1:] }} {{ l[:2] }} {{ l[-2:] }} {{ l[::-1] }} {{ l[::2] }} {{ l[10:] }} {{ l[-9:] }} {{ l[:] }} {{ l[-1] }} {{ l.0 }}", {}),
    ("unicode_slice", "{% set s = 'añb😀c' %}{{ s[1] }}{{ s[3] }}{{ s[-2:] }}{{ s[::-1] }}{{ s | length }}", {}),
    ("attr_access", "{{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].content }} "
     "[{{ messages[0].missing }}] {{ messages[0].missing is defined }} {{ messages[0]['missing'] is defined }}", {"messages": M3}),
    ("dict_items_key", "{% set d = {'items': 1, 'keys': 2, 'other': 3} %}{{ d['items'] }} {{ d['keys'] }} {{ d.other }} {{ d.get('items') }}", {}),
    ("literals", "{{ [1, 'two', 3.0, none, true, false] }} {{ {'a': 1, 'b': [1, {'c': none}]} }} {{ (1, 2) }} {{ (1,) }} {{ () }} "
     "{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ ['it\\'s', \"x\"] }}", {}),
    ("string_escapes", "{{ 'tab\\there' }}|{{ 'nl\\nx' }}|{{ 'back\\\\slash' }}|{{ '\\u00e9\\x41\\101' }}|{{ 'keep\\d' }}|{{ 'a' 'b' }}", {}),
    ("repr_of_strings", "{{ ['a\\nb', 'tab\\t', 'quote\\'s', 'both\\'\"', 'é', '\\u00a0', '\\x7f', '\\u200b', '😀', 'back\\\\'] }}", {}),
    ("print_values", "{{ none }}|{{ true }}|{{ false }}|{{ 1.0 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 1/3 }}|"
     "{{ 10 / 4 }}|{{ -0.0 }}|{{ 123456789.123 }}|{{ undefined_thing }}|{{ {'k': 1.5, 'n': none} }}", {}),
    ("print_json_values", "{{ data }}|{{ data.n }}|{{ data.f }}|{{ data.b }}|{{ data.l }}", {"data": {"n": None, "f": 2.0, "b": True, "l": [1, "x", {"y": False}]}}),
    # set, namespace, with
    ("set_simple", "{% set x = 1 %}{% set y, z = [2, 3] %}{% set t = 4, 5 %}{{ x }}{{ y }}{{ z }}{{ t }}", {}),
    ("set_block", "{% set block %}Hello {{ name }}!{% endset %}[{{ block }}]{% set up | upper %}quiet{% endset %}{{ up }}", {"name": "Ann"}),
    ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for m in messages %}{% if m.role == 'user' %}"
     "{% set ns.count = ns.count + 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", {"messages": M3}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{% set ns.c = [ns.a] %}{{ ns.c }}", {}),
    ("set_in_if_top_level", "{% if true %}{% set x = 'in-if' %}{% endif %}{{ x }}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    # macros and call blocks
    ("macro_basic", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}"
     "{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(name='Cy', greeting='Yo') }} {{ greet() }}", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}", {}),
    ("macro_recursive", "{% macro render(v) %}{% if v is mapping %}{{ '{' }}{% for k, x in v.items() %}{{ k }}:{{ render(x) }},{% endfor %}{{ '}' }}"
     "{% elif v is iterable and v is not string %}[{% for x in v %}{{ render(x) }} {% endfor %}]{% else %}{{ v }}{% endif %}{% endmacro %}"
     "{{ render({'a': [1, {'b': 'c'}], 'd': none}) }}", {}),
    ("macro_sees_top_level", "{% macro f() %}{{ t }}{% endmacro %}{% set t = 5 %}{{ f() }}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% for x in ['a', 'b'] %}"
     "{% call wrap('p') %}item {{ x }}{% endcall %}{% endfor %}", {}),
    ("call_block_args", "{% macro each(items) %}{% for i in items %}{{ caller(i, loop.index) }}{% endfor %}{% endmacro %}"
     "{% call(item, n) each(['x', 'y']) %}{{ n }}={{ item }};{% endcall %}", {}),
    ("filter_block", "{% filter upper %}hello {{ name }}{% endfilter %}|{% filter trim | replace('a', 'o') %}  banana  {% endfilter %}", {"name": "ann"}),
    ("generation_block", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
     "{% else %}{{ m.content }}{% endif %}|{% endfor %}", {"messages": M3}),
    # filters
    ("filter_trim", "[{{ '  x y \\n' | trim }}][{{ 'xxhixx' | trim('x') }}][{{ '\\u3000wide\\u00a0' | trim }}]", {}),
    ("filter_tojson", "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ data | tojson(separators=(',', ':')) }}|"
     "{{ data | tojson(sort_keys=true) }}|{{ data | tojson(ensure_ascii=true) }}|{{ 'é\"\\n\\t\\u0001' | tojson }}|{{ none | tojson }}|"
     "{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|{{ 1.0 | tojson }}|{{ data | tojson(indent='\\t') }}|{{ [1,[2]] | tojson(indent=0) }}",
     {"data": {"z": 1, "a": [True, None, 2.5, "😀 ü"], "m": {"k": "v"}}}),
    ("filter_tojson_tools", "{% for t in tools %}{{ t | tojson }}\n{{ t.function.parameters | tojson(indent=4) }}\n{% endfor %}", {"tools": [TOOL]}),
    ("filter_length_count", "{{ 'héllo' | length }} {{ [1, 2] | length }} {{ {'a': 1} | count }} {{ messages | length }} {{ undefined_thing | length }}", {"messages": M3}),
    ("filter_items", "{% for k, v in {'b': 1, 'a': 2} | items %}{{ k }}{{ v }}{% endfor %}{% for x in undefined_thing | items %}x{% endfor %}", {}),
    ("filter_selectattr", "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} "
     "{{ messages | selectattr('role', 'eq', 'system') | list | length }} {{ messages | rejectattr('role', 'equalto', 'user') | list | length }} "
     "{{ [{'a': 1}, {'a': 0}, {}] | selectattr('a') | list }} {{ [{'a': 1}, {'b': 0}] | selectattr('a', 'defined') | list }} "
     "{{ [{'a': 1}, {'b': 0}] | rejectattr('a', 'defined') | list }}", {"messages": M3}),
    ("filter_select_reject", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} "
     "{{ [0, 1, '', 'a'] | select | list }} {{ ['a', 'b'] | reject('equalto', 'a') | list }} {{ [1, 5, 9] | select('gt', 4) | list }}", {}),
    ("filter_map", "{{ messages | map(attribute='role') | join(',') }} {{ ['a', 'B'] | map('upper') | list }} "
     "{{ [{'x': {'y': 1}}, {'x': {'y': 2}}] | map(attribute='x.y') | list }} {{ [{}, {'a': 2}] | map(attribute='a', default=0) | list }} "
     "{{ [[1, 2], [3, 4]] | map(attribute='0') | list }} {{ ['a', 'b'] | map('replace', 'a', 'z') | list }}", {"messages": M3}),
    ("filter_join", "{{ [1, 2, 3] | join }} {{ ['a', 'b'] | join(', ') }} {{ messages | join('|', attribute='role') }} {{ 'abc' | join('-') }} {{ [none, true] | join }}", {"messages": M3}),
    ("filter_case", "{{ 'hello WORLD' | upper }} {{ 'HeLLo' | lower }} {{ 'hello big-world (x) [y]' | title }} {{ 'hELLO there' | capitalize }} "
     "{{ 'élan ñu' | upper }} {{ \"it's o'neil\" | title }}", {}),
    ("filter_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'abc' | replace('', '-') }} {{ 'x\\ny' | replace('\\n', ' ') }}", {}),
    ("filter_default", "[{{ undefined_thing | default('dflt') }}][{{ none | default('dflt') }}][{{ '' | default('dflt', true) }}]"
     "[{{ 'set' | d('dflt') }}][{{ undefined_thing | default }}][{{ false | default('x', boolean=true) }}]", {}),
    ("filter_first_last", "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }} {{ 'abc' | last }} {{ messages | last | attr('role') }} [{{ [] | first }}]", {"messages": M3}),
    ("filter_string_int_float", "{{ 1 | string }}{{ none | string }}{{ [1] | string }} {{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} "
     "{{ 'x' | int(7) }} {{ 3.9 | int }} {{ true | int }} {{ '0x1A' | int(0, 16) }} {{ '2.5' | float }} {{ 3 | float }} {{ 'n' | float }} {{ ' 12 ' | int }}", {}),
    ("filter_list", "{{ 'abc' | list }} {{ {'a': 1, 'b': 2} | list }} {{ [1] | list }} {{ range(3) | list }}", {}),
    ("filter_unique", "{{ ['a', 'A', 'b', 'a'] | unique | list }} {{ ['a', 'A'] | unique(case_sensitive=true) | list }} "
     "{{ [{'n': 1}, {'n': 1}, {'n': 2}] | unique(attribute='n') | list }} {{ [1, 2, 1, 3] | unique | list }}", {}),
    ("filter_safe_escape", "{{ '<b>' | safe }} {{ '<a href=\"x\">&\\'' | e }} {{ '<i>' | escape }}", {}),
    ("filter_indent", "[{{ 'a\\nb\\n\\nc' | indent }}][{{ 'a\\nb' | indent(2, true) }}][{{ 'a\\n\\nb' | indent(2, blank=true) }}]"
     "[{{ 'x\\ny' | indent('> ') }}][{{ 'one' | indent(first=true) }}][{{ 'a\\nb\\n' | indent(3) }}]", {}),
    ("filter_wordcount", "{{ 'hello big world' | wordcount }} {{ 'one,two;three  four_five 6' | wordcount }} {{ '' | wordcount }} {{ 'héllo wörld' | wordcount }}", {}),
    ("filter_misc", "{{ -3 | abs }} {{ 2.567 | round(1) }} {{ 2.5 | round }} {{ [3, 1, 2] | sort | list }} {{ ['b', 'A', 'c'] | sort }} "
     "{{ [3, 1, 2] | sort(reverse=true) }} {{ [1, 2, 3] | sum }} {{ [1, 5, 3] | max }} {{ [4, 2, 8] | min }} {{ 'abc' | reverse }} "
     "{{ [1, 2] | reverse | list }} {{ {'b': 1, 'a': 2} | dictsort }} {{ [{'n': 2}, {'n': 1}] | sort(attribute='n') }}", {}),
    # tests
    ("tests_types", "{% for v in [none, true, 1, 1.5, 'x', [1], {'a': 1}, (1,)] %}{{ v is none }}{{ v is boolean }}{{ v is number }}"
     "{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is mapping }}{{ v is iterable }}{{ v is sequence }}{{ v is true }}{{ v is false }};{% endfor %}", {}),
    ("tests_defined", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ x is not none }} {{ none is none }} {{ not y is defined }} "
     "{{ y is iterable }} {{ y is sequence }} {{ (x | selectattr('a')) is iterable }}", {"x": []}),
    ("tests_values", "{{ 3 is odd }} {{ 4 is even }} {{ 4 is odd }} {{ 2 is equalto 2 }} {{ 'a' is eq 'a' }} {{ 'a' is in 'abc' }} "
     "{{ 2 is in [1] }} {{ 9 is divisibleby 3 }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 5 is gt(3) }} {{ 5 is lt 3 }} {{ 5 is ne 5 }} "
     "{{ 1 is sameas 1 }} {{ none is sameas none }} {{ range is callable }} {{ 'x' is callable }} {{ 'upper' is filter }} {{ 'odd' is test }}", {}),
    # methods
    ("str_methods_strip", "[{{ '  a  '.strip() }}][{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}][{{ 'xxaxx'.strip('x') }}]"
     "[{{ '\\n\\nthink\\n'.lstrip('\\n') }}][{{ 'abcba'.rstrip('ab') }}]", {}),
    ("str_methods_split", "{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ '  x  y '.split() }} "
     "{{ 'a</think>b'.split('</think>')[-1] }} {{ 'k=v=w'.rsplit('=', 1) }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("str_methods_affix", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} "
     "{{ 'hello'.endswith('x') }} {{ '<tool_call>'.startswith('<tool') }}", {}),
    ("str_methods_case", "{{ 'aBc'.upper() }} {{ 'aBc'.lower() }} {{ 'hello wORLD'.title() }} {{ \"they're 2nd-best\".title() }} {{ 'user'.title() }} "
     "{{ 'hELLO'.capitalize() }}", {}),
    ("str_methods_replace_format", "{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }} {{ '{} and {}'.format('x', 1) }} "
     "{{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='hi') }} {{ '{{literal}}'.format() }} {{ ', '.join(['a', 'b']) }} "
     "{{ 'abcabc'.find('c') }} {{ 'abc'.count('b') }} {{ 'x'.isdigit() }} {{ '12'.isdigit() }}", {}),
    ("dict_methods", "{% set d = {'a': 1, 'b': none} %}{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.get('b', 'x') }} "
     "{{ d.keys() | list }} {{ d.values() | list }} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {}),
    ("list_methods", "{{ [1, 2, 1].count(1) }} {{ ['a', 'b'].index('b') }}", {}),
    # globals
    ("globals_range_dict", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }} {{ dict(a=1, b='x') }} "
     "{% for i in range(2) %}{{ i }}{% endfor %}", {}),
    ("globals_strftime", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%A %B %-d') }}", {}),
    ("globals_raise", "{% if messages | length > 1 %}{{ raise_exception('Only one message, please! (got ' ~ messages | length ~ ')') }}{% endif %}ok",
     {"messages": M3}),
    ("special_tokens", "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}[{{ unk_token }}]",
     {"messages": M1, "special": {"bos_token": "<s>", "eos_token": "</s>"}}),
    ("special_tokens_missing", "[{{ bos_token }}]{{ bos_token is defined }}", {}),
    ("add_generation_prompt", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}",
     {"messages": M3, "add_generation_prompt": True}),
    ("tools_none", "{{ tools }} {{ tools is none }} {{ documents is none }} {{ tools is defined }}", {}),
    ("tools_and_documents", "{% for t in tools %}{{ t.function.name }}({{ t.function.parameters.properties | list | join(', ') }}){% endfor %}"
     "{% for d in documents %}[{{ loop.index }}] {{ d.title }}: {{ d.text }}\n{% endfor %}",
     {"tools": [TOOL], "documents": [{"title": "A", "text": "first"}, {"title": "B", "text": "second"}]}),
    ("extra_kwargs", "{% if enable_thinking is defined and enable_thinking is false %}no-think{% else %}think{% endif %} {{ custom.k }}",
     {"kwargs": {"enable_thinking": False, "custom": {"k": "v"}}}),
    ("content_parts", "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}"
     "{% if p.type == 'text' %}{{ p.text }}{% endif %}{% endfor %}{% endif %}|{% endfor %}",
     {"messages": [{"role": "user", "content": [{"type": "text", "text": "A"}, {"type": "image"}, {"type": "text", "text": "B"}]},
                   {"role": "assistant", "content": "C"}]}),
    ("tool_call_arguments", "{% for tc in messages[0].tool_calls %}{{ tc.function.name }} {{ tc.function.arguments }} "
     "{{ tc.function.arguments | tojson }}{% if tc.function.arguments is string %}S{% else %}D{% endif %};{% endfor %}",
     {"messages": [{"role": "assistant", "tool_calls": [
         {"type": "function", "function": {"name": "f", "arguments": {"city": "Paris", "n": 2, "ok": True, "x": None}}},
         {"type": "function", "function": {"name": "g", "arguments": "{\"raw\": 1}"}}]}]}),
    # errors (message as jinja2 gives it)
    ("error_raise_exception", "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}", {}),
    ("error_undefined_attribute", "{{ messages[0].missing.deeper }}", {"messages": M1}),
    ("error_undefined_variable_attribute", "{{ nothing.here }}", {}),
    ("error_undefined_method", "{{ messages[0].content2.split('x') }}", {"messages": M1}),
    ("error_str_plus_int", "{{ 'a' + 1 }}", {}),
    ("error_int_plus_str", "{{ 1 + 'a' }}", {}),
    ("error_str_plus_dict", "{{ 'a' + {'k': 1} }}", {}),
    ("error_list_plus_str", "{{ [1] + 'a' }}", {}),
    ("error_none_plus_int", "{{ none + 1 }}", {}),
    ("error_undefined_plus", "{{ nothing + 1 }}", {}),
    ("error_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("error_iterate_int", "{% for x in 3 %}{% endfor %}", {}),
    ("error_unpack_few", "{% for a, b in [[1]] %}{% endfor %}", {}),
    ("error_unpack_many", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("error_length_generator", "{{ [1] | select | length }}", {}),
    ("error_length_int", "{{ 5 | length }}", {}),
    ("error_tojson_undefined", "{{ nothing | tojson }}", {}),
    ("error_division_by_zero", "{{ 1 / 0 }}", {}),
    ("error_modulo_by_zero", "{{ 1 % 0 }}", {}),
    ("error_compare_types", "{{ 1 < 'a' }}", {}),
    ("error_in_string_int", "{{ 1 in 'abc' }}", {}),
    ("error_in_none", "{{ 'a' in none }}", {}),
    ("error_call_undefined", "{{ nothing() }}", {}),
    ("error_call_string", "{{ 'abc'() }}", {}),
    ("error_list_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("error_dict_update", "{% set d = {} %}{{ d.update({'a': 1}) }}", {}),
    ("error_set_attr_non_namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("error_range_too_big", "{{ range(200000) | length }}", {}),
    ("error_macro_too_many_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("error_macro_unknown_kwarg", "{% macro m(a) %}{% endmacro %}{{ m(b=1) }}", {}),
    ("error_items_not_mapping", "{{ [1] | items | list }}", {}),
    ("first_last_undefined", "[{{ nothing | first }}][{{ nothing | last }}][{{ (nothing | first) is defined }}]", {}),
    ("error_negate_string", "{{ -'a' }}", {}),
    ("error_slice_step_zero", "{{ [1, 2][::0] }}", {}),
    ("error_split_non_string", "{{ 'a b'.split(1) }}", {}),
    ("error_multiply_sequences", "{{ 'a' * 'b' }}", {}),
]


# ---- zest's own conversations, through the shared real templates ----
LONG_SYSTEM = "\n\n".join(
    f"Rule {k}: " + " ".join(["You answer carefully, cite sources when you have them, and say when you do not know."] * 3)
    for k in range(1, 9))
WEATHER_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather (météo) in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and country, e.g. Paris, France"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"}},
        "required": ["location"]}}},
    {"type": "function", "function": {
        "name": "search_web", "description": "Search the web for a query",
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "What to search"},
                                                         "max_results": {"type": "integer", "description": "How many"}},
                       "required": ["query"]}}}]

CONVERSATIONS = [
    {"id": "z01_unicode_emoji", "about": "non-ASCII and emoji in every role",
     "messages": [{"role": "system", "content": "Tu es un assistant serviable. 日本語も話せます。"},
                  {"role": "user", "content": "Grüße 👋 — ¿qué tal? Ça va ? Привет! 🧑‍💻🇫🇷"},
                  {"role": "assistant", "content": "Très bien, merci ! 😊 «Ça roule.»"},
                  {"role": "user", "content": "Écris « bonjour » en emoji : 👋☀️"}]},
    {"id": "z02_jinja_looking_content", "about": "content that looks like Jinja, JSON and special tokens",
     "messages": [{"role": "user", "content": "Explain {{ messages }} and {% if x %}...{% endif %} and {# c #} in Jinja."},
                  {"role": "assistant", "content": "`{{ x }}` prints; `{%- raw -%}` escapes. {\"json\": [1, 2]} <|im_end|>"},
                  {"role": "user", "content": "And '{%' inside 'quotes' \\n with a backslash \\ and \"double quotes\"?"}]},
    {"id": "z03_assistant_last", "about": "assistant-last continuation (prefill), no generation prompt",
     "messages": [{"role": "user", "content": "Write a haiku about rust."},
                  {"role": "assistant", "content": "Red bloom on iron,"}]},
    {"id": "z04_long_system", "about": "a long multi-paragraph system prompt",
     "messages": [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "Summarise your rules in one line."}]},
    {"id": "z05_tools_no_calls", "about": "two tools offered, none called",
     "tools": WEATHER_TOOLS,
     "messages": [{"role": "user", "content": "Tell me a joke about the weather, no need to look anything up."}]},
    {"id": "z06_documents", "about": "RAG documents",
     "documents": [{"title": "Zest README", "text": "zest runs Hugging Face models on CPU, header-only C++20."},
                   {"title": "Release notes", "text": "Version 0.1 adds chat templates.\nSecond line."}],
     "messages": [{"role": "user", "content": "What does zest do, according to the documents?"}]},
    {"id": "z07_edge_whitespace", "about": "whitespace at the edges of content",
     "messages": [{"role": "system", "content": "  padded system  \n"},
                  {"role": "user", "content": "\n\nleading newlines"},
                  {"role": "assistant", "content": "trailing newlines\n\n"},
                  {"role": "user", "content": " \t mixed \t "}]},
    {"id": "z08_tool_calls_string_args", "about": "two parallel tool calls with arguments as JSON strings (OpenAI style), two results",
     "tools": WEATHER_TOOLS,
     "messages": [{"role": "user", "content": "Weather in Paris and Tokyo?"},
                  {"role": "assistant", "content": "", "tool_calls": [
                      {"id": "call_1", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris, France\"}"}},
                      {"id": "call_2", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Tokyo, Japan\", \"unit\": \"celsius\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "name": "get_current_weather", "content": "18 °C, cloudy"},
                  {"role": "tool", "tool_call_id": "call_2", "name": "get_current_weather", "content": "25 °C, clear"},
                  {"role": "user", "content": "Thanks! Which is warmer?"}]},
    {"id": "z09_reasoning", "about": "assistant turns with reasoning_content and <think> in content",
     "messages": [{"role": "user", "content": "2+2?"},
                  {"role": "assistant", "content": "4", "reasoning_content": "Simple arithmetic: 2+2=4."},
                  {"role": "user", "content": "3+3?"},
                  {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n6"},
                  {"role": "user", "content": "And 4+4?"}]},
    {"id": "z10_ten_turns", "about": "a 10-turn conversation (5 user, 5 assistant)",
     "messages": [{"role": "system", "content": "You are a helpful assistant."}] + [
         m for k in range(5) for m in ({"role": "user", "content": f"Question number {k + 1}?"},
                                       {"role": "assistant", "content": f"Answer number {k + 1}."})][:-1]},
]


def shared_cases():
    meta = json.load(open(os.path.join(SHARED, "templates.json")))["templates"]
    cases = []
    for name in sorted(meta):
        m = meta[name]
        template = open(os.path.join(SHARED, "templates", name + ".jinja"), encoding="utf-8", newline="").read()
        special = {k: m[k] for k in ("bos_token", "eos_token") if m.get(k) is not None}
        for conv in CONVERSATIONS:
            tools = conv.get("tools")
            if tools is None and m.get("requires_tools"):
                tools = WEATHER_TOOLS
            kwargs = dict(m.get("kwargs", {}))
            kwargs.update(conv.get("kwargs", {}))
            prompts = [False] if conv["messages"][-1]["role"] == "assistant" else [False, True]
            for agp in prompts:
                case = {"template_file": name, "conversation": conv["id"], "add_generation_prompt": agp}
                case.update({k: v for k, v in special.items()})
                if tools is not None:
                    case["tools"] = tools
                if "documents" in conv:
                    case["documents"] = conv["documents"]
                if kwargs:
                    case["kwargs"] = kwargs
                case.update(render(template, conv["messages"], agp, tools, conv.get("documents"), special, kwargs))
                cases.append(case)
    return cases


def main():
    cases = []
    for name, template, v in FOCUSED:
        case = {"name": name, "template": template}
        messages = v.get("messages", [])
        case["messages"] = messages
        case["add_generation_prompt"] = v.get("add_generation_prompt", False)
        for key in ("tools", "documents"):
            if key in v:
                case[key] = v[key]
        special = v.get("special", {})
        case.update(special)
        kwargs = {k: x for k, x in v.items() if k not in ("messages", "add_generation_prompt", "tools", "documents", "special", "kwargs")}
        kwargs.update(v.get("kwargs", {}))
        if kwargs:
            case["kwargs"] = kwargs
        case.update(render(template, messages, case["add_generation_prompt"], v.get("tools"), v.get("documents"), special, kwargs))
        cases.append(case)
    out = {
        "about": "Rendered by tools/chat-reference/make_goldens.py with Python jinja2 " + jinja2.__version__ +
                 " set up as transformers' apply_chat_template; strftime_now = 2024-07-26 00:00:00.",
        "cases": cases,
        "conversations": CONVERSATIONS,
        "shared_cases": shared_cases() if os.path.isdir(SHARED) else [],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("expected_error" in c for c in cases)
    shared_errors = sum("expected_error" in c for c in out["shared_cases"])
    print(f"{OUT}: {len(cases)} focused cases ({errors} errors), {len(out['shared_cases'])} shared-template cases "
          f"({shared_errors} errors)", file=sys.stderr)


if __name__ == "__main__":
    main()
