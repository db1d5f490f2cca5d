// read_state_dict: format detection, storages, tensor views, and unwrapping to the state dict.
//
// Zip format (torch.save since 1.6): <archive>/data.pkl holds the pickled object whose persistent
// ids name storages <archive>/data/<key>; <archive>/byteorder (torch >= 2.1) must say "little".
// Legacy format: five pickles in a row -- magic number 0x1950a86a20f9469cfc6c, protocol 1001,
// sys_info, the object, the sorted storage keys -- then per key an int64 element count and the
// raw bytes. Only storages that a selected tensor uses are copied out of the file.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "models/checkpoint/checkpoint.h"
#include "models/checkpoint/input_file.h"
#include "models/checkpoint/torch_unpickler.h"
#include "models/checkpoint/zip_archive.h"

namespace qsweep::models {
namespace {

// Keys under which training scripts nest the state dict, tried in this order.
const char* const kWrapperKeys[] = {"state_dict", "model_state_dict", "model", "module", "net"};
constexpr int kMaxWrapperDepth = 8;
const std::string kModulePrefix = "module.";

// The selected state dict before tensors exist: (name, tensor value), file order, names unique.
using Selection = std::vector<std::pair<std::string, const PickleValue*>>;

bool is_text(const PickleValue* v) { return v->kind == PickleKind::kString || v->kind == PickleKind::kBytes; }
bool dict_like(const PickleValue* v) {
  return v->kind == PickleKind::kDict || (v->kind == PickleKind::kObject && !v->entries.empty());
}

std::string describe(const PickleValue* v) {
  switch (v->kind) {
    case PickleKind::kNone:
      return "None";
    case PickleKind::kBool:
    case PickleKind::kInt:
    case PickleKind::kBigInt:
      return "an int";
    case PickleKind::kFloat:
      return "a float";
    case PickleKind::kString:
    case PickleKind::kBytes:
      return "a string";
    case PickleKind::kTuple:
      return "a tuple";
    case PickleKind::kList:
      return "a list";
    case PickleKind::kDict:
      return "a dict";
    case PickleKind::kSet:
      return "a set";
    case PickleKind::kGlobal:
      return fmt::format("the class {}", v->s);
    case PickleKind::kObject: {
      const std::string t = pickle_type_name(v);
      return t.empty() ? "an object" : fmt::format("a {} object", t);
    }
    case PickleKind::kStorage:
      return "a storage";
    case PickleKind::kTensor:
      return "a tensor";
  }
  return "?";
}

// The value of the last entry with this string key (Python dict semantics: a repeated key updates).
const PickleValue* lookup(const PickleValue* d, const std::string& key) {
  const PickleValue* found = nullptr;
  for (const auto& [k, v] : d->entries) {
    if (is_text(k) && k->s == key) found = v;
  }
  return found;
}

class Selector {
 public:
  explicit Selector(const std::string& path) : path_(path) {}

