// Checkpoint I/O: committed torch.save fixtures (tools/make_checkpoint_fixtures.py), malformed and
// fuzzed files that must fail with CheckpointError naming the path, round trips through C++ and
// through Python's torch.load, torchvision's resnet18 generated at test time, sha256.
#include "models/checkpoint/checkpoint.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "models/checkpoint/zip_archive.h"

namespace qsweep::models {
namespace {

const std::string kFixtures = std::string(QSWEEP_SOURCE_DIR) + "/tests/models/fixtures/";
const char* const kPython = "/usr/bin/python3";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// Runs a shell command; returns its stdout, *status its exit status.
std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

bool python_has(const std::string& modules) {
  int status = 0;
  run(fmt::format("{} -c 'import {}' >/dev/null 2>&1", kPython, modules), &status);
  return status == 0;
}

at::ScalarType dtype_from_python(const std::string& s) {
  static const std::map<std::string, at::ScalarType> m = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool}};
  return m.at(s);
}

// Compares names, order, shapes, dtypes, sums and (when listed) every value exactly.
void expect_matches(const StateDict& sd, const nlohmann::json& rows, const std::string& what) {
  ASSERT_EQ(sd.size(), rows.size()) << what;
  for (size_t i = 0; i < sd.size(); ++i) {
    const auto& row = rows[i];
    const auto& [name, t] = sd[i];
    SCOPED_TRACE(what + ": " + name);
    EXPECT_EQ(name, row["name"].get<std::string>());
    EXPECT_EQ(t.sizes().vec(), row["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.scalar_type(), dtype_from_python(row["dtype"].get<std::string>()));
    const double sum = t.to(at::kDouble).sum().item<double>();
    EXPECT_NEAR(sum, row["sum"].get<double>(), 1e-9 * (1 + std::abs(sum)));
    if (row.contains("values")) {
      const at::Tensor flat = t.to(at::kDouble).contiguous().flatten();
      const auto values = row["values"].get<std::vector<double>>();
      ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size()));
      for (size_t j = 0; j < values.size(); ++j) EXPECT_EQ(flat[j].item<double>(), values[j]) << j;
    }
  }
}

