// zest::Engine against serial generation: every request of a batch (mixed lengths, arriving and
// leaving mid-run, prefilled in chunks beside the others' decode steps, some cancelled, a pool
// too small for all of them, prompts sharing a cached prefix) gets what Pipeline::generate gives
// it alone, in every compute dtype; seeded sampling the same text whatever else runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "zest/models/decoder.hpp"
#include "zest/serve/engine.hpp"
#include "test_data.hpp"

namespace {

using namespace std::chrono_literals;

zest::Pipeline load(const std::string& dir, zest::DType dtype = zest::DType::f32) {
  zest::LoadOptions options;
  options.threads = 2;
  options.dtype = dtype;
  return zest::Pipeline::from_pretrained(test_data(dir), options);
}

std::vector<int32_t> random_prompt(size_t n, size_t vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = int32_t(rng() % vocab);
  return ids;
}

zest::GenerateParams greedy(int n) {
  zest::GenerateParams p;
  p.max_new_tokens = n;
  p.ignore_eos = true;
  return p;
}

// The engine's ids equal the reference's, or first differ where the reference's two best logits
// are within 1e-4 of each other (relative to the largest), a near-tie that rounding may
// order either way.
void check_same_greedy(const std::string& dir, zest::DType dtype, const std::vector<int32_t>& prompt,
                       const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  const auto diverge = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  if (diverge.first == got.end() && diverge.second == want.end()) return;
  REQUIRE(diverge.second != want.end());
  const size_t step = size_t(diverge.second - want.begin());
  zest::LoadOptions options;
  options.dtype = dtype;
  const auto model = zest::detail::DecoderModel::load(test_data(dir), options);
  zest::detail::ThreadPool pool(1);
  std::vector<int32_t> ids = prompt;
  ids.insert(ids.end(), want.begin(), want.begin() + ptrdiff_t(step));
  zest::detail::DecoderState state(model, ids.size());
  std::vector<float> logits(model.vocab_size());
  model.forward(state, ids, logits, pool);
  std::partial_sort(logits.begin(), logits.begin() + 2, logits.end(), std::greater<>());
  const double margin = (logits[0] - logits[1]) / std::max(1.0f, std::fabs(logits[0]));
  MESSAGE(dir, " ", zest::dtype_name(dtype), ": the ids part at step ", step, " of a near-tie, margin ", margin);
  CHECK(margin < 1e-4);
}

// Polls until pred() holds (the engine runs on its own thread).
template <typename Pred>
void wait_until(Pred pred) {
  for (int i = 0; i < 20000 && !pred(); ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(pred());
}

}  // namespace

// Seven families in four dtypes: its own suite, which the ThreadSanitizer stage skips (the
// "serve" suite's engines cover the threads).
TEST_CASE("every request of a mixed batch gets its own greedy generation, in every dtype" * doctest::test_suite("serve_dtypes")) {
  const char* dirs[] = {"fixtures/tiny-llama", "fixtures/tiny-gpt2", "models/gemma2", "models/mistral-sw", "models/phi3",
                        "models/llama-dynamic", "models/qwen3"};
  for (const char* dir : dirs)
    for (const auto dtype : {zest::DType::f32, zest::DType::bf16, zest::DType::i8, zest::DType::i4}) {
      CAPTURE(dir);
      CAPTURE(zest::dtype_name(dtype));
      const zest::Pipeline pipeline = load(dir, dtype);
      zest::EngineOptions options;
      options.prefill_chunk = 48;  // long prompts take several steps, beside the others' decoding
      zest::Engine engine(pipeline, options);
      const size_t lengths[] = {5, 70, 130, 1, 200, 33}, news[] = {20, 5, 30, 12, 25, 8};
      const size_t model_vocab = zest::detail::DecoderModel::load(test_data(dir)).vocab_size();
      std::vector<std::vector<int32_t>> prompts;
      for (size_t i = 0; i < 6; ++i)
        prompts.push_back(random_prompt(std::min(lengths[i], pipeline.max_length() - news[i]), model_vocab, unsigned(i + 1)));
      std::vector<zest::Request> requests;
      for (size_t i = 0; i < 3; ++i) requests.push_back(engine.submit_ids(prompts[i], greedy(int(news[i]))));
      // The others arrive once the first are generating.
      wait_until([&] { return engine.stats().generated_tokens >= 4; });
      for (size_t i = 3; i < 6; ++i) requests.push_back(engine.submit_ids(prompts[i], greedy(int(news[i]))));
      for (size_t i = 0; i < 6; ++i) {
        CAPTURE(i);
        const zest::Generation got = requests[i].wait();
        const zest::Generation want = pipeline.generate_ids(prompts[i], greedy(int(news[i])));
        CHECK(got.ids.size() == news[i]);
        CHECK(got.timings.prompt_tokens == prompts[i].size());
        check_same_greedy(dir, dtype, prompts[i], got.ids, want.ids);
      }
      const zest::EngineStats stats = engine.stats();
      CHECK(stats.finished == 6);
      CHECK(stats.kv_blocks_used == 0);
    }
}

TEST_SUITE_BEGIN("serve");

TEST_CASE("text streams as generate streams it; seeded sampling is the same whatever else runs") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  zest::Engine engine(pipeline);
  zest::GenerateParams sampled;
  sampled.do_sample = true;
  sampled.temperature = 0.9f;
  sampled.top_k = 40;
  sampled.seed = 1234;
  sampled.max_new_tokens = 30;
  sampled.ignore_eos = true;
  const zest::Generation want = pipeline.generate("The old house on the hill", sampled);