  Selection select(const PickleValue* root) {
    if (!dict_like(root)) {
      throw CheckpointError(
          fmt::format("{}: the checkpoint holds {}, expected a dict of tensors", path_, describe(root)));
    }
    Selection s = find(root, 0);
    if (s.empty()) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : root->entries) {
        if (keys.size() < 12) keys.push_back(is_text(k) ? "'" + k->s + "'" : describe(k));
      }
      throw CheckpointError(fmt::format("{}: no tensors found (top-level keys: {}){}", path_,
                                        keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", ")), hint_));
    }
    return strip_module_prefix(std::move(s));
  }

 private:
  Selection find(const PickleValue* d, int depth) {
    if (depth > kMaxWrapperDepth) {
      throw CheckpointError(fmt::format("{}: state dict wrappers nested deeper than {}", path_, kMaxWrapperDepth));
    }
    for (const char* w : kWrapperKeys) {
      const PickleValue* inner = lookup(d, w);
      if (inner == nullptr) continue;
      if (dict_like(inner)) {
        Selection s = find(inner, depth + 1);
        if (!s.empty()) return s;
      } else if (inner->kind == PickleKind::kObject && hint_.empty()) {
        hint_ =
            fmt::format("; entry '{}' is {} (torch.save(model)?), save model.state_dict() instead", w, describe(inner));
      }
    }
    Selection s;
    std::unordered_map<std::string, size_t> index;
    for (const auto& [k, v] : d->entries) {
      const std::string type = pickle_type_name(v);
      if (v->kind == PickleKind::kObject && type.rfind("torch._utils._rebuild_", 0) == 0) {
        throw CheckpointError(
            fmt::format("{}: entry '{}' is a tensor rebuilt by {}, which qsweep does not read "
                        "(quantized, sparse or device-specific tensor)",
                        path_, is_text(k) ? k->s : describe(k), type));
      }
      if (v->kind != PickleKind::kTensor) continue;
      if (!is_text(k))
        throw CheckpointError(fmt::format("{}: a tensor is stored under {}, not a name", path_, describe(k)));
      auto [it, fresh] = index.emplace(k->s, s.size());
      if (fresh) {
        s.emplace_back(k->s, v);
      } else {
        s[it->second].second = v;
      }
    }
    return s;
  }

  Selection strip_module_prefix(Selection s) const {
    std::unordered_map<std::string, std::string> seen;  // stripped -> original
    for (auto& [name, v] : s) {
      const std::string original = name;
      if (name.rfind(kModulePrefix, 0) == 0) name.erase(0, kModulePrefix.size());
      auto [it, fresh] = seen.emplace(name, original);
      if (!fresh) {
        throw CheckpointError(fmt::format("{}: entries '{}' and '{}' both become '{}' once 'module.' is stripped",
                                          path_, it->second, original, name));
      }
    }
    return s;
  }

  const std::string& path_;
  std::string hint_;
};

// Builds the tensors of a selection; load_root(spec) returns the 1-D tensor of a root storage.
template <class LoadRoot>
StateDict materialize(const std::string& path, const PickleArena& arena, const Selection& sel, LoadRoot load_root) {
  std::unordered_map<std::string, at::Tensor> roots;
  StateDict sd;
  sd.reserve(sel.size());
  for (const auto& [name, v] : sel) {
    const TensorSpec& t = arena.tensors.at(static_cast<size_t>(v->spec));
    const StorageSpec& st = arena.storages.at(static_cast<size_t>(t.storage));
    auto it = roots.find(st.root_key);
    if (it == roots.end()) {
      const StorageSpec& root = arena.storages.at(static_cast<size_t>(arena.storage_by_key.at(st.root_key)));
      it = roots.emplace(st.root_key, load_root(root)).first;
    }
    try {
      sd.emplace_back(name, it->second.as_strided(t.sizes, t.strides, st.root_offset + t.offset));
    } catch (const c10::Error& e) {
      throw CheckpointError(fmt::format("{}: tensor '{}': {}", path, name, e.what_without_backtrace()));
    }
  }
  return sd;
}

// A bool storage with bytes other than 0/1 would make ATen's bool kernels misbehave.
void check_storage_values(const std::string& path, const StorageSpec& s, const at::Tensor& t) {
  if (s.dtype != at::kBool) return;
  const auto* p = static_cast<const unsigned char*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (p[i] > 1) {
      throw CheckpointError(fmt::format("{}: bool storage '{}' holds byte {} at element {}", path, s.key, p[i], i));
    }
  }
}

