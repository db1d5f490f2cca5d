// See mse_search.h. The blocked kernel evaluates the same fake-quant as fake_quant.cpp (clamp,
// then round with the 1.5·2^23 trick) and sums |error|^p per candidate.
#include "quant/observers/mse_search.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/cuda/device_ops.h"
#include "quant/observers/pow_nonneg.h"
#include "support/collective.h"

namespace qsweep::quant {

std::pair<at::Tensor, at::Tensor> mse_search_batch_cpu(const at::Tensor& x, double p, const QScheme& scheme,
                                                       const support::Collective* group);

namespace {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 · 2^23
constexpr int64_t kChunk = 4096;            // 16 KiB of float32: stays in L1 across all candidates
constexpr int kLanes = 16;
constexpr double kNearTie = 1e-4;           // relative band re-scored by the reference arithmetic

struct Candidate {
  float min_val, max_val, inv, scale, lo, hi;
};

float factor(int i) { return static_cast<float>(1.0 - i * 0.01); }  // double, then float, as Python does

std::vector<Candidate> candidates(float xmin, float xmax, int steps, const QScheme& scheme) {
  const QRange r = scheme.range();
  std::vector<Candidate> out;
  out.reserve(steps);
  for (int i = 0; i < steps; ++i) {
    const float lo = xmin * factor(i), hi = xmax * factor(i);
    const ScalarQParams q = compute_qparams(lo, hi, scheme);
    out.push_back({lo, hi, 1.0f / q.scale, q.scale, static_cast<float>(r.qmin - q.zero_point),
                   static_cast<float>(r.qmax - q.zero_point)});
  }
  return out;
}

// fq(x) − x under one candidate, in the order fake_quant.cpp computes fq: scale, clamp, round.
inline float fq_error(float x, float inv, float scale, float lo, float hi) {
  float v = x * inv;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  v = (v + kRoundMagic) - kRoundMagic;
  return v * scale - x;
}

__attribute__((target_clones("avx2", "default"))) double chunk_sq_error(const float* __restrict x, int64_t n,
                                                                          float inv, float scale, float lo, float hi) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float d = fq_error(x[i + j], inv, scale, lo, hi);
      acc[j] += d * d;
    }
  }
  double sum = 0;
  for (; i < n; ++i) {
    const float d = fq_error(x[i], inv, scale, lo, hi);
    sum += d * d;
  }
  for (float a : acc) sum += a;
  return sum;
}

// Σ|error|^p for p ≠ 2 (EMAMSE/MSE with p = 2.4 under AdaRound, BRECQ, QDrop): chunk_sq_error
// with pow_nonneg in place of the square. It replaced ATen's vectorised pow over a buffer of
// errors, which took 61.5 s of a 69 s RegNetX-600M EMAMSE calibration (p = 2: 2.9 s).
__attribute__((target_clones("avx2", "default"))) double chunk_lp_error(const float* __restrict x, int64_t n,
                                                                          float inv, float scale, float lo, float hi,
                                                                          float p) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      acc[j] += pow_nonneg(std::fabs(fq_error(x[i + j], inv, scale, lo, hi)), p);
    }
  }
  double sum = 0;
  for (; i < n; ++i) {
    sum += pow_nonneg(std::fabs(fq_error(x[i], inv, scale, lo, hi)), p);
  }
  for (float a : acc) sum += a;
  return sum;
}

// Copies the non-zero values of x[0, n) to out (room for n) and returns how many there are.
int64_t compact_nonzero(const float* __restrict x, int64_t n, float* __restrict out) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[k] = x[i];  // branch-free: always write, advance only past a non-zero
    k += x[i] != 0.0f;
  }
  return k;
}

float reference_score(const at::Tensor& x, const Candidate& c, const QRange& r, double p) {
  const int64_t zp = static_cast<int64_t>(r.qmin - static_cast<int64_t>(c.lo));
  const auto xq = at::fake_quantize_per_tensor_affine(x, c.scale, zp, r.qmin, r.qmax);
  return (xq - x).abs().pow(p).mean().item<float>();
}

}  // namespace

