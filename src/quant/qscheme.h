// Quantization schemes and the one place where a (min, max) range becomes (scale, zero point).
//
//   QScheme w{.bits = 4, .symmetric = false, .per_channel = true};
//   QRange r = w.range();                         // [0, 15]
//   QParams qp = compute_qparams(min, max, w);    // SPEC §1.2, float32, round-half-to-even
//
// Real value = scale · (q − zero_point), q ∈ [qmin, qmax]. Integer bounds come only from
// QRange::from (STYLE rule 6): no 127/255 literals anywhere else in src/quant.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "support/error.h"

namespace qsweep::quant {

class QuantError : public Error {
 public:
  using Error::Error;
};

inline constexpr int kMinBits = 2;
inline constexpr int kMaxBits = 8;

// Integer range of a quantizer. SPEC §1.1: unsigned [0, 2^b−1]; signed [−2^(b−1), 2^(b−1)−1];
// signed with symmetric_range drops the lowest code: [−2^(b−1)+1, 2^(b−1)−1].
struct QRange {
  int64_t qmin = 0;
  int64_t qmax = 255;

  static QRange from(int bits, bool is_signed, bool symmetric_range = false);
  int64_t levels() const { return qmax - qmin + 1; }
  bool operator==(const QRange& o) const { return qmin == o.qmin && qmax == o.qmax; }
};

// What a quantizer is asked to do; observers and fake-quant read their range from here.
struct QScheme {
  int bits = 8;
  bool symmetric = false;        // symmetric → signed range, zero point 0
  bool per_channel = false;
  int64_t ch_axis = 0;           // used only when per_channel
  bool pot_scale = false;        // scale = 2^round(log2(scale)); zero point kept (SPEC §1.2.6)
  bool symmetric_range = false;  // signed range without its lowest code (TensorRT after 2022-05)

  QRange range() const { return QRange::from(bits, symmetric, symmetric_range); }
  int64_t axis() const { return per_channel ? ch_axis : -1; }
  void validate() const;      // throws QuantError naming the bad field
  std::string str() const;    // e.g. "4-bit asym per-channel(0) [0, 15]"
};

// scale: float32 [1] (per-tensor) or [C]; zero_point: int32 of the same shape.
struct QParams {
  at::Tensor scale;
  at::Tensor zero_point;
};

// Scalar form of SPEC §1.2 for one (min, max) pair, bit-identical to the tensor form.
struct ScalarQParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
ScalarQParams compute_qparams(float min_val, float max_val, const QScheme& scheme);

// SPEC §1.2 on float32 tensors (0-dim or [C]): range forced to contain 0, eps = 2^−23,
// symmetric divisor (qmax − qmin)/2, affine zero point round-half-to-even then clamped.
// Never-observed (+inf, −inf) gives scale 1, zero point 0. Throws on NaN, min > max, shape mismatch.
QParams compute_qparams(const at::Tensor& min_val, const at::Tensor& max_val, const QScheme& scheme);

}  // namespace qsweep::quant
