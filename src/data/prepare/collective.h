// The collective operations dataset preparation needs, as an interface: the data layer may not
// include MPI (only src/dist does), so dist::World implements this and src/cli passes it in.
// SingleProcess is the no-MPI case (tests, a plain `qsweep prepare`).
#pragma once

#include <cstdint>
#include <vector>

namespace qsweep::data {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank 0 receives every rank's buffer, indexed by rank; the other ranks receive nothing.
  virtual std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) = 0;
  // On every rank: whether `mine` was true on any rank.
  virtual bool any(bool mine) = 0;
};

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) override { return {mine}; }
  bool any(bool mine) override { return mine; }
};

}  // namespace qsweep::data