RangeChoice mse_search_reference(const at::Tensor& x, float xmin, float xmax, int steps, double p,
                                 const QScheme& scheme) {
  const QRange r = scheme.range();
  const auto cands = candidates(xmin, xmax, steps, scheme);
  float best = 1e10f;
  RangeChoice choice{xmin, xmax, 0};
  for (int i = 0; i < steps; ++i) {
    const float score = reference_score(x, cands[i], r, p);
    if (score < best) {
      best = score;
      choice = {cands[i].min_val, cands[i].max_val, i};
    }
  }
  return choice;
}

namespace {

// Σ|fq(x) − x|^p of every candidate over x, in double, and how many values of x are non-zero.
std::vector<double> score_candidates(const at::Tensor& x, const std::vector<Candidate>& cands, double p,
                                     int64_t* nonzero_total) {
  const float* data = x.data_ptr<float>();
  const int64_t n = x.numel();
  const bool squares = p == 2.0;
  const float pf = static_cast<float>(p);
  // compute_qparams clamps every zero point into [qmin, qmax], so 0 quantises to exactly 0 under
  // every candidate: exact zeros — about half of a post-ReLU activation — add 0 to every score
  // and are dropped from each chunk before it is scored.
  float nonzero[kChunk];
  *nonzero_total = 0;
  std::vector<double> score(cands.size(), 0.0);
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = compact_nonzero(data + start, std::min(kChunk, n - start), nonzero);
    *nonzero_total += len;
    for (size_t i = 0; i < cands.size(); ++i) {
      const Candidate& c = cands[i];
      score[i] += squares ? chunk_sq_error(nonzero, len, c.inv, c.scale, c.lo, c.hi)
                          : chunk_lp_error(nonzero, len, c.inv, c.scale, c.lo, c.hi, pf);
    }
  }
  return score;
}

// The candidates whose blocked score lies within kNearTie of the best, in order.
std::vector<int> near_best(const double* score, int steps) {
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < steps; ++i) best = std::min(best, score[i]);
  std::vector<int> band;
  for (int i = 0; i < steps; ++i) {
    if (!(score[i] > best * (1.0 + kNearTie))) band.push_back(i);
  }
  return band;
}

// The first strict minimum of the reference scores over the near-best band: the reference's own
// float32 arithmetic (ATen's fake-quant and mean, on the CPU) decides every near-tie.
RangeChoice choose_in_band(const at::Tensor& x, const std::vector<Candidate>& cands, const double* score, float xmin,
                           float xmax, double p, const QScheme& scheme) {
  const QRange r = scheme.range();
  float best_ref = 1e10f;
  RangeChoice choice{xmin, xmax, 0};
  for (int i : near_best(score, static_cast<int>(cands.size()))) {
    const float s = reference_score(x, cands[i], r, p);
    if (s < best_ref) {
      best_ref = s;
      choice = {cands[i].min_val, cands[i].max_val, i};
    }
  }
  return choice;
}

void check_p(double p) {
  if (!(p >= 1 && p <= 8)) throw QuantError(fmt::format("MSE search: p = {} not in [1, 8]", p));
}

}  // namespace

RangeChoice mse_search(const at::Tensor& x, float xmin, float xmax, int steps, double p, const QScheme& scheme) {
  check_p(p);
  const auto cands = candidates(xmin, xmax, steps, scheme);
  int64_t nonzero_total = 0;
  const auto score = score_candidates(x, cands, p, &nonzero_total);
  // All zeros: every score is 0 and the reference loop keeps its first candidate.
  if (nonzero_total == 0) return {cands.front().min_val, cands.front().max_val, 0};
  return choose_in_band(x, cands, score.data(), xmin, xmax, p, scheme);
}

