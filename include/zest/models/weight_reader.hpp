// Reads a model's tensors by their Hugging Face names, checking each shape against what the
// config implies, and turns them into the kernels' formats (f32 vectors, PackedMatrix).
#pragma once

#include <cstring>
#include <initializer_list>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/tensor.hpp"

namespace zest::detail {

// A LayerNorm's or RMSNorm's weights, as the decoders and encoders keep them.
struct Norm {
  std::vector<float> weight, bias;  // bias empty for RMSNorm
};

class WeightReader {
 public:
  // `prefixes`: what checkpoints may put before the names (e.g. "transformer.", "model.", "");
  // the first under which a name exists is used.
  WeightReader(const Weights& weights, std::string source, std::vector<std::string> prefixes)
      : weights_(weights), source_(std::move(source)), prefixes_(std::move(prefixes)) {}

  bool has(std::string_view name) const { return resolve(name) != nullptr; }

  // The tensor `name`, which must have the given shape and a floating-point dtype.
  TensorView tensor(std::string_view name, Shape expected) const {
    const std::string* full = resolve(name);
    if (!full) fail(Error::Kind::format, source_, ": missing tensor '", prefixes_.front(), name, "'");
    const TensorView view = weights_.get(*full);
    if (!(view.shape() == expected))
      fail(Error::Kind::format, source_, ": tensor '", *full, "' has shape ", view.shape(), " but config.json implies ",
           expected);
    if (view.dtype() != DType::f32 && view.dtype() != DType::f16 && view.dtype() != DType::bf16)
      fail(Error::Kind::format, source_, ": tensor '", *full, "' has dtype ", view.dtype(), "; want f32, f16 or bf16");
    return view;
  }

  std::vector<float> vector(std::string_view name, int64_t n) const {
    const Tensor t = to_f32(tensor(name, Shape{n}));
    return {t.data<float>().begin(), t.data<float>().end()};
  }

  // An f32 copy of the (rows x cols) matrix `name`; `transposed`: stored as (cols x rows), as
  // GPT-2's Conv1D layers are.
  Tensor matrix(std::string_view name, int64_t rows, int64_t cols, bool transposed = false) const {
    Tensor t = to_f32(tensor(name, transposed ? Shape{cols, rows} : Shape{rows, cols}));
    if (!transposed) return t;
    Tensor out(DType::f32, Shape{rows, cols});
    const float* src = t.data<float>().data();
    float* dst = out.data<float>().data();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[c * rows + r];
    return out;
  }

  // Matrices with the same number of columns stacked by rows into one packed matrix (q, k and v
  // into one projection; gate and up into one), so one matmul computes them all.
  template <typename... More>
  PackedMatrix packed(WeightFormat format, Int8Scheme int8, const Tensor& first, const More&... more) const {
    const size_t cols = size_t(first.dim(1));
    if constexpr (sizeof...(more) == 0) {
      return PackedMatrix(first.data<float>().data(), size_t(first.dim(0)), cols, format, int8);
    } else {
      std::vector<float> stacked(first.data<float>().begin(), first.data<float>().end());
      (stacked.insert(stacked.end(), more.template data<float>().begin(), more.template data<float>().end()), ...);
      return PackedMatrix(stacked.data(), stacked.size() / cols, cols, format, int8);
    }
  }
  template <typename... More>
  PackedMatrix packed(WeightFormat format, const Tensor& first, const More&... more) const {
    return packed(format, Int8Scheme{}, first, more...);
  }

  // Biases stacked like `packed`'s rows; empty when `present` is false.
  std::vector<float> stacked_bias(std::initializer_list<std::pair<std::string_view, int64_t>> parts, bool present) const {
    std::vector<float> bias;
    if (!present) return bias;
    for (const auto& [name, n] : parts) {
      const std::vector<float> b = vector(name, n);
      bias.insert(bias.end(), b.begin(), b.end());
    }
    return bias;
  }

  const std::string& source() const { return source_; }

 private:
  const std::string* resolve(std::string_view name) const {
    for (const std::string& prefix : prefixes_) {
      scratch_ = prefix + std::string(name);
      if (weights_.contains(scratch_)) return &scratch_;
    }
    return nullptr;
  }

  const Weights& weights_;
  std::string source_;
  std::vector<std::string> prefixes_;
  mutable std::string scratch_;
};

}  // namespace zest::detail
