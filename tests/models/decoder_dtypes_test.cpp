// bf16, f16 and int8 weights against f32 on the reference models: the KL divergence of next-token
// distributions (KL(f32 || dtype), averaged over every position of every golden prompt and its
// greedy continuation, computed by one-token decode steps as generation computes them, or by one
// prefill pass on both sides) and top-1
// agreement where the f32 top-1 margin exceeds 0.1. Targets: bf16 and f16 KL <= 1e-4; int8 KL
// <= 1e-3 and >= 99% agreement. The sharp generated models (llama-odd-gqa, mistral-sw: hidden
// size 72, logits spread over ~15 nats) are the hard case: W8A8 with one scale per row costs
// 2.3-2.5e-3 there, which is why decoders quantize weights in blocks of 32 with a residual
// activation level (tools/reference/int8_simulation.py simulates each scheme in PyTorch).
// Besides the reference models, the trained demo model on held-out text.
// int4 (issue 22) targets KL <= 2e-2 and >= 90% agreement; where a model misses, its entry says
// by how much and asserts the measured bound, so that a regression still fails.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "golden.hpp"
#include "zest/models/decoder.hpp"
#include "test_data.hpp"

namespace {

std::vector<double> log_softmax(const float* x, size_t n) {
  double max = x[0], sum = 0;
  for (size_t i = 1; i < n; ++i) max = std::max(max, double(x[i]));
  for (size_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - max);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = double(x[i]) - max - std::log(sum);
  return out;
}

struct Agreement {
  double kl = 0;
  size_t rows = 0, confident = 0, agree = 0;
};

// How the dtype's logits are computed: one-token decode steps, or one prefill pass over the
// whole sequence (its batched kernels: GEMM tiles, AMX, prefill attention).
enum class Path { decode, prefill };

Agreement compare(const std::string& dir, const std::string& golden, zest::DType dtype, Path path,
                  zest::detail::ThreadPool& pool) {
  const zest::detail::DecoderModel f32 = zest::detail::DecoderModel::load(dir);
  zest::LoadOptions options;
  options.dtype = dtype;
  const zest::detail::DecoderModel other = zest::detail::DecoderModel::load(dir, options);
  Agreement a;
  const size_t vocab = f32.vocab_size();
  const auto prompts = load_golden(golden)["prompts"];
  for (const auto& prompt : prompts) {
    auto ids = prompt["ids"].get<std::vector<int32_t>>();
    const auto greedy = prompt["greedy"]["ids"].get<std::vector<int32_t>>();
    ids.insert(ids.end(), greedy.begin(), greedy.end());  // longer sequences: more positions
    ids.resize(std::min(ids.size(), f32.config().max_sequence_length()));
    // The f32 run takes the same path: where the rotary table depends on the call's length
    // (dynamic NTK, LongRoPE), one pass and token-by-token steps are different computations.
    std::vector<float> want(ids.size() * vocab), got(ids.size() * vocab);
    zest::detail::DecoderState s1(f32, ids.size()), s2(other, ids.size());
    if (path == Path::decode) {
      for (size_t t = 0; t < ids.size(); ++t) {
        f32.forward(s1, std::span(ids).subspan(t, 1), std::span(want).subspan(t * vocab, vocab), pool);
        other.forward(s2, std::span(ids).subspan(t, 1), std::span(got).subspan(t * vocab, vocab), pool);
      }
    } else {
      f32.forward(s1, ids, want, pool, /*all_positions=*/true);
      other.forward(s2, ids, got, pool, /*all_positions=*/true);
    }
    for (size_t t = 0; t < ids.size(); ++t) {
      const auto p = log_softmax(want.data() + t * vocab, vocab), q = log_softmax(got.data() + t * vocab, vocab);
      double kl = 0;
      size_t top = 0, second = 1, top_q = 0;
      for (size_t i = 0; i < vocab; ++i) {
        kl += std::exp(p[i]) * (p[i] - q[i]);
        if (p[i] > p[top]) {
          second = top;
          top = i;
        } else if (i != top && p[i] > p[second]) {
          second = i;
        }
        if (q[i] > q[top_q]) top_q = i;
      }
      a.kl += kl;
      ++a.rows;
      if (want[t * vocab + top] - want[t * vocab + second] > 0.1f) {
        ++a.confident;
        a.agree += top == top_q;
      }
    }
  }
  a.kl /= double(a.rows);
  return a;
}

struct Model {
  std::string dir, golden;
  double int4_kl = 2e-2, int4_top1 = 0.9;
};

std::vector<Model> models() {
  return {
      {test_data("fixtures/tiny-llama"), test_data("models/fixture-goldens/tiny-llama.json")},
      {test_data("fixtures/tiny-gpt2"), test_data("models/fixture-goldens/tiny-gpt2.json")},
      {test_data("fixtures/tiny-qwen2"), test_data("models/fixture-goldens/tiny-qwen2.json")},
      {test_data("models/llama-odd-gqa"), test_data("models/llama-odd-gqa/golden.json"), 0.075, 0.77},  // int4 misses: KL 0.066, 75/95
      {test_data("models/mistral-sw"), test_data("models/mistral-sw/golden.json"), 0.058, 0.86},  // int4 misses: KL 0.051, 80/91
      {test_data("models/gemma2"), test_data("models/gemma2/golden.json")},
      {test_data("models/gemma3-text"), test_data("models/gemma3-text/golden.json")},
      {test_data("models/gemma3"), test_data("models/gemma3/golden.json")},
      {test_data("models/olmo2"), test_data("models/olmo2/golden.json"), 0.032, 0.78},  // int4 misses: KL 0.028, 67/84
      {test_data("models/granite"), test_data("models/granite/golden.json")},
      {test_data("models/qwen3"), test_data("models/qwen3/golden.json")},
      {test_data("models/phi3"), test_data("models/phi3/golden.json")},
      {test_data("models/smollm3"), test_data("models/smollm3/golden.json")},
      {test_data("models/llama3-rope"), test_data("models/llama3-rope/golden.json")},
      {test_data("models/qwen2-yarn"), test_data("models/qwen2-yarn/golden.json"), 0.034, 0.85},  // int4 misses: KL 0.030, 98/113
      {test_data("models/llama-dynamic"), test_data("models/llama-dynamic/golden.json"), 0.033, 0.85},  // int4 misses: KL 0.029, 67/77
#ifndef ZEST_TEST_SANITIZED  // 4-50x the others in size, the same code
      {ZEST_DEFAULT_MODEL_DIR, test_data("demo/dtype-prompts.json")},
#endif
  };
}

}  // namespace

