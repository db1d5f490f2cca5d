// write_state_dict: LibTorch's own PyTorchStreamWriter (the zip writer behind Python's torch.save,
// so entry layout, 64-byte alignment and the version record are torch's) around a protocol-2
// pickle written here. The pickle holds a plain dict rather than an OrderedDict: Python's dicts
// keep insertion order, and LibTorch's torch::pickle_load reads a plain dict but not an OrderedDict.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "models/checkpoint/checkpoint.h"

namespace qsweep::models {
namespace {

const char* storage_class(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return "FloatStorage";
    case at::kDouble:
      return "DoubleStorage";
    case at::kHalf:
      return "HalfStorage";
    case at::kBFloat16:
      return "BFloat16Storage";
    case at::kLong:
      return "LongStorage";
    case at::kInt:
      return "IntStorage";
    case at::kShort:
      return "ShortStorage";
    case at::kChar:
      return "CharStorage";
    case at::kByte:
      return "ByteStorage";
    case at::kBool:
      return "BoolStorage";
    default:
      return nullptr;
  }
}

// Just the opcodes a state dict needs (Lib/pickle.py names).
class PickleWriter {
 public:
  void op(char c) { out_.push_back(c); }
  void global(const char* module, const char* name) { out_ += fmt::format("c{}\n{}\n", module, name); }
  void text(const std::string& s) {
    op('X');
    le(s.size(), 4);
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint64_t>(v), 4);
    } else {
      op('\x8a');  // LONG1, 8 bytes of two's complement
      le(8, 1);
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void int_tuple(at::IntArrayRef xs) {
    op('(');
    for (int64_t x : xs) integer(x);
    op('t');
  }
  std::string& bytes() { return out_; }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t j = 1; j < n; ++j) {
      if ((static_cast<unsigned char>(s[i + j]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void write_state_dict(const std::string& path, const StateDict& sd) {
  // Validate everything before the first byte is written.
  std::vector<at::Tensor> data;
  std::unordered_set<std::string> names;
  for (const auto& [name, t] : sd) {
    if (!names.insert(name).second) throw CheckpointError(fmt::format("{}: duplicate tensor name '{}'", path, name));
    if (!valid_utf8(name)) throw CheckpointError(fmt::format("{}: tensor name '{}' is not valid UTF-8", path, name));
    if (!t.defined()) throw CheckpointError(fmt::format("{}: tensor '{}' is undefined", path, name));
    if (t.layout() != at::kStrided || t.is_quantized() || storage_class(t.scalar_type()) == nullptr) {
      throw CheckpointError(fmt::format("{}: tensor '{}' ({}, {}) cannot be written; dense float/int/bool tensors can",
                                        path, name, c10::toString(t.scalar_type()),
                                        t.is_quantized() ? "quantized"
                                        : t.is_sparse()  ? "sparse"
                                                         : "strided"));
    }
    data.push_back(t.detach().to(at::kCPU).contiguous());
  }

  PickleWriter p;
  p.op('\x80');
  p.op('\x02');
  p.op('}');
  if (!sd.empty()) p.op('(');
  for (size_t i = 0; i < sd.size(); ++i) {
    const at::Tensor& t = data[i];
    p.text(sd[i].first);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', torch.<Type>Storage, key, location, numel)
    p.text("storage");
    p.global("torch", storage_class(t.scalar_type()));
    p.text(std::to_string(i));
    p.text("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');                            // requires_grad False
    p.global("collections", "OrderedDict");  // backward hooks: OrderedDict()
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  if (!sd.empty()) p.op('u');
  p.op('.');

  // Written next to the target and renamed over it, so readers never see half a checkpoint.
  const std::string tmp = fmt::format("{}.partial{}", path, ::getpid());
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  if (!file) throw CheckpointError(fmt::format("{}: cannot create {}: {}", path, tmp, std::strerror(errno)));
  int write_errno = 0;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      if (n == 0) return 0;  // miniz passes empty records with a null buffer
      const size_t w = std::fwrite(buf, 1, n, file.get());
      if (w != n && write_errno == 0) write_errno = errno;
      return w;
    });
    writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
    writer.writeRecord("byteorder", "little", 6);
    for (size_t i = 0; i < data.size(); ++i) {
      writer.writeRecord("data/" + std::to_string(i), data[i].data_ptr(), data[i].nbytes());
    }
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    file.reset();
    std::remove(tmp.c_str());
    throw CheckpointError(fmt::format("{}: writing failed: {}{}", path, write_errno ? std::strerror(write_errno) : "",
                                      write_errno ? "" : e.what_without_backtrace()));
  }
  const bool ok = std::fflush(file.get()) == 0 && ::fsync(::fileno(file.get())) == 0;
  const int err = errno;
  if (std::fclose(file.release()) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw CheckpointError(fmt::format("{}: writing failed: {}", path, std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(tmp.c_str());
    throw CheckpointError(fmt::format("{}: cannot rename {} into place: {}", path, tmp, std::strerror(rename_errno)));
  }
}

}  // namespace qsweep::models
