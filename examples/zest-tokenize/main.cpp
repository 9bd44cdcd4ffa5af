// zest-tokenize: encode standard input line by line, decode JSON id arrays, or measure speed.
//   zest-tokenize --tokenizer PATH [--add-special-tokens]            < text      -> [ids] per line
//   zest-tokenize --tokenizer PATH --decode [--skip-special-tokens]  < [ids]s   -> "text" per line
//   zest-tokenize --tokenizer PATH --bench FILE [--no-cache] [--threads N [--cache-per-thread]] -> JSON summary
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "zest/tokenizer.hpp"
#include "../common/read_file.hpp"

namespace {

// Lines split on '\n' only; a final newline does not start another line.
std::vector<std::string_view> split_lines(std::string_view all) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\n', start);
    if (end == std::string_view::npos) end = all.size();
    lines.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string read_stdin() {
  std::ios::sync_with_stdio(false);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void write_ids(std::string& out, const std::vector<int32_t>& ids) {
  out += '[';
  char buf[16];
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    const int n = std::snprintf(buf, sizeof buf, "%d", ids[i]);
    out.append(buf, size_t(n));
  }
  out += "]\n";
}

int encode_lines(const zest::Tokenizer& tok, bool add_special) {
  const std::string all = read_stdin();
  std::string out;
  size_t number = 0;
  for (const auto line : split_lines(all)) {
    ++number;
    try {
      write_ids(out, tok.encode(line, add_special));
    } catch (const zest::Error& e) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      throw zest::Error(e.kind(), "line " + std::to_string(number) + ": " + e.what());
    }
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int decode_lines(const zest::Tokenizer& tok, bool skip_special) {
  const std::string all = read_stdin();
  size_t number = 0;
  for (const auto line : split_lines(all)) {
    ++number;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      throw zest::Error(zest::Error::Kind::input, "line " + std::to_string(number) + ": expected a JSON array of ids");
    std::vector<int32_t> ids;
    for (const auto& v : j) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        throw zest::Error(zest::Error::Kind::input, "line " + std::to_string(number) + ": " + v.dump() + " is not a token id");
      ids.push_back(v.get<int32_t>());
    }
    std::cout << nlohmann::json(tok.decode(ids, skip_special)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
  }
  return 0;
}

// CPU time of the calling thread: with other programs on the machine, threads' CPU seconds
// show how well encoding scales where wall time cannot.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Encodes every line of the file on `threads` threads sharing tok (and its word cache), or each
// thread with its own copy loaded from tokenizer_path (its own cache) when that is not empty.
int bench(const std::string& path, const zest::Tokenizer& tok, double load_ms, double load_cpu_ms, bool add_special,
          int threads, const std::string& tokenizer_path) {
  const std::string all = examples::read_file(path);
  const auto lines = split_lines(all);
  std::vector<zest::Tokenizer> own;
  if (!tokenizer_path.empty())
    for (int t = 0; t < threads; ++t) {
      own.push_back(zest::Tokenizer::from_file(tokenizer_path));
      own.back().set_cache_capacity(tok.cache_capacity());
    }
  std::vector<size_t> tokens(size_t(threads), 0);
  std::vector<double> cpu(size_t(threads), 0.0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const double cpu_start = thread_cpu_seconds();
      const zest::Tokenizer& mine = own.empty() ? tok : own[size_t(t)];
      size_t n = 0;
      for (size_t i = size_t(t); i < lines.size(); i += size_t(threads))
        n += mine.encode(lines[i], add_special, zest::InvalidUtf8::replace).size();
      tokens[size_t(t)] = n;
      cpu[size_t(t)] = thread_cpu_seconds() - cpu_start;
    });
  }
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t total = 0;
  for (auto n : tokens) total += n;
  double cpu_seconds = 0;
  for (double c : cpu) cpu_seconds += c;
  nlohmann::json summary = {{"mb_s", double(all.size()) / 1e6 / seconds},
                            {"bytes", all.size()},
                            {"lines", lines.size()},
                            {"tokens", total},
                            {"seconds", seconds},
                            {"cpu_seconds", cpu_seconds},
                            {"load_ms", load_ms},
                            {"load_cpu_ms", load_cpu_ms}};
  std::cout << summary.dump() << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zest-tokenize: Hugging Face tokenizers, token for token"};
  std::string tokenizer_path, bench_file;
  bool add_special = false, decode = false, skip_special = false, no_cache = false, cache_per_thread = false;
  int threads = 1;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json, a model directory or a SentencePiece .model")->required();
  app.add_flag("--add-special-tokens", add_special, "add the post-processor's special tokens");
  app.add_flag("--decode", decode, "read JSON arrays of ids, print the decoded text as JSON strings");
  app.add_flag("--skip-special-tokens", skip_special, "with --decode: leave special tokens out");
  app.add_option("--bench", bench_file, "encode every line of FILE and print the speed as JSON");
  app.add_flag("--no-cache", no_cache, "with --bench: turn the word cache off");
  app.add_option("--threads", threads, "with --bench: encoding threads")->check(CLI::Range(1, 1024));
  app.add_flag("--cache-per-thread", cache_per_thread, "with --bench: each thread loads its own tokenizer (own cache)");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto load_start = std::chrono::steady_clock::now();
    const double load_cpu_start = thread_cpu_seconds();
    auto tok = zest::Tokenizer::from_file(tokenizer_path);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    const double load_cpu_ms = (thread_cpu_seconds() - load_cpu_start) * 1e3;
    if (no_cache) tok.set_cache_capacity(0);
    if (!bench_file.empty()) return bench(bench_file, tok, load_ms, load_cpu_ms, add_special, threads, cache_per_thread ? tokenizer_path : "");
    if (decode) return decode_lines(tok, skip_special);
    return encode_lines(tok, add_special);
  } catch (const std::exception& e) {
    std::cerr << "zest-tokenize: " << e.what() << '\n';
    return 1;
  }
}
