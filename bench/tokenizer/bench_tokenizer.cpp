// Tokenizer speed with Google Benchmark: encode (word cache on/off, 1-2 threads), decode and
// load, on brown.txt from ../shared when present (else the committed test texts).
//   ZEST_BENCH_CORPUS=FILE overrides the text. bytes_per_second is the figure to read.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zest/tokenizer.hpp"
#include "zest/tokenizer/vocab_files.hpp"

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

const zest::Tokenizer& tokenizer(const std::string& name, bool cache) {
  static std::map<std::pair<std::string, bool>, zest::Tokenizer> cached;
  auto it = cached.find({name, cache});
  if (it == cached.end()) {
    auto tok = zest::Tokenizer::from_file(tokenizer_path(name));
    if (!cache) tok.set_cache_capacity(0);
    it = cached.emplace(std::make_pair(name, cache), std::move(tok)).first;
  }
  return it->second;
}

// Each thread encodes its share of the lines; the cache is warm after the first iteration.
void encode(benchmark::State& state, const std::string& name, bool cache) {
  const auto& tok = tokenizer(name, cache);
  const auto& all = lines();
  std::size_t tokens = 0, bytes = 0;
  for (auto _ : state) {
    for (std::size_t i = static_cast<std::size_t>(state.thread_index()); i < all.size(); i += static_cast<std::size_t>(state.threads())) {
      tokens += tok.encode(all[i]).size();
      bytes += all[i].size();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["tokens"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void decode(benchmark::State& state, const std::string& name) {
  const auto& tok = tokenizer(name, true);
  std::vector<std::vector<std::int32_t>> ids;
  for (const auto& l : lines()) ids.push_back(tok.encode(l));
  std::size_t bytes = 0;
  for (auto _ : state)
    for (const auto& v : ids) bytes += tok.decode(v).size();
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void load(benchmark::State& state, const std::string& name) {
  const auto path = tokenizer_path(name);
  const std::string text = zest::detail::read_file(path);
  for (auto _ : state) benchmark::DoNotOptimize(zest::Tokenizer::from_json(text));
}

const std::vector<std::string> names = {"gpt2", "bert-base-uncased", "spm-bpe-8k", "spm-unigram-8k", "wordpiece-cased-8k", "roberta-bpe-8k"};

[[maybe_unused]] const bool registered = [] {
  for (const auto& n : names) {
    benchmark::RegisterBenchmark(("encode/" + n + "/cache").c_str(), encode, n, true)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(2);
    benchmark::RegisterBenchmark(("encode/" + n + "/no_cache").c_str(), encode, n, false)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("decode/" + n).c_str(), decode, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load/" + n).c_str(), load, n)->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
