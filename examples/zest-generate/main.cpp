// zest-generate: text generation from a Hugging Face model directory.
//   zest-generate [--model DIR] (--prompt TEXT | --prompt-file F | --prompt-ids 1,2,3) [--max-new-tokens N]
//     [--greedy] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]
//     [--stop STR]... [--ignore-eos] [--threads N] [--dtype f32|bf16|f16|int8|int4] [--device cpu|cuda|cuda:N] [--json]
//     [--chat [--system TEXT] [--chat-template FILE]] [--parallel N]
// Without --model, the embedded demo model. --device cuda (a ZEST_CUDA build) generates on GPU 0
// (cuda:N on GPU N) with --dtype bf16 or int8. Streams the new text to stdout; with --json prints instead one JSON object as the last line.
// --parallel N submits N copies of the request at once to one zest::Engine (batched decoding) and
// adds the serving figures to the JSON (examples/zest-generate/parallel.hpp); the text and the
// usual fields are the first stream's.
// Sampling settings start from the model's generation_config.json (examples/common/sampling_flags.hpp).
// --chat makes the prompt one user message (after --system's, if given) in the model's chat
// template (or FILE's), and stops at the template's end of turn.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../common/read_file.hpp"
#include "../common/sampling_flags.hpp"
#include "parallel.hpp"
#include "zest/zest.hpp"

namespace {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
    }
    if (used == 0 || used != item.size() || id < 0 || id > INT32_MAX)
      throw zest::Error(zest::Error::Kind::input, "--prompt-ids: '" + item + "' is not a token id");
    ids.push_back(int32_t(id));
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate text with a Hugging Face model directory"};
  std::string model_dir, prompt, prompt_file, prompt_ids, dtype = "f32", device = "cpu", system, chat_template;
  std::optional<int> threads;
  std::optional<size_t> parallel;
  examples::SamplingFlags sampling;
  bool json = false, chat = false;
  app.add_option("--model", model_dir, "model directory (default: the embedded demo model)");
  auto* p1 = app.add_option("--prompt", prompt, "prompt text");
  auto* p2 = app.add_option("--prompt-file", prompt_file, "file holding the prompt");
  auto* p3 = app.add_option("--prompt-ids", prompt_ids, "prompt as token ids: 1,2,3");
  p1->excludes(p2, p3);
  p2->excludes(p1, p3);
  p3->excludes(p1, p2);
  sampling.add_to(app);
  auto* chat_flag = app.add_flag("--chat", chat, "the prompt is one user message in the model's chat template");
  app.add_option("--system", system, "with --chat: a system message before it")->needs(chat_flag);
  app.add_option("--chat-template", chat_template, "with --chat: this Jinja template file instead of the model's")->needs(chat_flag);
  app.add_option("--threads", threads, "threads (default: all hardware threads)");
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8", "int4"}));
  app.add_option("--device", device, "where the model runs: cpu, cuda (GPU 0) or cuda:N");
  app.add_flag("--json", json, "print one JSON object instead of streaming text");
  app.add_option("--parallel", parallel, "submit N copies of the request at once to one batching Engine")
      ->check(CLI::Range(size_t(1), size_t(4096)));
  CLI11_PARSE(app, argc, argv);

  try {
    if (prompt_file.empty() && prompt_ids.empty() && !*p1)
      throw zest::Error(zest::Error::Kind::input, "give a prompt: --prompt, --prompt-file or --prompt-ids");
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads.value_or(0);
    options.device = zest::parse_device(device);
    if (chat && !prompt_ids.empty()) throw zest::Error(zest::Error::Kind::input, "--chat takes --prompt or --prompt-file, not ids");
    zest::Pipeline pipeline =
        zest::Pipeline::from_pretrained(model_dir.empty() ? zest::default_model_dir() : std::filesystem::path(model_dir), options);
    if (!chat_template.empty()) pipeline.set_chat_template(examples::read_file(chat_template));

    zest::GenerateParams params = sampling.apply(pipeline.default_params());
    if (!json)
      params.on_text = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      };

    const std::string text = prompt_ids.empty() && !prompt_file.empty() ? examples::read_file(prompt_file) : prompt;
    auto messages = nlohmann::ordered_json::array();
    std::vector<int32_t> ids;
    if (chat) {
      if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
      messages.push_back({{"role", "user"}, {"content", text}});
    } else {
      ids = prompt_ids.empty() ? pipeline.tokenizer().encode(text, true) : parse_ids(prompt_ids);
    }
    zest::Generation g;
    nlohmann::json serving;
    if (parallel) {
      // A KV cache for every copy's prompt and new tokens, and a batch that holds them all.
      const size_t prompt_length = chat ? pipeline.tokenizer().encode(pipeline.apply_chat_template(messages)).size() : ids.size();
      const size_t blocks = (prompt_length + size_t(params.max_new_tokens) + 63) / 64;
      zest::EngineOptions engine_options;
      engine_options.max_batch = *parallel;
      engine_options.kv_cache_bytes = *parallel * blocks * 64 * pipeline.kv_bytes_per_position();
      zest::Engine engine(pipeline, engine_options);
      auto run = examples::run_parallel(engine, *parallel, params, [&](zest::Engine& e, const zest::GenerateParams& p) {
        return chat ? e.submit_chat(messages, p) : e.submit_ids(ids, p);
      });
      g = std::move(run.first);
      serving = std::move(run.figures);
    } else {
      g = chat ? pipeline.chat(messages, params) : pipeline.generate_ids(ids, params);
    }

    if (json) {
      nlohmann::json out = {{"ids", g.ids},
                            {"text", g.text},
                            {"prompt_tokens", g.timings.prompt_tokens},
                            {"new_tokens", g.ids.size()},
                            {"stop_reason", zest::to_string(g.stop_reason)},
                            {"load_s", pipeline.load_seconds()},
                            {"prefill_tok_s", g.timings.prefill_tok_s()},
                            {"decode_tok_s", g.timings.decode_tok_s()},
                            {"weight_bytes", pipeline.weight_bytes()},
                            {"kv_bytes_per_position", pipeline.kv_bytes_per_position()}};
      if (parallel) out.update(serving);
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << std::endl;
      std::cerr << "zest-generate: " << g.timings.prompt_tokens << " prompt tokens at " << g.timings.prefill_tok_s()
                << " tok/s, " << g.ids.size() << " new tokens, decode " << g.timings.decode_tok_s() << " tok/s, stop: "
                << zest::to_string(g.stop_reason) << "\n";
    }
  } catch (const zest::Error& e) {
    std::cerr << "zest-generate: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "zest-generate: " << e.what() << "\n";
    return 1;
  }
}
