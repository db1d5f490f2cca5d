// The random numbers of dataset preparation: which training images form the calibration set and
// how each one is cropped and flipped. Deliberately not torch's generator: the stream must be the
// same on every rank, every build and every standard library, so everything here is specified
// down to the bit.
//
//   SampleRng pick(1005, 0);                         // stream 0 chooses the files
//   auto order = choose_without_replacement(60000, 1024, pick);
//   SampleRng crop(1005, 1 + position);              // stream 1+i crops the i-th chosen image
//
// A stream is std::mt19937_64 (its output sequence is fixed by the C++ standard) seeded with
// splitmix64(seed) ^ splitmix64(stream + 0x9e3779b97f4a7c15), so stream i is independent of
// how many numbers stream j drew — the ranks that crop different images never need to agree on
// an order. Real numbers and integers are derived by the formulas below, not by
// std::uniform_*_distribution, whose algorithms the standard leaves open.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace qsweep::data {

class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t stream);
  // (next() >> 11) * 2^-53: uniform on [0, 1) with 53 random bits.
  double uniform01();
  // lo + (hi - lo) * uniform01().
  double uniform(double lo, double hi);
  // Uniform integer in [lo, hi) by rejection (no modulo bias); lo < hi.
  int64_t randint(int64_t lo, int64_t hi);
  uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// The first `count` entries of a Fisher–Yates shuffle of 0..n-1 (for i = 0..count-1, swap i with
// randint(i, n)): `count` distinct indices in the order they were drawn, like the first images of
// a shuffled loader. Throws DataError when count > n.
std::vector<int64_t> choose_without_replacement(int64_t n, int64_t count, SampleRng& rng);

}  // namespace qsweep::data
