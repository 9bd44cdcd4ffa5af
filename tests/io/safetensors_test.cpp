// safetensors: the fixtures read as numpy reads them (tests/data/fixtures/*/tensors.json, made by
// tools/reference/make_core_goldens.py), sharded models, and a catalogue of malformed files.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safetensors_writer.hpp"
#include "error_of.hpp"
#include "zest/io/read_file.hpp"
#include "zest/io/safetensors.hpp"

using zest::Error;
using zest::detail::Weights;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFixtures = {"tiny-bert", "tiny-gpt2", "tiny-llama", "tiny-qwen2"};

fs::path fixture(const std::string& name) { return fs::path(ZEST_TEST_DATA) / "fixtures" / name; }

zest::DType dtype_of(const std::string& name) { return *zest::detail::safetensors_dtype(name); }

}  // namespace

TEST_CASE("fixture tensors match an independent reader") {
  for (const auto& name : kFixtures) {
    CAPTURE(name);
    const Weights weights = Weights::open(fixture(name));
    const auto golden = nlohmann::json::parse(zest::detail::read_file(fixture(name) / "tensors.json"));
    CHECK(weights.names().size() == golden.size());
    for (const auto& [tensor, want] : golden.items()) {
      CAPTURE(tensor);
      const zest::TensorView view = weights.get(tensor);
      CHECK(view.dtype() == dtype_of(want["dtype"]));
      CHECK(std::vector<int64_t>(view.shape().dims().begin(), view.shape().dims().end()) ==
            want["shape"].get<std::vector<int64_t>>());
      const zest::Tensor values = zest::to_f32(view);
      double sum = 0;
      for (float v : values.data<float>()) sum += v;
      CHECK(sum == doctest::Approx(want["sum"].get<double>()).epsilon(1e-9));
      const auto head = want["head"].get<std::vector<double>>();
      for (size_t i = 0; i < head.size(); ++i) CHECK(values.data<float>()[i] == float(head[i]));
    }
  }
}

