// Chat-template speed with Google Benchmark: parse once, render many. Renders the Llama 3.1 and
// Qwen3 templates of ../shared/chat-templates (skipped when absent) for 4, 10 and 20 messages
// (issue 19's target: <= 20 us for a 10-turn conversation with Llama 3.1), and parses them.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zest/chat/chat_template.hpp"

namespace {

namespace fs = std::filesystem;

std::string template_text(const std::string& name) {
  const fs::path path = fs::path(ZEST_SOURCE_DIR).parent_path() / "shared/chat-templates/templates" / (name + ".jinja");
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

zest::ChatTemplate::Input conversation(int turns) {
  zest::ChatTemplate::Input in;
  in.messages = nlohmann::ordered_json::array();
  in.messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int k = 0; k < turns; ++k) {
    in.messages.push_back({{"role", "user"}, {"content", "Question number " + std::to_string(k + 1) + ": what is the capital of France?"}});
    if (k + 1 < turns)
      in.messages.push_back({{"role", "assistant"}, {"content", "The capital of France is Paris. Anything else?"}});
  }
  in.add_generation_prompt = true;
  in.bos_token = "<|begin_of_text|>";
  in.eos_token = "<|eot_id|>";
  std::tm t{};
  t.tm_year = 124, t.tm_mon = 6, t.tm_mday = 26;
  in.now = t;
  return in;
}

// A system message, then `turns` user messages with assistant answers between them: 2 turns are
// 4 messages, 5 turns are 10.
void render(benchmark::State& state, const std::string& name, int turns) {
  const std::string text = template_text(name);
  if (text.empty()) {
    state.SkipWithError("../shared/chat-templates is absent");
    return;
  }
  const zest::ChatTemplate tmpl(text);
  const auto in = conversation(turns);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = tmpl.render(in);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["messages"] = double(in.messages.size());
  state.SetBytesProcessed(int64_t(bytes));
}

void parse(benchmark::State& state, const std::string& name) {
  const std::string text = template_text(name);
  if (text.empty()) {
    state.SkipWithError("../shared/chat-templates is absent");
    return;
  }
  for (auto _ : state) {
    zest::ChatTemplate tmpl(text);
    benchmark::DoNotOptimize(&tmpl);
  }
}

}  // namespace

BENCHMARK_CAPTURE(render, llama31_4_messages, std::string("meta-llama-Llama-3.1-8B-Instruct"), 2);
BENCHMARK_CAPTURE(render, llama31_10_messages, std::string("meta-llama-Llama-3.1-8B-Instruct"), 5);
BENCHMARK_CAPTURE(render, llama31_20_messages, std::string("meta-llama-Llama-3.1-8B-Instruct"), 10);
BENCHMARK_CAPTURE(render, qwen3_10_messages, std::string("Qwen-Qwen3-0.6B"), 5);
BENCHMARK_CAPTURE(parse, llama31, std::string("meta-llama-Llama-3.1-8B-Instruct"));
BENCHMARK_CAPTURE(parse, qwen3, std::string("Qwen-Qwen3-0.6B"));

BENCHMARK_MAIN();
