// zest-server: an OpenAI-compatible HTTP server over zest::Engine (a decoder directory) or
// zest::Encoder (an encoder directory's /v1/embeddings).
//   zest-server [--model DIR] [--host 127.0.0.1] [--port 8080] [--dtype f32|bf16|f16|int8|int4] [--threads N]
//     [--max-batch N] [--kv-cache-mib N] [--api-key KEY] [--max-queue N] [--timeout-s S]
// Without --model, the embedded demo model. --port 0 takes a free port; the port is printed on
// standard error as "zest-server: listening on http://HOST:PORT". SIGTERM (or SIGINT) stops
// accepting connections, lets the generations in flight finish for up to --timeout-s seconds,
// cancels those still running, and exits 0.
// Endpoints and their JSON: examples/zest-server/api.hpp; the parsing of requests: request.hpp.
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "api.hpp"
#include "zest/zest.hpp"

namespace {

constexpr size_t kMaxBodyBytes = size_t(8) << 20;  // larger bodies get 413

// The model name clients give: the directory's own name.
std::string model_id(const std::filesystem::path& dir) {
  const std::filesystem::path normal = dir.lexically_normal();
  return (normal.has_filename() ? normal.filename() : normal.parent_path().filename()).string();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"An OpenAI-compatible HTTP server over a Hugging Face model directory"};
  std::string model_dir, host = "127.0.0.1", dtype = "f32", api_key;
  int port = 8080;
  std::optional<int> threads;
  size_t max_batch = 64, max_queue = 0, kv_cache_mib = 0;
  double timeout_s = 10;
  app.add_option("--model", model_dir, "model directory (default: the embedded demo model)");
  app.add_option("--host", host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", port, "port to listen on (default 8080; 0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8", "int4"}));
  app.add_option("--threads", threads, "threads (default: all hardware threads)")->check(CLI::PositiveNumber);
  app.add_option("--max-batch", max_batch, "sequences generating at once (default 64)")->check(CLI::Range(size_t(1), size_t(4096)));
  app.add_option("--kv-cache-mib", kv_cache_mib, "KV cache size in MiB (default: 8,192 positions)")->check(CLI::PositiveNumber);
  app.add_option("--api-key", api_key, "clients must send 'Authorization: Bearer KEY' on /v1/");
  app.add_option("--max-queue", max_queue, "requests waiting beyond the batch before 429 (default: no limit)")
      ->check(CLI::Range(size_t(1), size_t(1) << 20));
  app.add_option("--timeout-s", timeout_s, "on SIGTERM, how long generations in flight may take to finish (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT are taken by sigwait() below: blocked before any thread starts, so every
  // thread inherits the mask. A client that goes away must not kill the server with SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads.value_or(0);
    const std::filesystem::path dir = model_dir.empty() ? zest::default_model_dir() : std::filesystem::path(model_dir);
    server::ServedModel served;
    served.id = model_id(dir);
    std::optional<zest::Pipeline> pipeline;
    std::optional<zest::Encoder> encoder;
    try {
      pipeline.emplace(zest::Pipeline::from_pretrained(dir, options));
    } catch (const zest::Error& e) {
      if (e.kind() != zest::Error::Kind::unsupported) throw;
      try {  // an encoder directory serves embeddings
        encoder.emplace(zest::Encoder::from_pretrained(dir, options));
      } catch (const zest::Error&) {
        throw e;
      }
    }

    server::Metrics metrics;
    std::optional<zest::Engine> engine;
    if (pipeline) {
      if (!pipeline->has_tokenizer()) throw zest::Error(zest::Error::Kind::unsupported, dir.string() + " has no tokenizer files");
      served.max_length = pipeline->max_length();
      served.vocab_size = pipeline->tokenizer().vocab_size();
      served.defaults = pipeline->default_params();
      zest::EngineOptions engine_options;
      engine_options.max_batch = max_batch;
      engine_options.max_waiting = max_queue;
      engine_options.kv_cache_bytes = kv_cache_mib << 20;
      engine.emplace(*pipeline, engine_options);
    } else {
      served.generates = false;
      served.max_length = encoder->max_length();
      served.embedding_size = encoder->embed(std::vector<std::string>{"a"}).front().size();
    }

    server::Api api(served, engine ? &*engine : nullptr, encoder ? &*encoder : nullptr, metrics, api_key);
    httplib::Server http;
    api.mount(http);
    http.set_payload_max_length(kMaxBodyBytes);
    // A handler thread for every request the engine batches or queues, and a few for the rest.
    // Idle keep-alive connections hold one for 2 s at most, which also bounds how long a shutdown
    // waits for them once the last answer is out.
    const size_t handlers = max_batch + (max_queue ? max_queue : max_batch) + 4;
    http.new_task_queue = [handlers] { return new httplib::ThreadPool(handlers); };
    http.set_keep_alive_timeout(2);
    const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
    if (bound < 0) throw zest::Error(zest::Error::Kind::io, "cannot listen on " + host + ":" + std::to_string(port));
    std::atomic<bool> listened{false};
    std::thread listener([&] {
      http.listen_after_bind();
      listened = true;
    });
    // Until it runs, stop() would not stop it: a SIGTERM right after the line below must find it running.
    while (!http.is_running() && !listened) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::cerr << "zest-server: " << served.id << (engine ? "" : " (embeddings)") << ", listening on http://" << host << ":"
              << bound << std::endl;

    int signal = 0;
    sigwait(&stop_signals, &signal);
    std::cerr << "zest-server: stopping (" << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << ")" << std::endl;
    api.start_draining();
    http.stop();  // no new connections; streams in flight go on (api.hpp)
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    if (!api.wait_idle(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline))) {
      std::cerr << "zest-server: cancelling the generations still running after " << timeout_s << " s" << std::endl;
      api.cancel_all();
      api.wait_idle(std::chrono::steady_clock::now() + std::chrono::minutes(1));  // each ends at the next step
    }
    listener.join();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "zest-server: " << e.what() << "\n";
    return 1;
  }
}