TEST_CASE("a sharded model reads the same tensors as the single file") {
  const fs::path dir = fresh_dir("shards");
  const zest::detail::SafetensorsFile whole(fixture("tiny-llama") / "model.safetensors");
  // Split the tensors over two shards, alternately.
  nlohmann::json headers[2] = {nlohmann::json::object(), nlohmann::json::object()};
  std::string data[2];
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  int k = 0;
  for (const auto& [name, info] : whole.tensors()) {
    const int shard = k++ % 2;
    const auto view = whole.get(name);
    headers[shard][name] = {{"dtype", "F32"},
                            {"shape", std::vector<int64_t>(info.shape.dims().begin(), info.shape.dims().end())},
                            {"data_offsets", {data[shard].size(), data[shard].size() + info.nbytes}}};
    data[shard].append(static_cast<const char*>(view.raw()), info.nbytes);
    index["weight_map"][name] = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
  }
  for (int shard = 0; shard < 2; ++shard)
    write_file(dir / ("model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors"),
               safetensors_bytes(headers[shard].dump(), data[shard]));
  write_file(dir / "model.safetensors.index.json", index.dump());

  const Weights sharded = Weights::open(dir);
  CHECK(sharded.files().size() == 2);
  CHECK(sharded.names().size() == whole.tensors().size());
  for (const auto& [name, info] : whole.tensors()) {
    const auto a = whole.get(name), b = sharded.get(name);
    REQUIRE(a.nbytes() == b.nbytes());
    CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
  }
  CHECK(error_of([&] { sharded.get("nope"); }).find("no tensor named 'nope'") != std::string::npos);

  SUBCASE("a missing shard") {
    fs::remove(dir / "model-00002-of-00002.safetensors");
    const std::string message = error_of([&] { Weights::open(dir); });
    CHECK(message.find("model.safetensors.index.json") != std::string::npos);
    CHECK(message.find("shard 'model-00002-of-00002.safetensors' is missing") != std::string::npos);
  }
  SUBCASE("a tensor the index puts in the wrong shard") {
    auto first = whole.tensors().begin()->first;
    index["weight_map"][first] = index["weight_map"][first] == "model-00001-of-00002.safetensors"
                                     ? "model-00002-of-00002.safetensors"
                                     : "model-00001-of-00002.safetensors";
    write_file(dir / "model.safetensors.index.json", index.dump());
    CHECK(error_of([&] { Weights::open(dir); }).find("is not in its shard") != std::string::npos);
  }
  SUBCASE("a shard path outside the directory") {
    index["weight_map"][whole.tensors().begin()->first] = "../elsewhere.safetensors";
    write_file(dir / "model.safetensors.index.json", index.dump());
    CHECK(error_of([&] { Weights::open(dir); }).find("not a file beside the index") != std::string::npos);
  }
  SUBCASE("an index that is not JSON") {
    write_file(dir / "model.safetensors.index.json", "{\"weight_map\": ");
    CHECK(error_of([&] { Weights::open(dir); }).find("not valid JSON") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("metadata, empty tensors and missing files") {
  const fs::path dir = fresh_dir("meta");
  write_file(dir / "model.safetensors",
             safetensors_bytes(R"({"__metadata__":{"format":"pt"},"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},)"
                               R"("x":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})",
                               std::string("\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0", 16)));
  const zest::detail::SafetensorsFile file(dir / "model.safetensors");
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.get("empty").numel() == 0);
  CHECK(file.get("x").data<int64_t>()[1] == 2);
  // A tensor at an odd address: typed access refuses it, conversion copies it first.
  write_file(dir / "odd.safetensors", safetensors_bytes(R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                                         R"("h":{"dtype":"BF16","shape":[2],"data_offsets":[1,5]}})",
                                                         std::string("\0\x80\x3f\x00\x40", 5)));
  const zest::detail::SafetensorsFile odd(dir / "odd.safetensors");
  CHECK_FALSE(odd.get("h").is_aligned());
  CHECK(error_of([&] { odd.get("h").data<uint16_t>(); }).find("misaligned") != std::string::npos);
  const zest::Tensor h = zest::to_f32(odd.get("h"));
  CHECK(h.data<float>()[0] == 1.0f);
  CHECK(h.data<float>()[1] == 2.0f);
  CHECK(error_of([&] { Weights::open(dir / "absent.safetensors"); }).find("absent.safetensors: cannot open") != std::string::npos);
  CHECK(error_of([&] { Weights::open(fresh_dir("empty-dir")); }).find("no model.safetensors") != std::string::npos);
  fs::remove_all(dir);
}

// kB of mapped file pages this process holds (Linux; -1 elsewhere).
long rss_file_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("RssFile:", 0) == 0) return std::stol(line.substr(8));
  return -1;
}

// A decoder packs its weights and keeps the mapping only for views: release_resident gives the
// pages back (8 MiB here) and the views still read the file's bytes.
TEST_CASE("release_resident drops the mapping's pages, and views still read the same bytes") {
  const fs::path dir = fresh_dir("resident");
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char(i * 2654435761u >> 24);
  write_file(dir / "model.safetensors",
             safetensors_bytes(R"({"w":{"dtype":"U8","shape":[8388608],"data_offsets":[0,8388608]}})", data));
  const Weights weights = Weights::open(dir);
  const uint8_t* bytes = weights.get("w").data<uint8_t>().data();
  const auto sum = [&] {
    uint64_t s = 0;
    for (size_t i = 0; i < data.size(); ++i) s = s * 31 + bytes[i];
    return s;
  };
  const uint64_t before = sum();
  const long resident = rss_file_kb();
  weights.release_resident();
  if (resident >= 0) CHECK(rss_file_kb() < resident - 6 * 1024);
  CHECK(sum() == before);
  CHECK(std::equal(data.begin(), data.end(), reinterpret_cast<const char*>(bytes)));
  fs::remove_all(dir);
}

