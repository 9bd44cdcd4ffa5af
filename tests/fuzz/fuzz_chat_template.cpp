// Any bytes as a chat template, rendered against a fixed conversation (system, user, an assistant
// tool call, a tool result, content parts, tools, documents, special tokens): parsed and rendered,
// or refused with zest::Error, nothing else; within small limits, so a hostile template ends fast.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zest/chat/chat_template.hpp"

namespace {

const zest::ChatTemplate::Input& conversation() {
  static const zest::ChatTemplate::Input input = [] {
    zest::ChatTemplate::Input in;
    in.messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "Be brief. ☀️"},
      {"role": "user", "content": [{"type": "text", "text": "Weather in {{ Paris }}?"}, {"type": "image"}]},
      {"role": "assistant", "content": "", "reasoning_content": "Look it up.",
       "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": {"city": "Paris", "days": 2}}}]},
      {"role": "tool", "tool_call_id": "c1", "name": "weather", "content": "{\"t\": 21.5}"},
      {"role": "assistant", "content": "  21.5 °C  "},
      {"role": "user", "content": "Thanks"}])");
    in.tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "weather",
      "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"},
      "days": {"type": "integer", "enum": [1, 2, 3]}}, "required": ["city"]}}}])");
    in.documents = nlohmann::ordered_json::parse(R"([{"title": "Doc", "text": "Text\nmore"}])");
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    in.add_generation_prompt = true;
    in.extra = {{"enable_thinking", false}};
    std::tm t{};
    t.tm_year = 124, t.tm_mon = 6, t.tm_mday = 26, t.tm_wday = 5;
    in.now = t;
    return in;
  }();
  return input;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  zest::ChatTemplate::Options options;
  options.max_output_bytes = 1 << 16;
  options.max_steps = 20000;
  options.max_call_depth = 16;
  try {
    const zest::ChatTemplate tmpl(text, options);
    const std::string out = tmpl.render(conversation());
    if (out.size() > options.max_output_bytes) __builtin_trap();
  } catch (const zest::Error&) {
  }
  return 0;
}