StateDict read_zip(const InputFile& f) {
  const std::string& path = f.path();
  ZipReader zip(f);
  if (zip.entries().empty()) throw CheckpointError(fmt::format("{}: empty zip archive, not a torch.save file", path));
  // torch's reader takes the archive directory from the first entry; accept any single-level one.
  const std::string& first = zip.entries().front().name;
  std::string prefix = first.substr(0, first.find('/') + 1);
  const ZipEntry* pkl = zip.find(prefix + "data.pkl");
  if (pkl == nullptr) {
    for (const ZipEntry& e : zip.entries()) {
      const size_t slash = e.name.find('/');
      if (slash != std::string::npos && e.name.substr(slash + 1) == "data.pkl") {
        pkl = &e;
        prefix = e.name.substr(0, slash + 1);
        break;
      }
    }
  }
  if (pkl == nullptr) {
    const bool script = zip.find(prefix + "constants.pkl") != nullptr;
    throw CheckpointError(fmt::format(
        "{}: zip archive without <archive>/data.pkl: {}", path,
        script ? "a TorchScript module (torch.jit.save), not a torch.save state dict" : "not a torch.save file"));
  }
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    if (bo->size > 16 || zip.read_string(*bo) != "little") {
      throw CheckpointError(
          fmt::format("{}: entry '{}' is not \"little\"; big-endian checkpoints are not supported", path, bo->name));
    }
  }
  const std::string bytes = zip.read_string(*pkl);
  PickleArena arena;
  size_t end = 0;
  const PickleValue* root =
      unpickle(bytes.data(), bytes.size(), 0, arena, fmt::format("{}: entry '{}'", path, pkl->name), &end);
  const Selection sel = Selector(path).select(root);
  return materialize(path, arena, sel, [&](const StorageSpec& s) {
    const std::string name = prefix + "data/" + s.key;
    const ZipEntry* e = zip.find(name);
    if (e == nullptr)
      throw CheckpointError(fmt::format("{}: storage key '{}' missing (no entry '{}')", path, s.key, name));
    const uint64_t nbytes = static_cast<uint64_t>(s.root_numel) * storage_element_size(s.dtype);
    if (e->size != nbytes) {
      throw CheckpointError(fmt::format("{}: entry '{}' has {} bytes, its storage declares {} x {} = {} bytes", path,
                                        name, e->size, s.root_numel, c10::toString(s.dtype), nbytes));
    }
    at::Tensor t = at::empty({s.root_numel}, at::TensorOptions().dtype(s.dtype));
    zip.read(*e, t.data_ptr());
    check_storage_values(path, s, t);
    return t;
  });
}

// 0x1950a86a20f9469cfc6c as pickle's LONG1 writes it: little-endian two's complement.
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr int64_t kLegacyProtocol = 1001;