// Every malformed file is rejected with an Error that names the file and the fault.
TEST_CASE("malformed files") {
  const fs::path dir = fresh_dir("malformed");
  const std::string good = zest::detail::read_file(fixture("tiny-llama") / "model.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(good[size_t(i)]);
  const std::string header = good.substr(8, n);
  const std::string data = good.substr(8 + n);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string h = header;
    const size_t at = h.find(from);
    REQUIRE(at != std::string::npos);
    h.replace(at, from.size(), to);
    return safetensors_bytes(h, data, /*pad=*/false);
  };
  // The first tensor in the header and its offsets, to edit.
  const auto parsed = nlohmann::json::parse(header);
  std::string first_offsets;
  for (const auto& [name, entry] : parsed.items())
    if (name != "__metadata__" && entry["data_offsets"][0] == 0) first_offsets = entry["data_offsets"].dump();
  REQUIRE(!first_offsets.empty());

  struct Case {
    std::string name, bytes, expected;
  };
  std::vector<Case> cases = {
      {"empty file", "", "truncated safetensors file: 0 bytes"},
      {"cut inside the length", good.substr(0, 5), "truncated safetensors file: 5 bytes"},
      {"cut after the length", good.substr(0, 8), "runs past the end of the file"},
      {"cut inside the header", good.substr(0, 8 + n / 2), "runs past the end of the file"},
      {"cut one byte into the header", good.substr(0, 9), "runs past the end of the file"},
      {"cut at the end of the header", good.substr(0, 8 + n), "run past the end of the data section"},
      {"cut inside the data", good.substr(0, 8 + n + data.size() / 2), "run past the end of the data section"},
      {"last byte missing", good.substr(0, good.size() - 1), "run past the end of the data section"},
      {"huge header length", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + good.substr(8), "exceeds the limit"},
      {"header length past the file", good.substr(0, 8) + header.substr(0, 10), "runs past the end"},
      {"header not JSON", edited("{", "{{"), "header is not valid JSON"},
      {"header a JSON array", safetensors_bytes("[1, 2]", data), "header is not a JSON object"},
      {"header cut short", safetensors_bytes(header.substr(0, header.find_last_of('}')), data, false), "not valid JSON"},
      {"unknown dtype", edited("\"F32\"", "\"F99\""), "unknown dtype 'F99'"},
      {"dtype not a string", edited("\"F32\"", "32"), "missing string field 'dtype'"},
      {"shape not a list", edited("\"shape\":[", "\"shape\":7,\"x\":["), "missing array field 'shape'"},
      {"negative dimension", edited("\"shape\":[", "\"shape\":[-1,"), "non-negative integers"},
      {"fractional dimension", edited("\"shape\":[", "\"shape\":[1.5,"), "non-negative integers"},
      {"rank too high", edited("\"shape\":[", "\"shape\":[1,1,1,1,1,1,"), "rank"},
      {"overflowing shape", edited("\"shape\":[", "\"shape\":[4294967296,4294967296,"), "overflows"},
      {"shape and bytes disagree", edited("\"shape\":[", "\"shape\":[2,"), "bytes but data_offsets"},
      {"offsets reversed", edited(first_offsets, "[64,0]"), "end before they begin"},
      {"offsets past the data", edited(first_offsets, "[0," + std::to_string(data.size() + 4) + "]"), "past the end of the data"},
      {"offsets not numbers", edited(first_offsets, "[\"0\",4]"), "'data_offsets' must be two"},
      {"one offset", edited(first_offsets, "[0]"), "'data_offsets' must be two"},
      {"entry not an object", safetensors_bytes(R"({"a": 5})", ""), "tensor 'a': entry is not a JSON object"},
      {"metadata not strings", safetensors_bytes(R"({"__metadata__": {"k": 1}})", ""), "__metadata__ value of 'k'"},
      {"metadata not an object", safetensors_bytes(R"({"__metadata__": []})", ""), "__metadata__ is not a JSON object"},
      {"overlapping tensors", safetensors_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                                R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", "abcdef"),
       "overlap"},
  };
  // Flip each byte of the length field: each flip must give an error or a valid file, never a crash.
  for (int i = 0; i < 8; ++i) {
    std::string flipped = good;
    flipped[size_t(i)] = char(flipped[size_t(i)] ^ 0x80);
    cases.push_back({"length byte " + std::to_string(i) + " flipped", flipped, ""});
  }
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const fs::path path = dir / "model.safetensors";
    write_file(path, c.bytes);
    const std::string message = error_of([&] { zest::detail::SafetensorsFile{path}; });
    CHECK(message.find(path.string()) == 0);
    CHECK(message.find(c.expected) != std::string::npos);
  }
  fs::remove_all(dir);
}
