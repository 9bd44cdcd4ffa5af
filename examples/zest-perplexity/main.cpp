// zest-perplexity: a model's perplexity on a text file.
//   zest-perplexity --model DIR --file F [--ctx N] [--dtype f32|bf16|f16|int8] [--threads N]
// Each line of F is encoded with the tokenizer's special tokens (a LLaMA tokenizer's BOS, say);
// the ids of all lines, in order, are cut into non-overlapping windows of ctx tokens (the last
// may be shorter), each run from an empty cache, and every token after a window's first is
// predicted. Prints progress to stderr and, as the last stdout line, one JSON object:
// {"perplexity", "nll" (mean, nats), "tokens" (predicted), "windows", "ctx", "seconds"}.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/pipeline.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Perplexity of a model on a text file"};
  std::string model_dir, file, dtype = "f32";
  size_t ctx = 256;
  int threads = 0;
  app.add_option("--model", model_dir, "model directory")->required();
  app.add_option("--file", file, "text file, one passage per line")->required();
  app.add_option("--ctx", ctx, "tokens per window")->check(CLI::Range(size_t(2), size_t(1) << 20));
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8"}));
  app.add_option("--threads", threads, "threads (default: all hardware threads)");
  CLI11_PARSE(app, argc, argv);

  try {
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads;
    const zest::Pipeline pipeline = zest::Pipeline::from_pretrained(model_dir, options);
    const zest::DecoderModel& model = pipeline.model();
    if (ctx > size_t(model.config().max_position_embeddings))
      zest::detail::fail(zest::Error::Kind::input, "--ctx ", ctx, " exceeds max_position_embeddings ",
                         model.config().max_position_embeddings);

    std::ifstream in(file, std::ios::binary);
    if (!in) zest::detail::fail(zest::Error::Kind::io, file, ": cannot open");
    std::vector<int32_t> ids;
    for (std::string line; std::getline(in, line);) {
      const auto line_ids = pipeline.tokenizer().encode(line, /*add_special_tokens=*/true);
      ids.insert(ids.end(), line_ids.begin(), line_ids.end());
    }
    if (ids.size() < 2) zest::detail::fail(zest::Error::Kind::input, file, ": fewer than two tokens");

    const auto begin = std::chrono::steady_clock::now();
    const size_t vocab = model.vocab_size();
    std::vector<float> logits(ctx * vocab);
    zest::DecoderState state(model, ctx);
    double nll = 0;
    size_t predicted = 0, windows = 0;
    for (size_t start = 0; start + 1 < ids.size(); start += ctx) {
      const size_t n = std::min(ctx, ids.size() - start);
      if (n < 2) break;
      state.reset();
      model.forward(state, std::span(ids).subspan(start, n), logits, pipeline.thread_pool(), /*all_positions=*/true);
      for (size_t t = 0; t + 1 < n; ++t) {
        const float* row = logits.data() + t * vocab;
        double max = row[0], sum = 0;
        for (size_t i = 1; i < vocab; ++i) max = std::max(max, double(row[i]));
        for (size_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - max);
        nll += max + std::log(sum) - double(row[ids[start + t + 1]]);
      }
      predicted += n - 1;
      ++windows;
      std::cerr << "\rzest-perplexity: window " << windows << ", running perplexity " << std::exp(nll / double(predicted))
                << std::flush;
    }
    std::cerr << "\n";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const nlohmann::json out = {{"perplexity", std::exp(nll / double(predicted))},
                                {"nll", nll / double(predicted)},
                                {"tokens", predicted},
                                {"windows", windows},
                                {"ctx", ctx},
                                {"seconds", seconds}};
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "zest-perplexity: " << e.what() << "\n";
    return 1;
  }
}