StateDict read_legacy(const InputFile& f) {
  const std::string& path = f.path();
  const std::string bytes = f.read_string(0, f.size(), "the file");
  PickleArena arena;
  size_t pos = 0;
  auto next = [&](const char* what) {
    return unpickle(bytes.data(), bytes.size(), pos, arena, fmt::format("{}: {}", path, what), &pos);
  };
  const PickleValue* magic = next("legacy header");
  if (magic->kind != PickleKind::kBigInt || magic->s != kLegacyMagic) {
    throw CheckpointError(
        fmt::format("{}: a pickle without torch.save's magic number: not a PyTorch checkpoint", path));
  }
  const PickleValue* proto = next("legacy header");
  if (proto->kind != PickleKind::kInt || proto->i != kLegacyProtocol) {
    throw CheckpointError(fmt::format("{}: legacy protocol version {} unsupported (expected {})", path,
                                      proto->kind == PickleKind::kInt ? std::to_string(proto->i) : describe(proto),
                                      kLegacyProtocol));
  }
  const PickleValue* sys_info = next("legacy sys_info");
  if (sys_info->kind != PickleKind::kDict)
    throw CheckpointError(fmt::format("{}: legacy sys_info is not a dict", path));
  const PickleValue* le = lookup(sys_info, "little_endian");
  if (le != nullptr && !(le->kind == PickleKind::kBool && le->i == 1)) {
    throw CheckpointError(fmt::format("{}: saved on a big-endian machine; not supported", path));
  }
  const PickleValue* root = next("legacy object pickle");
  const PickleValue* keys = next("legacy storage-key list");
  if (keys->kind != PickleKind::kList)
    throw CheckpointError(fmt::format("{}: legacy storage keys are not a list", path));

  // Storage data follows the key list, in the list's order: int64 element count, raw bytes.
  std::unordered_map<std::string, uint64_t> data_at;  // root key -> offset of its bytes
  for (const PickleValue* k : keys->items) {
    if (!is_text(k)) throw CheckpointError(fmt::format("{}: legacy storage key is not a string", path));
    auto it = arena.storage_by_key.find(k->s);
    if (it == arena.storage_by_key.end() || arena.storages[static_cast<size_t>(it->second)].root_key != k->s) {
      throw CheckpointError(fmt::format("{}: legacy storage '{}' is listed but no tensor declares it", path, k->s));
    }
    const StorageSpec& s = arena.storages[static_cast<size_t>(it->second)];
    if (bytes.size() - pos < 8) {
      throw CheckpointError(fmt::format("{}: truncated: storage '{}' size missing at offset {}", path, k->s, pos));
    }
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);  // little-endian, as checked above
    if (numel != s.root_numel) {
      throw CheckpointError(fmt::format("{}: storage '{}' at offset {} has {} elements, the pickle declared {}", path,
                                        k->s, pos, numel, s.root_numel));
    }
    pos += 8;
    const uint64_t nbytes = static_cast<uint64_t>(numel) * storage_element_size(s.dtype);
    if (nbytes > bytes.size() - pos) {
      throw CheckpointError(fmt::format("{}: truncated: storage '{}' needs {} bytes at offset {}, the file has {}",
                                        path, k->s, nbytes, pos, bytes.size() - pos));
    }
    data_at[k->s] = pos;
    pos += nbytes;
  }
  const Selection sel = Selector(path).select(root);
  return materialize(path, arena, sel, [&](const StorageSpec& s) {
    auto it = data_at.find(s.key);
    if (it == data_at.end()) {
      throw CheckpointError(fmt::format("{}: storage key '{}' missing from the legacy storage list", path, s.key));
    }
    at::Tensor t = at::empty({s.root_numel}, at::TensorOptions().dtype(s.dtype));
    if (t.nbytes() > 0) std::memcpy(t.data_ptr(), bytes.data() + it->second, static_cast<size_t>(t.nbytes()));
    check_storage_values(path, s, t);
    return t;
  });
}

}  // namespace

StateDict read_state_dict(const std::string& path) {
  try {
    InputFile f(path);
    if (f.size() == 0) throw CheckpointError(fmt::format("{}: empty file, not a PyTorch checkpoint", path));
    const std::string head = f.read_string(0, std::min<uint64_t>(f.size(), 512), "the header");
    if (looks_like_zip(head)) return read_zip(f);
    if (static_cast<unsigned char>(head[0]) == 0x80) return read_legacy(f);
    if (head.size() >= 262 && head.compare(257, 5, "ustar") == 0) {
      throw CheckpointError(fmt::format("{}: a tar archive (PyTorch < 0.4 checkpoint); not supported", path));
    }
    std::string first;
    for (size_t i = 0; i < std::min<size_t>(head.size(), 8); ++i) {
      first += fmt::format("{:02x}", static_cast<unsigned char>(head[i]));
    }
    throw CheckpointError(
        fmt::format("{}: not a PyTorch checkpoint: neither a zip archive nor a pickle stream "
                    "(starts with {})",
                    path, first));
  } catch (const CheckpointError&) {
    throw;
  } catch (const c10::Error& e) {
    throw CheckpointError(fmt::format("{}: {}", path, e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw CheckpointError(fmt::format("{}: out of memory while reading the checkpoint", path));
  }
}

}  // namespace qsweep::models
