// Tensors: an owning, 64-byte aligned Tensor and a borrowed, read-only TensorView.
// Shapes are small fixed-capacity arrays, so views cost no allocation (they are made in the
// decode loop). Strides are in elements; a default-made tensor is contiguous, row-major.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "zest/kernels/half.hpp"
#include "zest/error.hpp"

namespace zest {

// i4 names a compute dtype only (LoadOptions: weights quantized to 4 bits at load); no tensor
// stores 4-bit elements, so its element size is 0.
enum class DType : uint8_t { f32, f16, bf16, f64, i8, i16, i32, i64, u8, boolean, i4 };

constexpr size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean: return 1;
    case DType::i4: return 0;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::f64: return "f64";
    case DType::i8: return "i8";
    case DType::i16: return "i16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::boolean: return "bool";
    case DType::i4: return "i4";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

namespace detail {
// Whether elements of C++ type T store the dtype; half types are raw 16-bit patterns.
template <typename T>
constexpr bool dtype_matches(DType d) {
  if constexpr (std::is_same_v<T, float>) return d == DType::f32;
  else if constexpr (std::is_same_v<T, double>) return d == DType::f64;
  else if constexpr (std::is_same_v<T, uint16_t>) return d == DType::f16 || d == DType::bf16;
  else if constexpr (std::is_same_v<T, int8_t>) return d == DType::i8;
  else if constexpr (std::is_same_v<T, int16_t>) return d == DType::i16;
  else if constexpr (std::is_same_v<T, int32_t>) return d == DType::i32;
  else if constexpr (std::is_same_v<T, int64_t>) return d == DType::i64;
  else if constexpr (std::is_same_v<T, uint8_t>) return d == DType::u8 || d == DType::boolean;
  else static_assert(sizeof(T) == 0, "no zest dtype stores this element type");
}

// A tensor of i4 (a compute dtype only, element size 0) would divide by its element size.
inline void check_storable(DType dtype) {
  if (dtype_size(dtype) == 0) fail(Error::Kind::input, "dtype ", dtype, " is a compute dtype; no tensor stores it");
}
}  // namespace detail

// Dimensions of a tensor, at most kMaxRank of them.
class Shape {
 public:
  static constexpr int kMaxRank = 6;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}
  explicit Shape(std::span<const int64_t> dims) {
    if (dims.size() > size_t(kMaxRank)) detail::fail(Error::Kind::input, "tensor rank ", dims.size(), " exceeds ", kMaxRank);
    for (int64_t d : dims)
      if (d < 0) detail::fail(Error::Kind::input, "negative tensor dimension ", d);
    std::copy(dims.begin(), dims.end(), dims_.begin());
    rank_ = int(dims.size());
  }

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[size_t(i)]; }
  std::span<const int64_t> dims() const { return {dims_.data(), size_t(rank_)}; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[size_t(i)];
    return n;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.dims().begin(), a.dims().end(), b.dims().begin());
  }
  friend std::ostream& operator<<(std::ostream& out, const Shape& shape) {
    out << '[';
    for (int i = 0; i < shape.rank_; ++i) out << (i ? ", " : "") << shape[i];
    return out << ']';
  }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

// A borrowed, read-only view of tensor data (weights mapped from a file, or a Tensor).
class TensorView {
 public:
  TensorView() = default;
  TensorView(const void* data, DType dtype, Shape shape) : data_(data), dtype_(dtype), shape_(shape) {
    detail::check_storable(dtype);
    int64_t stride = 1;
    for (int i = shape.rank() - 1; i >= 0; --i) {
      strides_[size_t(i)] = stride;
      stride *= shape[i];
    }
  }

