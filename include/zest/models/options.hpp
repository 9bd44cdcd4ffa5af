// How a model is loaded: the compute dtype of its weights, threads and device.
#pragma once

#include <string>
#include <string_view>

#include "zest/error.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/tensor.hpp"
#ifdef ZEST_WITH_CUDA
#include "zest/backend/cuda/device.hpp"
#endif

namespace zest {

// Where a model runs. CUDA needs a build with ZEST_CUDA (which defines ZEST_WITH_CUDA).
struct Device {
  enum class Kind { cpu, cuda } kind = Kind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {Kind::cuda, index}; }
};

struct LoadOptions {
  // Weights of the Linear layers: f32, bf16 or f16 (kept in half precision), or i8 / i4
  // (quantized at load, per-group scales). Norms and embeddings stay f32.
  DType dtype = DType::f32;
  int threads = 0;  // 0: one per hardware thread
  Device device = Device::cpu();
};

// "f32", "bf16", "f16", "int8" (or "i8"), "int4" (or "i4") as the dtype of LoadOptions.
inline DType parse_compute_dtype(std::string_view name) {
  if (name == "f32" || name == "float32") return DType::f32;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  if (name == "f16" || name == "float16") return DType::f16;
  if (name == "int8" || name == "i8") return DType::i8;
  if (name == "int4" || name == "i4") return DType::i4;
  detail::fail(Error::Kind::input, "unknown compute dtype '", name, "' (choose f32, bf16, f16, int8 or int4)");
}

// "cpu", "cuda" (GPU 0) or "cuda:N" as a Device.
inline Device parse_device(std::string_view name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name.starts_with("cuda:") && name.size() > 5 && name.size() <= 9 &&
      name.substr(5).find_first_not_of("0123456789") == std::string_view::npos)
    return Device::cuda(std::stoi(std::string(name.substr(5))));
  detail::fail(Error::Kind::input, "unknown device '", name, "' (choose cpu, cuda or cuda:N)");
}

namespace detail {

inline WeightFormat weight_format(DType dtype) {
  switch (dtype) {
    case DType::f32: return WeightFormat::f32;
    case DType::bf16: return WeightFormat::bf16;
    case DType::f16: return WeightFormat::f16;
    case DType::i8: return WeightFormat::int8;
    case DType::i4: return WeightFormat::int4;
    default: fail(Error::Kind::input, "compute dtype ", dtype, " is not one of f32, bf16, f16, int8, int4");
  }
}

inline void check_device(const Device& device) {
  if (device.kind != Device::Kind::cuda) return;
#ifdef ZEST_WITH_CUDA
  check_cuda_device(device.index);
#else
  fail(Error::Kind::device, "Device::cuda(", device.index, ") was asked for, but this zest was built without ZEST_CUDA");
#endif
}

// For the CPU models (DecoderModel, EncoderModel): Device::cuda is the CUDA backend's to run
// (Pipeline dispatches to it), never a CPU run under another name.
inline void check_cpu_device(const Device& device, const char* what) {
  check_device(device);
  if (device.kind == Device::Kind::cuda)
    fail(Error::Kind::unsupported, what, " runs on the CPU only, not on Device::cuda(", device.index, ")");
}

}  // namespace detail
}  // namespace zest
