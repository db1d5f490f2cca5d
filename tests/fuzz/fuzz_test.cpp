// Bounded, seeded mutation fuzzing of the four parsers that read files from users: sweep files,
// checkpoints, JPEGs and idx files. Every mutated input must either parse or be refused with a
// qsweep::Error: any other exception, a crash, a hang (one input over kInputSeconds) or memory
// beyond the process limit set here is a finding. The mutator is our own and deterministic (a
// fixed seed and count), so a run is reproducible; a wall-clock cap keeps CI bounded. Inputs
// that ever failed live in tests/fuzz/regressions/<target>/ and run first, every time.
// Before each input the test writes it to build/fuzz-findings/<target>.current, so an input that
// crashes the process is on disk for a regression file.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <unistd.h>

#include "data/sources/idx_file.h"
#include "data/sources/jpeg_decode.h"
#include "models/checkpoint/checkpoint.h"
#include "support/error.h"
#include "sweep/sweep_spec.h"

namespace qsweep {
namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

constexpr int kIterations = 20000;       // per target
constexpr double kTargetSeconds = 25.0;  // cap per target (4 targets: under 2 minutes)
constexpr double kInputSeconds = 5.0;

Bytes read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

// One to eight edits: bit flips, interesting bytes, inserts, deletes, duplicated runs, truncation
// and splices with another seed.
Bytes mutate(const Bytes& in, const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
  Bytes b = in;
  const auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  const int edits = 1 + static_cast<int>(rng() % 8);
  static const unsigned char interesting[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, '\n', '{', '[', ':', '-', '$'};
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 7) {
      case 0:
        if (!b.empty()) b[pick(b.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[pick(b.size())] = static_cast<char>(interesting[pick(sizeof(interesting))]);
        break;
      case 2: {
        Bytes ins(1 + pick(16), '\0');
        for (auto& c : ins) c = static_cast<char>(rng());
        b.insert(pick(b.size() + 1), ins);
        break;
      }
      case 3:
        if (!b.empty()) {
          const size_t at = pick(b.size());
          b.erase(at, 1 + pick(std::min<size_t>(64, b.size() - at)));
        }
        break;
      case 4:
        if (!b.empty()) {
          const size_t at = pick(b.size()), n = 1 + pick(std::min<size_t>(256, b.size() - at));
          b.insert(pick(b.size() + 1), b.substr(at, n));
        }
        break;
      case 5:
        b.resize(pick(b.size() + 1));
        break;
      default: {
        const Bytes& other = seeds[pick(seeds.size())];
        if (!other.empty()) b = b.substr(0, pick(b.size() + 1)) + other.substr(pick(other.size()));
      }
    }
  }
  return b;
}

// A cap on the address space a little above what the process uses now: a parser that tries to
// allocate without bound gets std::bad_alloc (a finding) instead of taking the machine.
void limit_memory(size_t headroom_bytes) {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + headroom_bytes;
  rlimit r{limit, limit};
  setrlimit(RLIMIT_AS, &r);
}

struct Target {
  std::string name;
  std::vector<fs::path> seed_files;
  std::function<void(const Bytes&, const fs::path& scratch)> parse;
};

void fuzz(const Target& t) {
  const fs::path findings = fs::path(QSWEEP_BINARY_DIR) / "fuzz-findings";
  fs::create_directories(findings);
  const fs::path scratch = findings / (t.name + ".scratch");
  const fs::path current = findings / (t.name + ".current");
  std::vector<Bytes> seeds;
  for (const auto& p : t.seed_files) seeds.push_back(read_bytes(p));
  ASSERT_FALSE(seeds.empty()) << t.name << ": no seeds";
  std::vector<Bytes> regressions;
  const fs::path reg = fs::path(QSWEEP_SOURCE_DIR) / "tests/fuzz/regressions" / t.name;
  if (fs::exists(reg)) {
    for (const auto& e : fs::directory_iterator(reg)) regressions.push_back(read_bytes(e.path()));
  }
  std::mt19937_64 rng(1005);
  const auto start = std::chrono::steady_clock::now();
  int ran = 0, refused = 0;
  const int total = static_cast<int>(regressions.size() + seeds.size()) + kIterations;
  for (int i = 0; i < total; ++i) {
    const size_t fixed = regressions.size() + seeds.size();
    const Bytes input = i < static_cast<int>(regressions.size()) ? regressions[i]
                        : i < static_cast<int>(fixed)             ? seeds[i - regressions.size()]
                                                                  : mutate(seeds[rng() % seeds.size()], seeds, rng);
    write_bytes(current, input);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      t.parse(input, scratch);
    } catch (const Error&) {
      refused++;
    } catch (const std::exception& e) {
      write_bytes(findings / (t.name + "-" + std::to_string(i) + ".bin"), input);
      ADD_FAILURE() << t.name << " input " << i << " (" << input.size() << " bytes, saved in " << findings.string()
                    << "): not a qsweep::Error: " << e.what();
    }
    ran++;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > kInputSeconds) {
      write_bytes(findings / (t.name + "-" + std::to_string(i) + ".slow"), input);
      ADD_FAILURE() << t.name << " input " << i << " took " << s << " s";
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > kTargetSeconds) break;
  }
  fs::remove(current);
  std::printf("fuzz %s: %d inputs (%zu regressions, %zu seeds), %d refused with a qsweep::Error, %.1f s\n",
              t.name.c_str(), ran, regressions.size(), seeds.size(), refused,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  EXPECT_GT(ran, static_cast<int>(seeds.size()));
}

std::vector<fs::path> files(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const fs::path kSource = QSWEEP_SOURCE_DIR;

class Fuzz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { limit_memory(size_t{3} << 30); }
};

TEST_F(Fuzz, SweepParser) {
  fuzz({"sweep", files(kSource / "sweeps", ".yaml"),
        [](const Bytes& b, const fs::path&) { sweep::parse_sweep(b, "fuzz.yaml"); }});
}

TEST_F(Fuzz, CheckpointReader) {
  fuzz({"checkpoint", files(kSource / "tests/models/fixtures", ".pt"), [](const Bytes& b, const fs::path& scratch) {
          write_bytes(scratch, b);
          models::read_state_dict(scratch.string());
        }});
}

TEST_F(Fuzz, JpegDecoder) {
  fuzz({"jpeg", files(kSource / "tests/fuzz/corpus", ".jpg"), [](const Bytes& b, const fs::path&) {
          data::decode_jpeg_rgb(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "fuzz.jpg", 1 << 22);
        }});
}

TEST_F(Fuzz, IdxReader) {
  auto seeds = files(kSource / "tests/fuzz/corpus", "-ubyte");
  for (const auto& p : files(kSource / "tests/fuzz/corpus", "-ubyte.gz")) seeds.push_back(p);
  fuzz({"idx", seeds, [](const Bytes& b, const fs::path& scratch) {
          write_bytes(scratch, b);  // gzread reads plain and gzip files alike
          data::read_idx(scratch.string());
        }});
}

}  // namespace
}  // namespace qsweep
