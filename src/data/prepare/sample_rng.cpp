#include "data/prepare/sample_rng.h"

#include <fmt/format.h>

#include <numeric>

#include "data/data_error.h"

namespace qsweep::data {
namespace {

// Sebastiano Vigna's splitmix64 finaliser: spreads nearby seeds (1005, 1006) over the whole state.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

SampleRng::SampleRng(uint64_t seed, uint64_t stream)
    : engine_(splitmix64(seed) ^ splitmix64(stream + 0x9e3779b97f4a7c15ULL)) {}

double SampleRng::uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double SampleRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

int64_t SampleRng::randint(int64_t lo, int64_t hi) {
  const uint64_t range = static_cast<uint64_t>(hi - lo);
  // Largest multiple of `range` that fits; draws at or above it are rejected.
  const uint64_t limit = range * (UINT64_MAX / range);
  uint64_t r;
  do {
    r = engine_();
  } while (r >= limit);
  return lo + static_cast<int64_t>(r % range);
}

std::vector<int64_t> choose_without_replacement(int64_t n, int64_t count, SampleRng& rng) {
  if (count < 0 || count > n) {
    throw DataError(fmt::format("cannot choose {} distinct items out of {}", count, n));
  }
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  for (int64_t i = 0; i < count; ++i) std::swap(idx[i], idx[rng.randint(i, n)]);
  idx.resize(static_cast<size_t>(count));
  return idx;
}

}  // namespace qsweep::data