// The search over a batch split across a group: the same candidates (from the reduced extremes),
// each candidate's error summed over the ranks' parts before choosing. The near-best band is
// re-scored by the reference's fake-quant with double sums: ATen's float32 mean over the whole
// batch cannot be formed from parts, so a tie closer than float32 summation order is the only
// case that may choose differently from one rank (docs/groups.md).
RangeChoice mse_search_grouped(const at::Tensor& x, float xmin, float xmax, int steps, double p,
                               const QScheme& scheme, const support::Collective& group) {
  check_p(p);
  const auto cands = candidates(xmin, xmax, steps, scheme);
  int64_t nonzero = 0;
  auto local = score_candidates(x, cands, p, &nonzero);
  local.push_back(static_cast<double>(nonzero));
  local.push_back(static_cast<double>(x.numel()));
  auto sums = at::tensor(local, at::kDouble);
  group.all_reduce(sums, support::Reduce::kSum);
  const double* score = sums.data_ptr<double>();
  const double numel = score[steps + 1];
  if (score[steps] == 0) return {cands.front().min_val, cands.front().max_val, 0};
  const QRange r = scheme.range();
  const std::vector<int> band = near_best(score, steps);
  std::vector<double> part;
  for (int i : band) {
    const int64_t zp = static_cast<int64_t>(r.qmin - static_cast<int64_t>(cands[i].lo));
    const auto xq = at::fake_quantize_per_tensor_affine(x, cands[i].scale, zp, r.qmin, r.qmax);
    part.push_back((xq - x).abs().pow(p).sum(at::kDouble).item<double>());
  }
  auto band_sums = at::tensor(part, at::kDouble);
  group.all_reduce(band_sums, support::Reduce::kSum);
  double best_ref = std::numeric_limits<double>::infinity();
  RangeChoice choice{xmin, xmax, 0};
  for (size_t k = 0; k < band.size(); ++k) {
    const double s = band_sums[static_cast<int64_t>(k)].item<double>() / numel;
    if (s < best_ref) {
      best_ref = s;
      choice = {cands[band[k]].min_val, cands[band[k]].max_val, band[k]};
    }
  }
  return choice;
}

namespace {

// The search on the GPU (CUDA builds): every candidate of every row scored by one kernel
// (quant/cuda/kernels.h). Where one candidate lies within kNearTie of the best it is the CPU
// path's choice too (a candidate kNearTie worse cannot win the reference re-score, whose float
// sums differ from the blocked ones by ~1e-7); where several do, that row is re-scored on the CPU
// exactly as the CPU path re-scores it, so the choice is the CPU's bit for bit.
std::pair<at::Tensor, at::Tensor> mse_search_batch_cuda(const at::Tensor& x, double p, const QScheme& scheme) {
  const auto xf = x.to(at::kFloat);
  const auto rows = scheme.per_channel ? xf.transpose(0, scheme.ch_axis).contiguous().flatten(1)
                                       : xf.contiguous().reshape({1, -1});
  const int steps = scheme.per_channel ? kMseStepsPerChannel : kMseStepsPerTensor;
  auto [lo_d, hi_d] = at::aminmax(rows, 1);
  const auto lo = lo_d.cpu().contiguous(), hi = hi_d.cpu().contiguous();
  const int64_t n = rows.size(0);
  std::vector<std::vector<Candidate>> cands(n);
  auto packed = at::empty({n, steps, 4}, at::kFloat);
  float* pk = packed.data_ptr<float>();
  for (int64_t r = 0; r < n; ++r) {
    cands[r] = candidates(lo.data_ptr<float>()[r], hi.data_ptr<float>()[r], steps, scheme);
    for (int i = 0; i < steps; ++i) {
      const Candidate& c = cands[r][i];
      float* q = pk + (r * steps + i) * 4;
      q[0] = c.inv, q[1] = c.scale, q[2] = c.lo, q[3] = c.hi;
    }
  }
  const auto scores = cuda::lp_error_scores(rows, packed, p).contiguous();
  at::Tensor rows_cpu;  // copied once, only when some row has a near-tie
  auto out_lo = at::empty({n}, at::kFloat), out_hi = at::empty({n}, at::kFloat);
  for (int64_t r = 0; r < n; ++r) {
    const float xmin = lo.data_ptr<float>()[r], xmax = hi.data_ptr<float>()[r];
    const double* score = scores.data_ptr<double>() + r * steps;
    RangeChoice c{cands[r].front().min_val, cands[r].front().max_val, 0};  // all zeros: the CPU's shortcut
    if (xmin != 0.0f || xmax != 0.0f) {
      const auto band = near_best(score, steps);
      // The reference loop starts from a best of 1e10: a mean error that large keeps its first
      // range, so such rows are re-scored as well.
      if (band.size() == 1 && score[band[0]] < 1e9 * static_cast<double>(rows.size(1))) {
        c = {cands[r][band[0]].min_val, cands[r][band[0]].max_val, band[0]};
      } else {
        if (!rows_cpu.defined()) rows_cpu = rows.cpu();
        c = choose_in_band(rows_cpu[r], cands[r], score, xmin, xmax, p, scheme);
      }
    }
    out_lo.data_ptr<float>()[r] = c.min_val;
    out_hi.data_ptr<float>()[r] = c.max_val;
  }
  if (!scheme.per_channel) return {out_lo[0].to(x.device()), out_hi[0].to(x.device())};
  return {out_lo.to(x.device()), out_hi.to(x.device())};
}

}  // namespace

