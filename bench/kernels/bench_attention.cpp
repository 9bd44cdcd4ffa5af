// Decode attention over a 2048-token KV cache at gpt2-small (12 heads of 64) and 1B-LLaMA
// (32 query heads sharing 8 KV heads of 64) shapes, f32 and f16 caches. Layers' caches are
// cycled beyond the L3, as a decode step reads every layer's; GB/s counts the K and V bytes.
// The caches are head-major ([kv head][position][dim]), so each head's keys are one stream.
// attend_decode_batch is the Engine's batched step instead: many short sequences in paged blocks.
#include <string>

#include "bench_common.hpp"
#include "zest/kernels/half.hpp"
#include "zest/kernels/attention.hpp"

namespace bench {
namespace {

struct Model {
  const char* name;
  size_t n_heads, n_kv_heads, head_dim;
};
const Model kModels[] = {{"gpt2", 12, 12, 64}, {"llama1b", 32, 8, 64}};
constexpr size_t kContext = 2048;

void decode(benchmark::State& state, Model m, zest::detail::KvType type, size_t threads) {
  const size_t elems = kContext * m.n_kv_heads * m.head_dim, elem_bytes = type == zest::detail::KvType::f32 ? 4 : 2;
  const size_t layers = kBeyondCache / (2 * elems * elem_bytes) + 1;
  const auto src = random_floats(elems, 1.f, 5);
  std::vector<float> f32(type == zest::detail::KvType::f32 ? elems * 2 * layers : 0);
  std::vector<uint16_t> f16(type == zest::detail::KvType::f16 ? elems * 2 * layers : 0);
  for (size_t c = 0; c < 2 * layers; ++c) {
    if (type == zest::detail::KvType::f32) std::copy(src.begin(), src.end(), f32.begin() + c * elems);
    else zest::detail::f32_to_f16(src.data(), f16.data() + c * elems, elems);
  }
  auto view = [&](size_t c) {
    const void* data = type == zest::detail::KvType::f32 ? static_cast<const void*>(f32.data() + c * elems) : f16.data() + c * elems;
    return zest::detail::KvView{data, type, m.head_dim, kContext * m.head_dim};  // [kv_head][pos][dim]
  };
  const zest::detail::AttentionShape shape{m.n_heads, m.n_kv_heads, m.head_dim, 0.125f, 0};
  const auto q = random_floats(m.n_heads * m.head_dim, 1.f, 6);
  std::vector<float> out(q.size());
  size_t layer = 0;
  for (auto _ : state) {
    zest::detail::attend_decode(q.data(), view(2 * layer), view(2 * layer + 1), kContext, shape, out.data(), pool(threads));
    layer = (layer + 1) % layers;
    benchmark::DoNotOptimize(out.data());
  }
  set_rates(state, 2.0 * elems * elem_bytes, 4.0 * kContext * m.n_heads * m.head_dim);
}

// A batched decode step's attention (the Engine's): `rows` sequences of `context` positions each,
// in 64-position blocks laid out as KvBlocks lays them ([layer][k, v][kv head][position][dim]),
// f16; every layer of the step in turn, the blocks of all layers beyond the L3.
void decode_batch(benchmark::State& state, Model m, size_t rows, size_t context, size_t threads) {
  using zest::detail::kKvBlock;
  const size_t layers = 12, head_elems = kKvBlock * m.head_dim, block_elems = layers * 2 * m.n_kv_heads * head_elems;
  const size_t blocks_per_row = (context + kKvBlock - 1) / kKvBlock;
  zest::detail::AlignedVector<uint16_t> cache(rows * blocks_per_row * block_elems);  // huge pages, as KvBlocks
  const auto src = random_floats(cache.size(), 1.f, 7);
  zest::detail::f32_to_f16(src.data(), cache.data(), cache.size());
  std::vector<int32_t> table(rows * blocks_per_row);
  for (size_t b = 0; b < table.size(); ++b) table[b] = int32_t((b * 7919) % table.size());  // scattered, as a pool hands them out
  const auto q = random_floats(rows * m.n_heads * m.head_dim, 1.f, 8);
  std::vector<float> out(q.size());
  const zest::detail::AttentionShape shape{m.n_heads, m.n_kv_heads, m.head_dim, 0.125f, 0};
  std::vector<zest::detail::DecodeRow> batch(rows);
  size_t layer = 0;
  for (auto _ : state) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t first = layer * 2 * m.n_kv_heads * head_elems;
      auto view = [&](size_t at) {
        return zest::detail::KvView{cache.data() + at, zest::detail::KvType::f16, m.head_dim, head_elems,
                                    table.data() + r * blocks_per_row, block_elems};
      };
      batch[r] = {q.data() + r * m.n_heads * m.head_dim, view(first), view(first + m.n_kv_heads * head_elems), context,
                  out.data() + r * m.n_heads * m.head_dim};
    }
    zest::detail::attend_decode(batch, shape, pool(threads));
    layer = (layer + 1) % layers;
    benchmark::DoNotOptimize(out.data());
  }
  set_rates(state, 2.0 * rows * context * m.n_kv_heads * m.head_dim * 2, 4.0 * rows * context * m.n_heads * m.head_dim);
}

}  // namespace

void register_attention() {
  for (size_t t : {1u, 2u})
    for (size_t rows : {1u, 16u})
      benchmark::RegisterBenchmark(("attend_decode_batch/gpt2/f16/rows:" + std::to_string(rows) + "/ctx:192/threads:" +
                                    std::to_string(t)).c_str(),
                                   [=](benchmark::State& st) { decode_batch(st, kModels[0], rows, 192, t); })
          ->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (Model m : kModels)
    for (zest::detail::KvType type : {zest::detail::KvType::f32, zest::detail::KvType::f16})
      for (size_t t : {1u, 2u})
        benchmark::RegisterBenchmark((std::string("attend_decode/") + m.name + "/" + (type == zest::detail::KvType::f32 ? "f32" : "f16") +
                                      "/ctx:2048/threads:" + std::to_string(t)).c_str(),
                                     [=](benchmark::State& st) { decode(st, m, type, t); })
            ->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace bench
