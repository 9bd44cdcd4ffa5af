// zest-generate: text generation from a Hugging Face model directory.
//   zest-generate [--model DIR] (--prompt TEXT | --prompt-file F | --prompt-ids 1,2,3) [--max-new-tokens N]
//     [--greedy] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]
//     [--stop STR]... [--ignore-eos] [--threads N] [--dtype f32|bf16|f16|int8] [--json]
// Without --model, the embedded demo model. Streams the new text to stdout; with --json prints instead one JSON object as the last line.
// Sampling settings start from the model's generation_config.json; --temperature, --top-k,
// --top-p and --min-p switch sampling on, --greedy (or --temperature 0) switches it off.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/io/read_file.hpp"
#include "zest/pipeline.hpp"

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
      zest::detail::fail(zest::Error::Kind::input, "--prompt-ids: '", item, "' is not a token id");
    ids.push_back(int32_t(id));
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate text with a Hugging Face model directory"};
  std::string model_dir, prompt, prompt_file, prompt_ids, dtype = "f32";
  std::optional<int> max_new_tokens, top_k, threads;
  std::optional<float> temperature, top_p, min_p, repeat_penalty;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool greedy = false, ignore_eos = false, json = false;
  app.add_option("--model", model_dir, "model directory (default: the embedded demo model)");
  auto* p1 = app.add_option("--prompt", prompt, "prompt text");
  auto* p2 = app.add_option("--prompt-file", prompt_file, "file holding the prompt");
  auto* p3 = app.add_option("--prompt-ids", prompt_ids, "prompt as token ids: 1,2,3");
  p1->excludes(p2, p3);
  p2->excludes(p1, p3);
  p3->excludes(p1, p2);
  app.add_option("--max-new-tokens", max_new_tokens, "tokens to generate at most (default: generation_config, else 128)");
  app.add_flag("--greedy", greedy, "always pick the most likely token");
  app.add_option("--temperature", temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", top_k, "keep the k most likely tokens (0: off)");
  app.add_option("--top-p", top_p, "keep the most likely tokens holding probability p");
  app.add_option("--min-p", min_p, "drop tokens less likely than p times the most likely");
  app.add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1: off)");
  app.add_option("--seed", seed, "random seed");
  app.add_option("--stop", stop, "stop when the text contains this string (repeatable)");
  app.add_flag("--ignore-eos", ignore_eos, "keep going past end-of-sequence tokens");
  app.add_option("--threads", threads, "threads (default: all hardware threads)");
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8"}));
  app.add_flag("--json", json, "print one JSON object instead of streaming text");
  CLI11_PARSE(app, argc, argv);

  try {
    if (prompt_file.empty() && prompt_ids.empty() && !*p1)
      zest::detail::fail(zest::Error::Kind::input, "give a prompt: --prompt, --prompt-file or --prompt-ids");
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads.value_or(0);
    const zest::Pipeline pipeline =
        zest::Pipeline::from_pretrained(model_dir.empty() ? zest::default_model_dir() : std::filesystem::path(model_dir), options);

    zest::GenerateParams params = pipeline.default_params();
    if (max_new_tokens) params.max_new_tokens = *max_new_tokens;
    if (temperature || top_k || top_p || min_p) params.do_sample = true;
    if (temperature) params.temperature = *temperature;
    if (top_k) params.top_k = *top_k;
    if (top_p) params.top_p = *top_p;
    if (min_p) params.min_p = *min_p;
    if (greedy) params.do_sample = false;
    if (repeat_penalty) params.repetition_penalty = *repeat_penalty;
    params.seed = seed;
    params.stop = stop;
    params.ignore_eos = ignore_eos;
    if (!json)
      params.on_text = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      };

    std::vector<int32_t> ids;
    if (!prompt_ids.empty()) ids = parse_ids(prompt_ids);
    else ids = pipeline.tokenizer().encode(prompt_file.empty() ? prompt : zest::detail::read_file(prompt_file), true);
    const zest::Generation g = pipeline.generate_ids(ids, params);

    if (json) {
      const nlohmann::json out = {{"ids", g.ids},
                                  {"text", g.text},
                                  {"prompt_tokens", g.timings.prompt_tokens},
                                  {"new_tokens", g.ids.size()},
                                  {"stop_reason", zest::to_string(g.stop_reason)},
                                  {"load_s", pipeline.load_seconds()},
                                  {"prefill_tok_s", g.timings.prefill_tok_s()},
                                  {"decode_tok_s", g.timings.decode_tok_s()},
                                  {"weight_bytes", pipeline.model().weight_bytes()},
                                  {"kv_bytes_per_position", pipeline.model().kv_bytes_per_position()}};
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
