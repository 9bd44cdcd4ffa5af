// zest-embed: embeddings, fill-mask, classification and reranking with an encoder directory (BERT,
// RoBERTa, XLM-RoBERTa, or a sentence-transformers directory), one text per line of stdin, one
// JSON value per line out.
//   zest-embed --model DIR [--pooling cls|mean|max|lasttoken] [--normalize] [--prompt-name NAME]
//     [--dimensions N] [--dtype f32|bf16|f16|int8] [--threads N] [--batch N]
//                                                    a JSON array of floats per line
//   zest-embed --model DIR --fill-mask [--top-k K]   a JSON array of {"token","id","score"}
//   zest-embed --model DIR --classify                {"label","score","scores":{label: score}}
//   zest-embed --model DIR --rerank                  per line {"query": q, "documents": [d, ...]} in,
//                                                    {"scores": [...], "truncated": [...]} out
// Pooling and normalisation default to the directory's sentence-transformers modules (mean
// pooling without them); --normalize switches L2 normalisation on (after --dimensions). Texts
// longer than the model takes are truncated, and the line says so: an embedding becomes
// {"embedding": [...], "truncated": true}, a classification gains "truncated": true;
// --no-truncate makes such a text an error instead.
#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/zest.hpp"

namespace {

void print(const nlohmann::json& value) {
  std::cout << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Embeddings, fill-mask and classification with an encoder model directory; one text per stdin line"};
  std::string model_dir, dtype = "f32";
  std::optional<std::string> pooling;
  std::optional<int> threads;
  size_t batch = 32, top_k = 5;
  bool normalize = false, fill_mask = false, classify = false, rerank = false, no_truncate = false;
  std::optional<std::string> prompt_name;
  std::optional<size_t> dimensions;
  app.add_option("--model", model_dir, "model directory")->required();
  app.add_option("--pooling", pooling, "pooling of the token states (default: the directory's, else mean)")
      ->check(CLI::IsMember({"cls", "mean", "max", "lasttoken"}));
  app.add_flag("--normalize", normalize, "L2-normalise the embeddings (default: the directory's Normalize module)");
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8"}));
  app.add_option("--threads", threads, "threads (default: all hardware threads)")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "texts embedded together (default 32)")->check(CLI::PositiveNumber);
  auto* fill = app.add_flag("--fill-mask", fill_mask, "print the most likely tokens for the text's [MASK]");
  auto* cls = app.add_flag("--classify", classify, "print the classifier's label and scores");
  app.add_option("--top-k", top_k, "candidates per mask with --fill-mask (default 5)")->check(CLI::PositiveNumber)->needs(fill);
  auto* rr = app.add_flag("--rerank", rerank, "score each line's {\"query\", \"documents\"} with a cross-encoder");
  app.add_option("--prompt-name", prompt_name, "prompt of config_sentence_transformers.json before each text");
  app.add_option("--dimensions", dimensions, "keep the first N values of each embedding (Matryoshka)")->check(CLI::PositiveNumber);
  app.add_flag("--no-truncate", no_truncate, "a text longer than the model's maximum is an error, not truncated");
  fill->excludes(cls);
  rr->excludes(fill)->excludes(cls);
  CLI11_PARSE(app, argc, argv);

  size_t line_number = 0;
  try {
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads.value_or(0);
    const zest::Encoder encoder = zest::Encoder::from_pretrained(model_dir, options);
    const std::optional<zest::Pooling> mode = pooling ? std::optional(zest::parse_pooling(*pooling)) : std::nullopt;
    const std::optional<bool> norm = normalize ? std::optional(true) : std::nullopt;

    const zest::EmbedOptions embed_options{mode, norm, prompt_name, dimensions, !no_truncate};
    // One text a line: cut, or refused with --no-truncate (the Encoder cuts at max_length()).
    auto fits = [&](const std::string& text) {
      const bool over = encoder.length(text) > encoder.max_length();
      if (over && no_truncate)
        throw zest::Error(zest::Error::Kind::input, "the text has " + std::to_string(encoder.length(text)) +
                                                        " tokens, more than the model's " + std::to_string(encoder.max_length()) +
                                                        " (--no-truncate)");
      return !over;
    };
    std::vector<std::string> texts;
    auto flush = [&] {
      if (texts.empty()) return;
      for (auto& e : encoder.embed(texts, embed_options)) {
        if (e.truncated) print({{"embedding", e.values}, {"truncated", true}});
        else print(e.values);
      }
      texts.clear();
    };
    std::string line;
    while (std::getline(std::cin, line)) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (rerank) {
        const nlohmann::json in = nlohmann::json::parse(line, nullptr, false);
        if (!in.is_object() || !in.contains("query") || !in["query"].is_string() || !in.contains("documents") ||
            !in["documents"].is_array())
          throw zest::Error(zest::Error::Kind::input, "expected {\"query\": \"...\", \"documents\": [\"...\", ...]}");
        const std::string query = in["query"].get<std::string>();
        std::vector<std::string> documents;
        nlohmann::json truncated = nlohmann::json::array();
        for (const auto& d : in["documents"]) {
          if (!d.is_string()) throw zest::Error(zest::Error::Kind::input, "every document must be a string");
          documents.push_back(d.get<std::string>());
          truncated.push_back(encoder.pair_length(query, documents.back()) > encoder.max_length());
        }
        print({{"scores", encoder.rerank(query, documents, !no_truncate)}, {"truncated", truncated}});
      } else if (fill_mask) {
        fits(line);
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : encoder.fill_mask(line, top_k)) out.push_back({{"token", r.token}, {"id", r.id}, {"score", r.score}});
        print(out);
      } else if (classify) {
        const bool whole = fits(line);
        const zest::Classification c = encoder.classify(line);
        nlohmann::json scores = nlohmann::json::object();
        for (const auto& [label, score] : c.scores) scores[label] = score;
        nlohmann::json out = {{"label", c.label}, {"score", c.score}, {"scores", scores}};
        if (!whole) out["truncated"] = true;
        print(out);
      } else {
        texts.push_back(line);
        if (texts.size() == batch) flush();
      }
    }
    flush();
  } catch (const std::exception& e) {
    std::cerr << "zest-embed: ";
    if (line_number > 0) std::cerr << (fill_mask || classify || rerank ? "line " : "the batch ending at line ") << line_number << ": ";
    std::cerr << e.what() << '\n';
    return 1;
  }
}
