// A bounded pickle VM for the objects torch.save writes (pickle protocols 2-5), and nothing more.
//
//   PickleArena arena;
//   size_t end = 0;
//   const PickleValue* root = unpickle(bytes.data(), bytes.size(), 0, arena, "f.pt: entry 'a/data.pkl'", &end);
//
// It knows the globals on the path to a tensor: collections.OrderedDict and dict become dicts,
// torch.*Storage persistent ids become storage specs, torch._utils._rebuild_tensor(_v2),
// _rebuild_parameter and torch._tensor._rebuild_from_type_v2 become tensor specs whose view is
// checked against the storage's declared size. Every other global is opaque: calling or building
// it gives an object that is kept (its dict items too) but never interpreted, so a checkpoint's
// 'optimizer' or 'args' entries cost nothing. No Python code runs; nothing is imported.
//
// Values live in the arena and point at each other with raw pointers: a malicious pickle may build
// cycles or million-deep nesting, and the arena frees them flat, without recursion. The number of
// values is capped, and each opcode's operands are bounds-checked against the buffer.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qsweep::models {

enum class PickleKind : uint8_t {
  kNone,
  kBool,
  kInt,
  kBigInt,
  kFloat,
  kString,
  kBytes,
  kTuple,
  kList,
  kDict,
  kSet,
  kGlobal,   // s = "module.name"
  kObject,   // an opaque call or instance: callable, args, state
  kStorage,  // spec indexes PickleArena::storages
  kTensor,   // spec indexes PickleArena::tensors
};

struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  int64_t i = 0;                    // kBool, kInt
  double f = 0;                     // kFloat
  std::string s;                    // kString, kBytes, kBigInt (little-endian two's complement), kGlobal
  std::vector<PickleValue*> items;  // kTuple, kList, kSet; kObject appends
  std::vector<std::pair<PickleValue*, PickleValue*>> entries;  // kDict; kObject setitems (dict subclasses)
  PickleValue* callable = nullptr;                             // kObject
  PickleValue* args = nullptr;                                 // kObject
  PickleValue* state = nullptr;                                // kObject (BUILD)
  int32_t spec = -1;                                           // kStorage, kTensor
};

// A storage as its persistent id declares it: ('storage', torch.FloatStorage, key, location, numel
// [, view_metadata]). A legacy view (view_key, offset, numel) is a slice of the root storage `key`.
struct StorageSpec {
  std::string key;  // the zip entry data/<key> or the legacy storage key; for a view, the view key
  at::ScalarType dtype = at::kFloat;
  int64_t numel = 0;     // elements of the storage (the view's numel for a view)
  std::string root_key;  // == key unless a legacy view
  int64_t root_offset = 0;
  int64_t root_numel = 0;
};

struct TensorSpec {
  int32_t storage = -1;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

class PickleArena {
 public:
  PickleValue* make(PickleKind kind);
  size_t size() const { return values_.size(); }

  std::vector<StorageSpec> storages;
  std::unordered_map<std::string, int32_t> storage_by_key;
  std::vector<TensorSpec> tensors;

 private:
  std::vector<std::unique_ptr<PickleValue>> values_;
};

// Most values (and stack/memo entries) one pickle may create: a state dict needs about 20 per
// tensor, so this admits ~50k tensors while capping a hostile pickle at ~150 MB of values.
inline constexpr size_t kMaxPickleValues = size_t{1} << 20;

// Runs the pickle starting at data[start] up to its STOP; *end is set past the STOP. `where`
// prefixes every error message. Throws CheckpointError.
const PickleValue* unpickle(const char* data, size_t size, size_t start, PickleArena& arena, const std::string& where,
                            size_t* end);

// Dotted name of a kGlobal, or of the callable of a kObject ("" otherwise); for error messages.
std::string pickle_type_name(const PickleValue* v);

// Bytes of one element of the storage dtypes torch.save writes.
size_t storage_element_size(at::ScalarType t);

}  // namespace qsweep::models
