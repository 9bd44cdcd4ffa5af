// Tokenizer speed with Google Benchmark: encode (word cache warm, cold or off; 1-2 threads),
// decode and load, on brown.txt from ../shared when present (else the committed test texts).
//   ZEST_BENCH_CORPUS=FILE overrides the text. bytes_per_second is the figure to read.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zest/io/read_file.hpp"
#include "zest/tokenizer.hpp"
#include "zest/tokenizer/json_reader.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path source = ZEST_SOURCE_DIR;

fs::path tokenizer_path(const std::string& name) {
  const fs::path shared = source.parent_path() / "shared/tokenizers" / name / "tokenizer.json";
  return fs::exists(shared) ? shared : source / "tests/data/tokenizer/models" / name / "tokenizer.json";
}

const std::vector<std::string>& lines() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    const char* env = std::getenv("ZEST_BENCH_CORPUS");
    const fs::path brown = env ? fs::path(env) : source.parent_path() / "shared/corpora/brown.txt";
    if (fs::exists(brown)) {
      std::ifstream in(brown);
      for (std::string line; std::getline(in, line);) out.push_back(line);
    } else {
      std::ifstream in(source / "tests/data/tokenizer/golden/texts.jsonl");
      for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["text"]);
    }
    return out;
  }();
  return all;
}

// How the word cache stands when a pass over the text starts.
enum class Cache { warm, cold, off };

// One tokenizer per name and cache mode: the modes do not disturb each other's cache.
zest::Tokenizer& tokenizer(const std::string& name, Cache cache) {
  static std::map<std::pair<std::string, Cache>, zest::Tokenizer> cached;
  auto it = cached.find({name, cache});
  if (it == cached.end()) {
    auto tok = zest::Tokenizer::from_file(tokenizer_path(name));
    if (cache == Cache::off) tok.set_cache_capacity(0);
    it = cached.emplace(std::make_pair(name, cache), std::move(tok)).first;
  }
  return it->second;
}

// Each thread encodes its share of the lines. Warm: the cache keeps its words from the first
// iteration on. Cold: each pass starts from an empty cache (emptied off the clock), as one pass
// of zest-tokenize --bench does.
void encode(benchmark::State& state, const std::string& name, Cache cache) {
  auto& tok = tokenizer(name, cache);
  const size_t capacity = tok.cache_capacity();
  const auto& all = lines();
  size_t tokens = 0, bytes = 0;
  for (auto _ : state) {
    if (cache == Cache::cold) {
      state.PauseTiming();
      tok.set_cache_capacity(capacity);
      state.ResumeTiming();
    }
    for (size_t i = size_t(state.thread_index()); i < all.size(); i += size_t(state.threads())) {
      tokens += tok.encode(all[i]).size();
      bytes += all[i].size();
    }
  }
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["tokens"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
}

void decode(benchmark::State& state, const std::string& name) {
  const auto& tok = tokenizer(name, Cache::warm);
  std::vector<std::vector<int32_t>> ids;
  for (const auto& l : lines()) ids.push_back(tok.encode(l));
  size_t bytes = 0;
  for (auto _ : state)
    for (const auto& v : ids) bytes += tok.decode(v).size();
  state.SetBytesProcessed(int64_t(bytes));
}

void load(benchmark::State& state, const std::string& name) {
  const auto path = tokenizer_path(name);
  const std::string text = zest::detail::read_file(path);
  for (auto _ : state) benchmark::DoNotOptimize(zest::Tokenizer::from_json(text));
}

// The A/B of the lexers that drive the tokenizer.json loader's SAX handler, zest's own
// JsonReader against nlohmann::json::sax_parse, each followed by the pipeline that
// Tokenizer::from_json builds of the tree.
//   bench_tokenizer --benchmark_filter='^load_with/' --benchmark_repetitions=20
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
enum class Lexer { json_reader, sax_parse };

void load_with(benchmark::State& state, const std::string& name, Lexer lexer) {
  const std::string text = zest::detail::read_file(tokenizer_path(name));
  for (auto _ : state) {
    nlohmann::json root;
    zest::detail::ModelTables tables;
    tables.strings.reserve(text.size());
    zest::detail::TokenizerJsonSax sax(root, tables);
    const bool parsed = lexer == Lexer::json_reader ? zest::detail::JsonReader(text, sax).parse() : nlohmann::json::sax_parse(text, &sax);
    if (!parsed) state.SkipWithError("not parsed");
    benchmark::DoNotOptimize(zest::detail::JsonTokenizer(root, tables, "tokenizer.json"));
  }
}

const std::vector<std::string> names = {"gpt2", "bert-base-uncased", "spm-bpe-8k", "spm-unigram-8k", "wordpiece-cased-8k", "roberta-bpe-8k"};

[[maybe_unused]] const bool registered = [] {
  for (const auto& n : names) {
    benchmark::RegisterBenchmark(("encode/" + n + "/cache").c_str(), encode, n, Cache::warm)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(2);
    benchmark::RegisterBenchmark(("encode/" + n + "/cold_cache").c_str(), encode, n, Cache::cold)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("encode/" + n + "/no_cache").c_str(), encode, n, Cache::off)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("decode/" + n).c_str(), decode, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load/" + n).c_str(), load, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load_with/" + n + "/json_reader").c_str(), load_with, n, Lexer::json_reader)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load_with/" + n + "/sax_parse").c_str(), load_with, n, Lexer::sax_parse)->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
