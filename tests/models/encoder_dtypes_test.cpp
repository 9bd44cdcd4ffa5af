// Compute dtypes: the embeddings of bf16, f16 and int8 weights stay within cosine 0.999 of f32's
// (the bar for int8), through the same Encoder and texts.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "zest/encoder.hpp"
#include "zest/models/options.hpp"
#include "test_data.hpp"

namespace {


double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("bf16, f16 and int8 embeddings are within cosine 0.999 of f32") {
  const std::vector<std::string> texts = {
      "the quick brown fox jumps over the lazy dog.",
      "Encoders turn a sentence into one vector.",
      "a",
      "Batches of different lengths run as one packed GEMM per layer, and every text gets what it gets alone.",
  };
  for (const char* dir : {"fixtures/tiny-bert", "models/st-bert-mean"}) {
    CAPTURE(dir);
    const bool st = std::string(dir).find("st-") != std::string::npos;
    const std::vector<std::string> inputs = st ? std::vector<std::string>{"t5 t9 t200", "t100 t101 t102 t103 t104", "t77"} : texts;
    zest::LoadOptions options;
    options.threads = 2;
    const auto reference = zest::Encoder::from_pretrained(test_data(dir), options).embed(inputs, zest::Pooling::mean);
    for (zest::DType dtype : {zest::DType::bf16, zest::DType::f16, zest::DType::i8}) {
      CAPTURE(zest::dtype_name(dtype));
      options.dtype = dtype;
      const auto p = zest::Encoder::from_pretrained(test_data(dir), options);
      CHECK(zest::detail::EncoderModel::load(test_data(dir), options).weight_format() == zest::detail::weight_format(dtype));
      const auto got = p.embed(inputs, zest::Pooling::mean);
      for (size_t t = 0; t < inputs.size(); ++t) {
        CAPTURE(t);
        const double c = cosine(got[t], reference[t]);
        CAPTURE(c);
        CHECK(c >= 0.999);
      }
    }
  }
}

TEST_CASE("int4 is a decoder dtype: an encoder refuses it, naming it") {
  CHECK(zest::parse_compute_dtype("int4") == zest::DType::i4);
  CHECK(zest::parse_compute_dtype("i4") == zest::DType::i4);
  CHECK_THROWS_WITH_AS(zest::parse_compute_dtype("int3"), doctest::Contains("int4"), zest::Error);
  zest::LoadOptions options;
  options.dtype = zest::DType::i4;
  CHECK_THROWS_WITH_AS(zest::Encoder::from_pretrained(test_data("fixtures/tiny-bert"), options), doctest::Contains("i4 (int4)"),
                       zest::Error);
}