  std::string streamed;
  zest::GenerateParams with_stream = sampled;
  with_stream.on_text = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  std::vector<zest::Request> crowd;
  for (unsigned i = 0; i < 5; ++i) {
    zest::GenerateParams other = sampled;
    other.seed = i;
    other.max_new_tokens = int(10 + 7 * i);
    crowd.push_back(engine.submit("Some other prompt number " + std::to_string(i), other));
  }
  const zest::Generation got = engine.submit("The old house on the hill", with_stream).wait();
  CHECK(got.ids == want.ids);
  CHECK(got.text == want.text);
  CHECK(streamed == want.text);
  for (auto& r : crowd) CHECK(r.wait().ids.size() >= 10);

  // Stop strings and end-of-sequence ids end a request as they end generate.
  zest::GenerateParams stop = greedy(40);
  stop.ignore_eos = false;
  stop.stop = {"the"};
  const auto a = engine.submit("It was a dark and stormy night", stop).wait();
  const auto b = pipeline.generate("It was a dark and stormy night", stop);
  CHECK(a.text == b.text);
  CHECK(a.stop_reason == b.stop_reason);
}

TEST_CASE("a cancelled request ends with what it has and frees its blocks; the others go on") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  zest::Engine engine(pipeline);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<zest::Request> requests;
  std::atomic<int> tokens_of_1{0};
  for (unsigned i = 0; i < 4; ++i) {
    prompts.push_back(random_prompt(20 + 30 * i, 8000, i + 10));
    zest::GenerateParams p = greedy(200);
    if (i == 1) p.on_token = [&](const zest::TokenInfo&) { return ++tokens_of_1 > 0; };
    requests.push_back(engine.submit_ids(prompts.back(), p));
  }
  wait_until([&] { return tokens_of_1 >= 3; });
  requests[1].cancel();
  const zest::Generation cancelled = requests[1].wait();
  CHECK(cancelled.stop_reason == zest::StopReason::cancelled);
  CHECK(cancelled.ids.size() >= 3);
  CHECK(cancelled.ids.size() < 200);
  for (unsigned i : {0u, 2u, 3u}) {
    const zest::Generation got = requests[i].wait();
    check_same_greedy("fixtures/tiny-llama", zest::DType::f32, prompts[i], got.ids, pipeline.generate_ids(prompts[i], greedy(200)).ids);
  }
  CHECK(engine.stats().kv_blocks_used == 0);
  requests[1].cancel();  // after the end: nothing happens
  CHECK(requests[1].done());
}

TEST_CASE("a pool too small for every request queues and preempts them, and never mixes them up") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  zest::EngineOptions options;
  options.kv_cache_bytes = 4 * 64 * pipeline.kv_bytes_per_position();  // four blocks of 64 positions
  options.prefix_caching = false;
  zest::Engine engine(pipeline, options);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<zest::Request> requests;
  for (unsigned i = 0; i < 6; ++i) {
    // 40 .. 60 tokens (a block each at admission, which admits three) + 60 new: two blocks each.
    prompts.push_back(random_prompt(40 + 4 * i, 8000, i + 20));
    requests.push_back(engine.submit_ids(prompts.back(), greedy(60)));
  }
  for (unsigned i = 0; i < 6; ++i) {
    CAPTURE(i);
    check_same_greedy("fixtures/tiny-llama", zest::DType::f32, prompts[i], requests[i].wait().ids,
                      pipeline.generate_ids(prompts[i], greedy(60)).ids);
  }
  const zest::EngineStats stats = engine.stats();
  CHECK(stats.preemptions > 0);
  CHECK(stats.kv_blocks == 4);
  CHECK(stats.kv_blocks_used == 0);
  // One that could never fit is refused at once.
  CHECK_THROWS_WITH_AS(engine.submit_ids(random_prompt(200, 8000, 3), greedy(60)), doctest::Contains("kv_cache_bytes"), zest::Error);
}

