// zest-perplexity: a model's perplexity on a text file.
//   zest-perplexity [--model DIR] --file F [--ctx N] [--dtype f32|bf16|f16|int8|int4] [--threads N]
// Each line of F is encoded with the tokenizer's special tokens (a LLaMA tokenizer's BOS, say) and
// the ids are scored in non-overlapping windows of ctx tokens (zest/generate/perplexity.hpp).
// Without --model, the embedded demo model. Prints progress to stderr and, as the last stdout line,
// one JSON object: {"perplexity", "nll" (mean, nats), "tokens" (predicted), "windows", "ctx", "seconds"}.
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/zest.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Perplexity of a model on a text file"};
  std::string model_dir, file, dtype = "f32";
  size_t ctx = 256;
  int threads = 0;
  app.add_option("--model", model_dir, "model directory (default: the embedded demo model)");
  app.add_option("--file", file, "text file, one passage per line")->required();
  app.add_option("--ctx", ctx, "tokens per window");
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8", "int4"}));
  app.add_option("--threads", threads, "threads (default: all hardware threads)");
  CLI11_PARSE(app, argc, argv);

  try {
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads;
    const zest::Pipeline pipeline =
        zest::Pipeline::from_pretrained(model_dir.empty() ? zest::default_model_dir() : std::filesystem::path(model_dir), options);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw zest::Error(zest::Error::Kind::io, file + ": cannot open");
    // Each line encoded with the tokenizer's special tokens (a LLaMA tokenizer's BOS), in order.
    std::vector<int32_t> ids;
    for (std::string line; std::getline(in, line);) {
      const auto line_ids = pipeline.tokenizer().encode(line, /*add_special_tokens=*/true);
      ids.insert(ids.end(), line_ids.begin(), line_ids.end());
    }

    const auto begin = std::chrono::steady_clock::now();
    const zest::Perplexity p = pipeline.perplexity(ids, ctx, [](const zest::Perplexity& p) {
      std::cerr << "\rzest-perplexity: window " << p.windows << ", perplexity " << p.perplexity << std::flush;
    });
    std::cerr << "\n";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::cout << nlohmann::json{{"perplexity", p.perplexity}, {"nll", p.nll},         {"tokens", p.tokens},
                                {"windows", p.windows},       {"ctx", ctx},           {"seconds", seconds}}
                     .dump()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "zest-perplexity: " << e.what() << "\n";
    return 1;
  }
}