  const void* raw() const { return data_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t stride(int i) const { return strides_[size_t(i)]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  bool is_contiguous() const {
    int64_t expected = 1;
    for (int i = rank() - 1; i >= 0; --i) {
      if (dim(i) != 1 && stride(i) != expected) return false;
      expected *= dim(i);
    }
    return true;
  }

  // Whether the data's address suits its element type (a file may place a tensor anywhere).
  bool is_aligned() const { return reinterpret_cast<uintptr_t>(data_) % dtype_size(dtype_) == 0; }

  // Typed access; throws if T does not store this dtype or the data is misaligned for it.
  template <typename T>
  std::span<const T> data() const {
    if (!detail::dtype_matches<T>(dtype_))
      detail::fail(Error::Kind::input, "tensor of dtype ", dtype_, " read with a mismatched element type");
    if (!is_aligned())
      detail::fail(Error::Kind::input, "tensor data of dtype ", dtype_, " is misaligned; copy it (Tensor::copy_of) first");
    return {static_cast<const T*>(data_), size_t(numel())};
  }

  // The sub-tensor at index i of the first dimension (a row of a matrix, a layer of a stack).
  TensorView operator[](int64_t i) const {
    if (rank() == 0 || i < 0 || i >= dim(0))
      detail::fail(Error::Kind::input, "index ", i, " out of range for shape ", shape_);
    Shape inner(shape_.dims().subspan(1));
    TensorView view(static_cast<const std::byte*>(data_) + size_t(i * stride(0)) * dtype_size(dtype_), dtype_, inner);
    std::copy(strides_.begin() + 1, strides_.end(), view.strides_.begin());
    return view;
  }

  // The same data with another shape of equal element count (contiguous views only).
  TensorView reshape(Shape shape) const {
    if (shape.numel() != numel())
      detail::fail(Error::Kind::input, "cannot reshape ", shape_, " to ", shape);
    if (!is_contiguous()) detail::fail(Error::Kind::input, "cannot reshape a non-contiguous view");
    return TensorView(data_, dtype_, shape);
  }

 private:
  const void* data_ = nullptr;
  DType dtype_ = DType::f32;
  Shape shape_;
  std::array<int64_t, Shape::kMaxRank> strides_{};
};

// An owning, contiguous tensor with 64-byte aligned storage.
class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  // Uninitialised storage for the given dtype and shape.
  Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(shape) {
    detail::check_storable(dtype);
    const size_t bytes = (nbytes() + kAlignment - 1) / kAlignment * kAlignment;
    if (bytes > 0) storage_.reset(static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{kAlignment})));
  }
  static Tensor zeros(DType dtype, Shape shape) {
    Tensor t(dtype, shape);
    if (t.nbytes() > 0) std::memset(t.raw(), 0, t.nbytes());
    return t;
  }
  // A copy of any view's elements (strided views are gathered into contiguous storage).
  static Tensor copy_of(const TensorView& view) {
    Tensor t(view.dtype(), view.shape());
    if (t.nbytes() == 0) return t;
    if (view.is_contiguous()) {
      std::memcpy(t.raw(), view.raw(), t.nbytes());
    } else {
      const size_t element = dtype_size(view.dtype());
      std::byte* out = static_cast<std::byte*>(t.raw());
      for_each_offset(view, [&](int64_t offset) {
        std::memcpy(out, static_cast<const std::byte*>(view.raw()) + size_t(offset) * element, element);
        out += element;
      });
    }
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  template <typename T>
  std::span<T> data() {
    if (!detail::dtype_matches<T>(dtype_))
      detail::fail(Error::Kind::input, "tensor of dtype ", dtype_, " read with a mismatched element type");
    return {static_cast<T*>(raw()), size_t(numel())};
  }
  template <typename T>
  std::span<const T> data() const { return view().data<T>(); }

  TensorView view() const { return TensorView(raw(), dtype_, shape_); }
  operator TensorView() const { return view(); }

 private:
  struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };

  template <typename F>
  static void for_each_offset(const TensorView& view, F&& visit) {
    std::array<int64_t, Shape::kMaxRank> index{};
    const int64_t n = view.numel();
    for (int64_t k = 0; k < n; ++k) {
      int64_t offset = 0;
      for (int d = 0; d < view.rank(); ++d) offset += index[size_t(d)] * view.stride(d);
      visit(offset);
      for (int d = view.rank() - 1; d >= 0 && ++index[size_t(d)] == view.dim(d); --d) index[size_t(d)] = 0;
    }
  }

  std::unique_ptr<std::byte[], AlignedDelete> storage_;
  DType dtype_ = DType::f32;
  Shape shape_;
};

// Floating-point elements converted to f32 (f32, f16, bf16 and f64 sources).
inline Tensor to_f32(const TensorView& src) {
  if (!src.is_contiguous() || !src.is_aligned()) return to_f32(Tensor::copy_of(src));
  Tensor out(DType::f32, src.shape());
  float* dst = out.data<float>().data();
  const size_t n = size_t(src.numel());
  switch (src.dtype()) {
    case DType::f32: std::memcpy(dst, src.raw(), n * sizeof(float)); break;
    case DType::f16: detail::f16_to_f32(static_cast<const uint16_t*>(src.raw()), dst, n); break;
    case DType::bf16: detail::bf16_to_f32(static_cast<const uint16_t*>(src.raw()), dst, n); break;
    case DType::f64: std::copy_n(static_cast<const double*>(src.raw()), n, dst); break;
    default: detail::fail(Error::Kind::unsupported, "cannot convert a ", src.dtype(), " tensor to f32");
  }
  return out;
}

// f32 elements rounded to f16 or bf16 (to nearest, ties to even).
inline Tensor to_half(const TensorView& src, DType half) {
  if (half != DType::f16 && half != DType::bf16)
    detail::fail(Error::Kind::input, "to_half wants f16 or bf16, not ", half);
  if (src.dtype() != DType::f32) return to_half(to_f32(src), half);
  if (!src.is_contiguous() || !src.is_aligned()) return to_half(Tensor::copy_of(src), half);
  Tensor out(half, src.shape());
  const float* in = static_cast<const float*>(src.raw());
  uint16_t* dst = out.data<uint16_t>().data();
  if (half == DType::f16) detail::f32_to_f16(in, dst, size_t(src.numel()));
  else detail::f32_to_bf16(in, dst, size_t(src.numel()));
  return out;
}

}  // namespace zest