TEST_CASE("a second prompt with the same prefix takes its blocks from the cache") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  zest::Engine engine(pipeline);
  const auto system = random_prompt(200, 8000, 5);
  auto a = system, b = system;
  for (int32_t t : random_prompt(17, 8000, 6)) a.push_back(t);
  for (int32_t t : random_prompt(9, 8000, 7)) b.push_back(t);
  const zest::Generation first = engine.submit_ids(a, greedy(10)).wait();
  CHECK(first.timings.cached_tokens == 0);
  const zest::Generation second = engine.submit_ids(b, greedy(10)).wait();
  CHECK(second.timings.cached_tokens == 192);  // three full blocks of the 200 shared tokens
  CHECK(second.timings.prompt_tokens == b.size() - 192);
  check_same_greedy("fixtures/tiny-llama", zest::DType::f32, a, first.ids, pipeline.generate_ids(a, greedy(10)).ids);
  check_same_greedy("fixtures/tiny-llama", zest::DType::f32, b, second.ids, pipeline.generate_ids(b, greedy(10)).ids);
  // The same prompt again: all but its last partial block.
  const zest::Generation again = engine.submit_ids(b, greedy(10)).wait();
  CHECK(again.timings.cached_tokens == 192);
  CHECK(again.ids == second.ids);
  CHECK(engine.stats().cached_prompt_tokens == 384);
}

TEST_CASE("bad requests are refused at submit; a throwing callback ends its request alone") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  zest::Engine engine(pipeline);
  CHECK_THROWS_WITH_AS(engine.submit_ids(std::vector<int32_t>{1, 9000}, greedy(5)), doctest::Contains("outside the vocabulary"), zest::Error);
  CHECK_THROWS_WITH_AS(engine.submit_ids(std::vector<int32_t>{}, greedy(5)), doctest::Contains("no tokens"), zest::Error);
  CHECK_THROWS_WITH_AS(engine.submit_ids(std::vector<int32_t>{1, 2}, greedy(5000)), doctest::Contains("maximum length"), zest::Error);
  CHECK_THROWS_WITH_AS(engine.submit_ids(std::vector<int32_t>{1, 2}, greedy(0)), doctest::Contains("max_new_tokens"), zest::Error);
  zest::GenerateParams throwing = greedy(10);
  throwing.on_text = [](std::string_view) -> bool { throw std::runtime_error("client went away"); };
  auto bad = engine.submit("Once upon a time", throwing);
  auto good = engine.submit("Once upon a time", greedy(10));
  CHECK_THROWS_WITH_AS(bad.wait(), "client went away", std::runtime_error);
  CHECK(good.wait().ids == pipeline.generate("Once upon a time", greedy(10)).ids);

  zest::EngineOptions queue_of_one;
  queue_of_one.max_batch = 1;
  queue_of_one.max_waiting = 1;
  zest::Engine small(pipeline, queue_of_one);
  std::vector<zest::Request> held;
  bool refused = false;
  for (int i = 0; i < 8 && !refused; ++i) {
    try {
      held.push_back(small.submit_ids(std::vector<int32_t>{1, 2, 3}, greedy(300)));
    } catch (const zest::Error& e) {
      refused = e.kind() == zest::Error::Kind::busy;
    }
  }
  CHECK(refused);
  for (auto& r : held) r.cancel();
}

TEST_CASE("many threads submit at once; destroying the engine cancels what runs") {
  const zest::Pipeline pipeline = load("fixtures/tiny-llama");
  std::vector<std::vector<int32_t>> prompts;
  for (unsigned i = 0; i < 12; ++i) prompts.push_back(random_prompt(10 + 11 * i, 8000, 40 + i));
  std::vector<std::vector<int32_t>> got(prompts.size());
  {
    zest::Engine engine(pipeline);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (unsigned i = t; i < prompts.size(); i += 4) got[i] = engine.submit_ids(prompts[i], greedy(15)).wait().ids;
      });
    for (auto& t : threads) t.join();
  }
  for (unsigned i = 0; i < prompts.size(); ++i)
    check_same_greedy("fixtures/tiny-llama", zest::DType::f32, prompts[i], got[i], pipeline.generate_ids(prompts[i], greedy(15)).ids);

  std::optional<zest::Request> running;
  {
    zest::Engine engine(pipeline);
    running = engine.submit_ids(prompts[0], greedy(1000));
  }
  CHECK(running->wait().stop_reason == zest::StopReason::cancelled);
}

TEST_SUITE_END();