TEST_SUITE_BEGIN("dtypes");

TEST_CASE("half precision, int8 and int4 weights stay close to f32") {
  zest::detail::ThreadPool pool(2);
  for (const auto& model : models()) {
    const std::string& dir = model.dir;
    for (Path path : {Path::decode, Path::prefill})
    for (zest::DType dtype : {zest::DType::bf16, zest::DType::f16, zest::DType::i8, zest::DType::i4}) {
      CAPTURE(dir);
      CAPTURE(zest::dtype_name(dtype));
      const std::string path_name = path == Path::decode ? "decode" : "prefill";
      CAPTURE(path_name);
      const Agreement a = compare(dir, model.golden, dtype, path, pool);
      MESSAGE(dir << " " << zest::dtype_name(dtype) << " " << path_name << ": KL "
                  << a.kl << ", top-1 agreement " << a.agree << "/" << a.confident << " (of " << a.rows
                  << " positions)");
      if (dtype == zest::DType::i4) {
        CHECK(a.kl <= model.int4_kl);
        CHECK(a.agree >= model.int4_top1 * double(a.confident));
      } else if (dtype == zest::DType::i8) {
        CHECK(a.kl <= 1e-3);
        CHECK(a.agree >= 0.99 * double(a.confident));
      } else {
        CHECK(a.kl <= 1e-4);
        CHECK(a.agree == a.confident);
      }
    }
  }
}

TEST_CASE("weight_bytes counts what a decode step reads: int4 MLPs at half a byte a weight, attention and the head int8") {
  // A Linear of n rows x k inputs as packed_matrix.hpp lays it out: rows in panels of 32, inputs
  // in blocks of 32, each row of a block its weights and an f16 scale, each row one offset float.
  auto linear = [](size_t n, size_t k, size_t bits) {
    const size_t rows = (n + 31) / 32 * 32, cols = (k + 31) / 32 * 32;
    return rows * (cols * bits / 8 + cols / 32 * 2 + 4);
  };
  for (const std::string dir : {test_data("fixtures/tiny-llama"), std::string(ZEST_DEFAULT_MODEL_DIR)}) {
    CAPTURE(dir);
    size_t bytes[2] = {};
    for (const auto dtype : {zest::DType::i8, zest::DType::i4}) {
      zest::LoadOptions options;
      options.dtype = dtype;
      const zest::detail::DecoderModel model = zest::detail::DecoderModel::load(dir, options);
      const auto& c = model.config();
      const size_t d = size_t(c.hidden_size), inter = size_t(c.intermediate_size), bits = dtype == zest::DType::i4 ? 4 : 8;
      const size_t layer = linear(model.q_dim() + 2 * model.kv_dim(), d, 8) + linear(d, model.q_dim(), 8) +
                           linear(2 * inter, d, bits) + linear(d, inter, bits);
      bytes[dtype == zest::DType::i4] = model.weight_bytes();
      CHECK(model.weight_bytes() == size_t(c.num_hidden_layers) * layer + linear(size_t(c.vocab_size), d, 8));
    }
    MESSAGE(dir << ": weight_bytes int8 " << bytes[0] << ", int4 " << bytes[1]);
  }
}

TEST_SUITE_END();