void expect_error(const std::string& path, const std::string& what) {
  try {
    read_state_dict(path);
    ADD_FAILURE() << "expected CheckpointError for " << path;
  } catch (const CheckpointError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(Checkpoint, ReadsEveryFixtureAsPythonDoes) {
  const auto expected = nlohmann::json::parse(slurp(kFixtures + "expected.json"));
  ASSERT_GE(expected.size(), 8u);
  for (const auto& [file, rows] : expected.items()) expect_matches(read_state_dict(kFixtures + file), rows, file);
}

TEST(Checkpoint, ViewsShareTheirStorage) {
  for (const char* file : {"views.pt", "protocol4.pt", "legacy_views.pt"}) {
    SCOPED_TRACE(file);
    const StateDict sd = read_state_dict(kFixtures + file);
    std::map<std::string, at::Tensor> m(sd.begin(), sd.end());
    const at::Tensor& t = m.at("t");
    for (const char* v : {"tail", "tt", "col", "elem"}) EXPECT_TRUE(m.at(v).storage().is_alias_of(t.storage())) << v;
    EXPECT_EQ(m.at("tail").storage_offset(), 4);
    EXPECT_EQ(m.at("tt").strides().vec(), (std::vector<int64_t>{1, 4}));
    EXPECT_EQ(m.at("col").storage_offset(), 2);
    EXPECT_EQ(m.at("elem").dim(), 0);
    EXPECT_EQ(m.at("elem").item<float>(), 11.0f);
    EXPECT_FALSE(m.at("param").storage().is_alias_of(t.storage()));
  }
}

TEST(Checkpoint, UnwrapsAndStripsModulePrefix) {
  const StateDict sd = read_state_dict(kFixtures + "wrapped_state_dict.pt");
  ASSERT_EQ(sd.size(), 2u);  // the optimizer's momentum tensors and best_acc1 are not the state dict
  EXPECT_EQ(sd[0].first, "weight");
  EXPECT_EQ(sd[1].first, "bias");
}

TEST(Checkpoint, MalformedFixturesNameThePath) {
  expect_error(kFixtures + "truncated.pt", "end-of-central-directory");
  expect_error(kFixtures + "legacy_truncated.pt", "truncated");
  expect_error(kFixtures + "random.bin", "not a PyTorch checkpoint");
  expect_error(kFixtures + "empty.pt", "empty file");
  expect_error(kFixtures + "expected.json", "not a PyTorch checkpoint");
  expect_error(kFixtures + "no_such_file.pt", "cannot open");
  expect_error(kFixtures, "not a regular file");
}

// ---- Hand-built pickles in a torch zip (written by LibTorch's own PyTorchStreamWriter) ----

struct Pickle {
  std::string b = std::string("\x80\x02", 2);
  Pickle& op(const std::string& s) {
    b += s;
    return *this;
  }
  Pickle& text(const std::string& s) {
    b += 'X';
    for (int i = 0; i < 4; ++i) b += static_cast<char>((s.size() >> (8 * i)) & 0xff);
    b += s;
    return *this;
  }
  Pickle& int1(int v) {
    b += 'K';
    b += static_cast<char>(v);
    return *this;
  }
  Pickle& global(const std::string& m, const std::string& n) { return op("c" + m + "\n" + n + "\n"); }
  // dict with one tensor `name` over storage '0' of `numel` floats, size (n,), stride (1,), offset.
  Pickle& tensor_dict(const std::string& name, int numel, int n, int offset = 0) {
    op("}(").text(name).global("torch._utils", "_rebuild_tensor_v2").op("((").text("storage");
    global("torch", "FloatStorage").text("0").text("cpu").int1(numel).op("tQ");
    int1(offset).int1(n).op("\x85").int1(1).op("\x85\x89").global("collections", "OrderedDict").op(")Rt");
    return op("Ru.");
  }
};

std::string write_zip(const std::string& name, const std::map<std::string, std::string>& records) {
  const std::string path = ::testing::TempDir() + name;
  caffe2::serialize::PyTorchStreamWriter w(path);
  for (const auto& [n, bytes] : records) w.writeRecord(n, bytes.data(), bytes.size());
  w.writeEndOfFile();
  return path;
}

const std::string kSixFloats(24, '\0');

TEST(Checkpoint, HandBuiltPicklesFailWithTheirReason) {
  ASSERT_EQ(
      read_state_dict(write_zip("ok.pt", {{"data.pkl", Pickle().tensor_dict("w", 6, 6).b}, {"data/0", kSixFloats}}))
          .size(),
      1u);
  expect_error(write_zip("opcode.pt", {{"data.pkl", Pickle().op("I1\n.").b}}),
               "unsupported pickle opcode 0x49 ('I') at pickle offset 2");
  expect_error(write_zip("nokey.pt", {{"data.pkl", Pickle().tensor_dict("w", 6, 6).b}}), "storage key '0' missing");
  expect_error(write_zip("shape.pt", {{"data.pkl", Pickle().tensor_dict("w", 6, 7).b}, {"data/0", kSixFloats}}),
               "exceeds its storage");
  expect_error(write_zip("offset.pt", {{"data.pkl", Pickle().tensor_dict("w", 6, 6, 1).b}, {"data/0", kSixFloats}}),
               "exceeds its storage");
  expect_error(write_zip("short.pt", {{"data.pkl", Pickle().tensor_dict("w", 6, 6).b}, {"data/0", "abc"}}),
               "has 3 bytes");
  expect_error(write_zip("memo.pt", {{"data.pkl", Pickle().op("h\x07.").b}}), "memo entry 7 was never stored");
  expect_error(write_zip("list.pt", {{"data.pkl", Pickle().op("].").b}}), "holds a list, expected a dict");
  expect_error(write_zip("notensor.pt", {{"data.pkl", Pickle().op("}").text("epoch").int1(3).op("s.").b}}),
               "no tensors found (top-level keys: 'epoch')");
  expect_error(write_zip("underflow.pt", {{"data.pkl", Pickle().op("(u.").b}}), "stack underflow");
  expect_error(write_zip("stop.pt", {{"data.pkl", Pickle().op("}").b}}), "no STOP opcode");
  expect_error(write_zip("huge.pt", {{"data.pkl", Pickle().op(std::string("X\xff\xff\xff\x7f", 5)).b}}),
               "truncated pickle");
  expect_error(write_zip("proto.pt", {{"data.pkl", std::string("\x80\x09}.", 4)}}), "pickle protocol 9");
  expect_error(write_zip("nopkl.pt", {{"data/0", kSixFloats}}), "without <archive>/data.pkl");
  // Hostile structure: a dict that wraps itself, a list that contains itself, deep nesting, too many values.
  expect_error(write_zip("selfwrap.pt", {{"data.pkl", Pickle().op("}q\x01").text("model").op("h\x01s.").b}}),
               "nested deeper than");
  expect_error(write_zip("cycle.pt", {{"data.pkl", Pickle()
                                                       .op("]q\x01h\x01"
                                                           "a.")
                                                       .b}}),
               "holds a list");
  expect_error(
      write_zip("deep.pt", {{"data.pkl", Pickle().op(std::string(300000, ']') + std::string(299999, 'a') + ".").b}}),
      "holds a list");
  expect_error(write_zip("many.pt", {{"data.pkl", Pickle().op(std::string(1100000, 'N') + ".").b}}), "refusing");
  // A whole nn.Module (torch.save(model)) is an opaque object: the hint says what to save instead.
  expect_error(
      write_zip("module.pt",
                {{"data.pkl", Pickle().op("}").text("model").global("mymodels", "Net").op(")\x81}b").op("s.").b}}),
      "entry 'model' is a mymodels.Net object");
}

// ---- Fuzzing: every mutation must throw CheckpointError or read; nothing may crash ----

void read_or_checkpoint_error(const std::string& path, int* ok, int* failed) {
  try {
    const StateDict sd = read_state_dict(path);
    for (const auto& [n, t] : sd) (void)t.to(at::kDouble).sum().item<double>();  // touch every element
    ++*ok;
  } catch (const CheckpointError& e) {
    ++*failed;
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, FuzzedFilesThrowOrRead) {
  std::mt19937 rng(1234);
  for (const char* file : {"views.pt", "legacy.pt", "legacy_views.pt", "wrapped_state_dict.pt"}) {
    const std::string good = slurp(kFixtures + file);
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 300; ++iter) {
      std::string bad = good;
      const int kind = iter % 3;
      if (kind == 0) {  // truncate
        bad.resize(rng() % bad.size());
      } else {  // flip 1-4 bytes (kind 2: random byte values)
        for (int k = 0, n = 1 + rng() % 4; k < n; ++k) {
          char& c = bad[rng() % bad.size()];
          c = kind == 1 ? static_cast<char>(c ^ (1 << (rng() % 8))) : static_cast<char>(rng());
        }
      }
      read_or_checkpoint_error(write_temp("fuzz.pt", bad), &ok, &failed);
    }
    EXPECT_GT(failed, 0) << file;
    std::printf("[fuzz] %s: %d read, %d CheckpointError\n", file, ok, failed);
  }
}

// The zip's CRC stops most flips before the pickle; here data.pkl itself is mutated and re-zipped.
TEST(Checkpoint, FuzzedPicklesInValidZipsThrowOrRead) {
  std::mt19937 rng(99);
  for (const char* file : {"views.pt", "ordered_dtypes.pt", "wrapped_state_dict.pt"}) {
    InputFile f(kFixtures + file);
    ZipReader zip(f);
    std::map<std::string, std::string> records;
    std::string pkl_name;
    for (const ZipEntry& e : zip.entries()) {
      const std::string rel = e.name.substr(e.name.find('/') + 1);
      if (rel == "version") continue;
      records[rel] = zip.read_string(e);
    }
    const std::string pkl = records.at("data.pkl");
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 300; ++iter) {
      std::string bad = pkl;
      if (iter % 4 == 0) {
        bad.resize(rng() % bad.size());
      } else {
        for (int k = 0, n = 1 + rng() % 3; k < n; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
      }
      records["data.pkl"] = bad;
      read_or_checkpoint_error(write_zip("fuzz_pkl.pt", records), &ok, &failed);
    }
    EXPECT_GT(failed, 0) << file;
    std::printf("[fuzz] %s data.pkl: %d read, %d CheckpointError\n", file, ok, failed);
  }
}

// ---- Writing ----

StateDict sample_state_dict() {
  StateDict sd;
  const at::Tensor base = at::arange(-6, 6, at::kDouble) / 4;
  for (at::ScalarType dt :
       {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kShort, at::kChar, at::kByte}) {
    const bool fp = at::isFloatingType(dt);
    sd.emplace_back(std::string("x_") + c10::toString(dt), (fp ? base : base * 4 + 6).to(dt).reshape({3, 4}));
  }
  sd.emplace_back("mask", at::arange(5) % 2 == 0);
  sd.emplace_back("transposed", at::arange(6, at::kFloat).reshape({2, 3}).t());  // non-contiguous
  sd.emplace_back("slice", at::arange(10, at::kFloat).slice(0, 3, 7));           // storage offset 3
  sd.emplace_back("scalar", at::scalar_tensor(1.5));
  sd.emplace_back("empty", at::zeros({0, 2}));
  sd.emplace_back("big", at::randn({70000}, at::kFloat));  // sizes past BININT2
  sd.emplace_back("layer1.0.conv1.weight \xc3\xa9", at::ones({2, 1, 3, 3}));
  return sd;
}

TEST(Checkpoint, CppRoundTripIsExact) {
  const StateDict sd = sample_state_dict();
  const std::string path = ::testing::TempDir() + "roundtrip.pt";
  write_state_dict(path, sd);
  const StateDict back = read_state_dict(path);
  ASSERT_EQ(back.size(), sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    SCOPED_TRACE(sd[i].first);
    EXPECT_EQ(back[i].first, sd[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), sd[i].second.scalar_type());
    EXPECT_EQ(back[i].second.sizes(), sd[i].second.sizes());
    EXPECT_TRUE(back[i].second.equal(sd[i].second));
  }
  write_state_dict(path, {});  // an empty dict is a valid checkpoint too, though it has no tensors
  expect_error(path, "no tensors found");
}

TEST(Checkpoint, WriterRejectsBadInputWithoutLeavingFiles) {
  const std::string dir = ::testing::TempDir();
  EXPECT_THROW(write_state_dict(dir + "dup.pt", {{"a", at::ones(1)}, {"a", at::ones(1)}}), CheckpointError);
  EXPECT_THROW(write_state_dict(dir + "undef.pt", {{"a", at::Tensor()}}), CheckpointError);
  EXPECT_THROW(write_state_dict(dir + "cplx.pt", {{"a", at::ones(1, at::kComplexFloat)}}), CheckpointError);
  EXPECT_THROW(write_state_dict(dir + "no/such/dir/x.pt", {{"a", at::ones(1)}}), CheckpointError);
  EXPECT_FALSE(std::ifstream(dir + "dup.pt").good());
}

TEST(Checkpoint, PythonTorchLoadReadsWhatCppWrites) {
  if (!python_has("torch")) GTEST_SKIP() << kPython << " cannot import torch";
  const StateDict sd = sample_state_dict();
  const std::string path = ::testing::TempDir() + "for_python.pt";
  write_state_dict(path, sd);
  int status = 0;
  const std::string out =
      run(fmt::format(
              "{} -c 'import json, sys, torch\n"
              "sd = torch.load(sys.argv[1])\n"
              "assert type(sd) is dict, type(sd)\n"
              "print(json.dumps([dict(name=k, shape=list(v.shape), dtype=str(v.dtype)[6:], sum=float(v.double().sum()),"
              " values=v.double().flatten().tolist()) for k, v in sd.items()]))' {}",
              kPython, path),
          &status);
  ASSERT_EQ(status, 0) << out;
  expect_matches(sd, nlohmann::json::parse(out), "python torch.load");
}

TEST(Checkpoint, ReadsTorchvisionResnet18LikePython) {
  if (!python_has("torch, torchvision")) GTEST_SKIP() << kPython << " cannot import torchvision";
  const std::string path = ::testing::TempDir() + "resnet18.pth";  // 47 MB: generated, never committed
  int status = 0;
  const std::string out =
      run(fmt::format(
              "{} -c 'import json, sys, torch, torchvision\n"
              "torch.manual_seed(0)\n"
              "sd = torchvision.models.resnet18().state_dict()\n"
              "torch.save(sd, sys.argv[1])\n"
              "print(json.dumps([dict(name=k, shape=list(v.shape), dtype=str(v.dtype)[6:], sum=float(v.double().sum()))"
              " for k, v in sd.items()]))' {}",
              kPython, path),
          &status);
  ASSERT_EQ(status, 0) << out;
  const auto rows = nlohmann::json::parse(out);
  ASSERT_EQ(rows.size(), 122u);
  expect_matches(read_state_dict(path), rows, "resnet18");
  std::remove(path.c_str());
}

TEST(Checkpoint, Sha256MatchesCoreutils) {
  const std::string path = kFixtures + "views.pt";
  int status = 0;
  const std::string out = run("sha256sum '" + path + "'", &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(sha256_file(path), out.substr(0, 64));
  EXPECT_EQ(sha256_file(kFixtures + "empty.pt"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THROW(sha256_file(kFixtures + "no_such_file.pt"), CheckpointError);
}

}  // namespace
}  // namespace qsweep::models
