#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>

#include "zest/tensor.hpp"

using zest::DType;
using zest::Shape;
using zest::Tensor;
using zest::TensorView;

TEST_CASE("dtype sizes and names") {
  CHECK(zest::dtype_size(DType::f32) == 4);
  CHECK(zest::dtype_size(DType::bf16) == 2);
  CHECK(zest::dtype_size(DType::i64) == 8);
  CHECK(zest::dtype_size(DType::i8) == 1);
  CHECK(zest::dtype_name(DType::f16) == "f16");
  // i4 names how weights are quantized at load; no tensor holds it.
  const uint8_t byte = 0;
  CHECK_THROWS_WITH_AS(Tensor(DType::i4, Shape{2}), "dtype i4 is a compute dtype; no tensor stores it", zest::Error);
  CHECK_THROWS_AS(TensorView(&byte, DType::i4, Shape{2}), zest::Error);
}

TEST_CASE("shape") {
  const Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  CHECK(s[1] == 3);
  CHECK(Shape{} .numel() == 1);
  CHECK(Shape{2, 3} == Shape{2, 3});
  CHECK_FALSE(Shape{2, 3} == Shape{3, 2});
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5, 6, 7}), zest::Error);
  CHECK_THROWS_AS(Shape({2, -1}), zest::Error);
}

TEST_CASE("tensor storage is 64-byte aligned and typed") {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t(DType::f32, Shape{n});
    CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
    CHECK(t.nbytes() == size_t(n) * 4);
  }
  Tensor z = Tensor::zeros(DType::i32, Shape{5, 7});
  auto data = z.data<int32_t>();
  CHECK(data.size() == 35);
  CHECK(std::all_of(data.begin(), data.end(), [](int32_t v) { return v == 0; }));
  CHECK_THROWS_AS(z.data<float>(), zest::Error);
  CHECK_THROWS_AS(z.data<int64_t>(), zest::Error);
  CHECK(Tensor(DType::f32, Shape{0, 4}).numel() == 0);
}

TEST_CASE("views: rows, reshape, strides") {
  Tensor t(DType::f32, Shape{3, 4});
  auto data = t.data<float>();
  std::iota(data.begin(), data.end(), 0.0f);
  const TensorView v = t;
  CHECK(v.is_contiguous());
  CHECK(v.stride(0) == 4);
  CHECK(v.stride(1) == 1);
  const TensorView row = v[2];
  CHECK(row.rank() == 1);
  CHECK(row.data<float>()[0] == 8.0f);
  CHECK(row.data<float>()[3] == 11.0f);
  CHECK_THROWS_AS(v[3], zest::Error);
  CHECK_THROWS_AS(v[-1], zest::Error);
  const TensorView flat = v.reshape(Shape{12});
  CHECK(flat.data<float>()[11] == 11.0f);
  CHECK_THROWS_AS(v.reshape(Shape{5}), zest::Error);
  const Tensor copy = Tensor::copy_of(v[1]);
  CHECK(copy.shape() == Shape{4});
  CHECK(copy.data<float>()[0] == 4.0f);
}

TEST_CASE("conversion between f32 and half dtypes") {
  Tensor t(DType::f32, Shape{2, 20});
  auto data = t.data<float>();
  for (size_t i = 0; i < data.size(); ++i) data[i] = float(i) * 0.25f - 3.0f;  // exact in f16 and bf16
  for (DType half : {DType::f16, DType::bf16}) {
    const Tensor h = zest::to_half(t, half);
    CHECK(h.dtype() == half);
    const Tensor back = zest::to_f32(h);
    CHECK(back.shape() == t.shape());
    for (size_t i = 0; i < data.size(); ++i) CHECK(back.data<float>()[i] == data[i]);
  }
  CHECK_THROWS_AS(zest::to_f32(Tensor(DType::i32, Shape{2})), zest::Error);
  CHECK_THROWS_AS(zest::to_half(t, DType::i8), zest::Error);
}
