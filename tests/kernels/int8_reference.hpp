// Scalar references for the quantized matmul tests: Eigen matrices in double, and the int8
// activations as matmul_int8.hpp documents them.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Dense>

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline MatrixD to_matrix(const std::vector<float>& v, size_t rows, size_t cols) {
  MatrixD m(rows, cols);
  for (size_t i = 0; i < rows * cols; ++i) m.data()[i] = v[i];
  return m;
}

// Activations: per row over max|x| / 127, with `levels` = 2 plus the residual level.
inline MatrixD dequantize_activations(const std::vector<float>& v, size_t rows, size_t cols, size_t levels) {
  MatrixD m(rows, cols);
  for (size_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (size_t k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(v[r * cols + k]));
    const float d = amax / 127.f, inv = amax > 0 ? 127.f / amax : 0.f;
    for (size_t k = 0; k < cols; ++k) {
      const float scaled = v[r * cols + k] * inv, q = std::nearbyint(scaled);
      const double residual = levels == 2 ? std::nearbyint((scaled - q) * 254.f) / 254.0 : 0.0;
      m(r, k) = double(d) * (q + residual);
    }
  }
  return m;
}

// Largest |got - want| relative to the largest |want|.
inline double relative_error(const std::vector<float>& got, const MatrixD& want) {
  double err = 0, scale = 0;
  for (Eigen::Index i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(double(got[i]) - want.data()[i]));
    scale = std::max(scale, std::abs(want.data()[i]));
  }
  return err / std::max(scale, 1e-30);
}
