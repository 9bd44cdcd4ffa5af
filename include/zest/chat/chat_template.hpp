// zest::ChatTemplate: a model's Jinja chat template (tokenizer_config.json's `chat_template`),
// parsed once and rendered as many times as wanted, byte for byte as transformers'
// apply_chat_template renders it (jinja2's ImmutableSandboxedEnvironment with trim_blocks,
// lstrip_blocks and loop controls, the {% generation %} tag, transformers' tojson, raise_exception
// and strftime_now).
//
//   zest::ChatTemplate tmpl(text);                       // throws zest::Error on a syntax error
//   zest::ChatTemplate::Input in;
//   in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
//   in.add_generation_prompt = true;
//   in.bos_token = "<|begin_of_text|>";
//   std::string prompt = tmpl.render(in);
//
// JSON inputs are nlohmann::ordered_json: objects keep their keys' order, which tojson shows (as
// Python's dicts do); nlohmann::json would sort them.
//
// Errors are zest::Error: a construct the engine does not run (extends, include, import, block,
// recursive loops, *args, unknown filters or tests) is Kind::unsupported at construction, naming it
// with its line and column; a syntax error is Kind::format, also with line and column; at render
// time the template's raise_exception(msg) is Kind::input with exactly msg as what(), and other
// failures (an attribute of an undefined value, 'str' + 'int', ...) are Kind::input with Python's
// own message.
//
// Limits (Options): a render stops with Kind::input when the text it builds (the output, or any one
// string or list on the way) passes max_output_bytes (64 MiB; lists: 1 Mi items), when loop
// iterations and macro calls together pass max_steps (10 million), or when macro calls nest deeper
// than max_call_depth (100). range() is capped at 100000 items, as jinja2's sandbox does. Parsing
// refuses nesting deeper than 200 levels. A template and its inputs cannot hang a render or
// exhaust memory past these bounds.
//
// A ChatTemplate is immutable after construction: render() may run on many threads at once.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/chat/json.hpp"
#include "zest/chat/parser.hpp"
#include "zest/chat/render.hpp"
#include "zest/error.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest {

class ChatTemplate {
 public:
  struct Options {
    size_t max_output_bytes = size_t(64) << 20;
    uint64_t max_steps = 10'000'000;
    int max_call_depth = 100;
  };

  // What apply_chat_template passes to the template.
  struct Input {
    // [{"role": ..., "content": "..." or [{"type": "text", "text": ...}], "tool_calls": [...],
    //   "tool_call_id": ..., "name": ..., "reasoning_content": ...}, ...]
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    bool add_generation_prompt = false;
    nlohmann::ordered_json tools;      // JSON schemas; null: `tools` is none, as transformers passes it
    nlohmann::ordered_json documents;  // null: `documents` is none
    std::optional<std::string> bos_token, eos_token;  // unset: the variable is undefined
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // each key one more variable
                                                                       // (enable_thinking, ...)
    std::optional<std::tm> now;  // the local time strftime_now() formats; unset: the clock's
  };

  explicit ChatTemplate(std::string_view source) : ChatTemplate(source, Options()) {}
  ChatTemplate(std::string_view source, Options options) : options_(options) {
    const size_t bad = detail::utf8::find_invalid(source);
    if (bad != std::string_view::npos)
      detail::fail(Error::Kind::format, "chat template: invalid UTF-8 at byte ", bad);
    source_ = detail::jinja::normalize_source(source);
    body_ = std::make_shared<const detail::jinja::Body>(detail::jinja::parse_template(source_));
  }

  // The rendered prompt.
  std::string render(const Input& input) const { return render(input, nullptr); }

  // Also the byte ranges [begin, end) of the output that {% generation %} blocks wrote (what
  // transformers' return_assistant_tokens_mask is built from).
  std::string render(const Input& input, std::vector<std::pair<size_t, size_t>>* generation_spans) const {
    using detail::jinja::Value;
    detail::jinja::Renderer::Variables vars;
    vars.reserve(6 + (input.extra.is_object() ? input.extra.size() : 0));
    if (!input.extra.is_null() && !input.extra.is_object())
      detail::fail(Error::Kind::input, "chat template: extra variables must be a JSON object");
    if (input.extra.is_object())
      for (auto it = input.extra.begin(); it != input.extra.end(); ++it) {
        const std::string& key = it.key();
        if (key == "messages" || key == "tools" || key == "documents" || key == "add_generation_prompt")
          detail::fail(Error::Kind::input, "chat template: extra variable '", key, "' would replace the argument");
        vars.emplace_back(key, detail::jinja::from_json(it.value()));
      }
    vars.emplace_back("messages", detail::jinja::from_json(input.messages));
    vars.emplace_back("tools", detail::jinja::from_json(input.tools));
    vars.emplace_back("documents", detail::jinja::from_json(input.documents));
    vars.emplace_back("add_generation_prompt", Value::boolean(input.add_generation_prompt));
    if (input.bos_token) vars.emplace_back("bos_token", Value::string(*input.bos_token));
    if (input.eos_token) vars.emplace_back("eos_token", Value::string(*input.eos_token));

    detail::jinja::RenderLimits limits;
    limits.sizes.max_bytes = options_.max_output_bytes;
    limits.sizes.max_items = std::min<size_t>(size_t(1) << 20, options_.max_output_bytes);
    limits.max_steps = options_.max_steps;
    limits.max_call_depth = options_.max_call_depth;
    std::tm now{};
    if (input.now) {
      now = *input.now;
    } else {
      const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      localtime_r(&t, &now);
    }
    detail::jinja::Renderer renderer(vars, limits, now);
    // Room for about as much as the template's text: most prompts are not much longer.
    std::string out = renderer.run(*body_, source_.size());
    if (generation_spans) *generation_spans = std::move(renderer.generation_spans);
    return out;
  }

  // The template's text, newlines normalised as jinja2 reads it.
  const std::string& source() const { return source_; }

 private:
  Options options_;
  std::string source_;
  std::shared_ptr<const detail::jinja::Body> body_;
};

}  // namespace zest