std::pair<at::Tensor, at::Tensor> mse_search_batch(const at::Tensor& x_any, double p, const QScheme& scheme,
                                                   const support::Collective* group) {
  check_p(p);
  if (x_any.is_cuda() && cuda::kernels_built() && !support::grouped(group)) return mse_search_batch_cuda(x_any, p, scheme);
  // A group's search sums its ranks' candidate scores over the collective on the CPU (its parts
  // are copied once per batch: the search costs, not the copy).
  const auto x = x_any.device().is_cpu() ? x_any : x_any.to(at::kCPU);
  const auto device = x_any.device();
  auto on_device = [&](std::pair<at::Tensor, at::Tensor> r) {
    return std::make_pair(r.first.to(device), r.second.to(device));
  };
  return on_device(mse_search_batch_cpu(x, p, scheme, group));
}

std::pair<at::Tensor, at::Tensor> mse_search_batch_cpu(const at::Tensor& x, double p, const QScheme& scheme,
                                                       const support::Collective* group) {
  if (support::grouped(group)) {
    // Per-channel observers only calibrate weights, which every rank of a group calibrates whole.
    if (scheme.per_channel) throw QuantError("MSE search: a per-channel observer cannot split its input across a task group");
    auto lo = at::amin(x).contiguous(), hi = at::amax(x).contiguous();
    group->all_reduce(lo, support::Reduce::kMin);
    group->all_reduce(hi, support::Reduce::kMax);
    const auto c = mse_search_grouped(x, lo.item<float>(), hi.item<float>(), kMseStepsPerTensor, p, scheme, *group);
    return {at::scalar_tensor(c.min_val, at::kFloat), at::scalar_tensor(c.max_val, at::kFloat)};
  }
  if (!scheme.per_channel) {
    auto [lo, hi] = at::aminmax(x);
    const auto c = mse_search(x, lo.item<float>(), hi.item<float>(), kMseStepsPerTensor, p, scheme);
    return {at::scalar_tensor(c.min_val, at::kFloat), at::scalar_tensor(c.max_val, at::kFloat)};
  }
  const auto rows = x.transpose(0, scheme.ch_axis).contiguous().flatten(1);
  auto [lo, hi] = at::aminmax(rows, 1);
  lo = lo.contiguous();
  hi = hi.contiguous();
  const int64_t channels = rows.size(0);
  auto out_lo = at::empty({channels}, at::kFloat), out_hi = at::empty({channels}, at::kFloat);
  const float* in_lo = lo.data_ptr<float>();
  const float* in_hi = hi.data_ptr<float>();
  float* o_lo = out_lo.data_ptr<float>();
  float* o_hi = out_hi.data_ptr<float>();
  at::parallel_for(0, channels, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const auto choice = mse_search(rows[c], in_lo[c], in_hi[c], kMseStepsPerChannel, p, scheme);
      o_lo[c] = choice.min_val;
      o_hi[c] = choice.max_val;
    }
  });
  return {out_lo, out_hi};
}

}  // namespace qsweep::quant
