// torch.save's globals (torch_globals.h): the only place the pickle VM's values get a meaning.
#include "models/checkpoint/torch_globals.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>
#include <unordered_map>
#include <vector>

#include "models/checkpoint/checkpoint.h"

namespace qsweep::models {
namespace {

// Largest tensor view accepted (elements); views with zero strides may exceed their storage, but
// not this.
constexpr int64_t kMaxViewNumel = int64_t{1} << 50;
constexpr size_t kMaxDims = 64;

// The storage classes torch.save names in persistent ids (torch.cuda.* in GPU checkpoints, read to
// the CPU as map_location='cpu' would).
bool storage_dtype(const std::string& global, at::ScalarType* out) {
  static const std::unordered_map<std::string, at::ScalarType> kTypes = {
      {"FloatStorage", at::kFloat},       {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
      {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong},     {"IntStorage", at::kInt},
      {"ShortStorage", at::kShort},       {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
      {"BoolStorage", at::kBool}};
  std::string name;
  if (global.rfind("torch.cuda.", 0) == 0) {
    name = global.substr(11);
  } else if (global.rfind("torch.", 0) == 0) {
    name = global.substr(6);
  } else {
    return false;
  }
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return false;
  *out = it->second;
  return true;
}

bool is_dict_type(const std::string& g) {
  return g == "collections.OrderedDict" || g == "builtins.dict" || g == "__builtin__.dict";
}
bool is_rebuild_tensor(const std::string& g) {
  return g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor";
}


class Globals {
 public:
  explicit Globals(PickleBuilder& b) : b_(b), arena_(b.arena()) {}

  PickleValue* opaque(PickleValue* callable, PickleValue* args) {
    PickleValue* v = make(PickleKind::kObject);
    v->callable = callable;
    v->args = args;
    return v;
  }

  PickleValue* newobj(PickleValue* cls, PickleValue* args) {
    if (cls->kind == PickleKind::kGlobal && is_dict_type(cls->s)) return make(PickleKind::kDict);
    return opaque(cls, args);
  }

  PickleValue* call(PickleValue* callable, PickleValue* args) {
    if (callable->kind != PickleKind::kGlobal || args->kind != PickleKind::kTuple) return opaque(callable, args);
    const std::string& g = callable->s;
    const auto& a = args->items;
    if (is_dict_type(g)) {
      PickleValue* d = make(PickleKind::kDict);
      if (!a.empty() && a[0]->kind == PickleKind::kDict) d->entries = a[0]->entries;
      if (!a.empty() && (a[0]->kind == PickleKind::kList || a[0]->kind == PickleKind::kTuple)) {
        for (PickleValue* p : a[0]->items) {
          if (p->kind == PickleKind::kTuple && p->items.size() == 2) d->entries.emplace_back(p->items[0], p->items[1]);
        }
      }
      return d;
    }
    if (is_rebuild_tensor(g)) return rebuild_tensor(args);
    if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != PickleKind::kTensor) fail(fmt::format("{} without a tensor argument", g));
      return a[0];
    }
    // A tensor with Python attributes: (func, type, func_args, state); the attributes are dropped.
    if ((g == "torch._tensor._rebuild_from_type_v2" || g == "torch._tensor._rebuild_from_type") && a.size() >= 3 &&
        a[0]->kind == PickleKind::kGlobal && is_rebuild_tensor(a[0]->s) && a[2]->kind == PickleKind::kTuple) {
      return rebuild_tensor(a[2]);
    }
    return opaque(callable, args);
  }

  static bool int_list(const PickleValue* v, std::vector<int64_t>* out) {
    if (v->kind != PickleKind::kTuple && v->kind != PickleKind::kList) return false;
    for (const PickleValue* x : v->items) {
      if (x->kind != PickleKind::kInt) return false;
      out->push_back(x->i);
    }
    return true;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  // and the pre-0.4 _rebuild_tensor(storage, storage_offset, size, stride).
  PickleValue* rebuild_tensor(PickleValue* args) {
    const auto& a = args->items;
    if (a.size() < 4) fail("tensor rebuild with fewer than 4 arguments");
    if (a[0]->kind != PickleKind::kStorage) fail("tensor rebuild whose first argument is not a storage");
    if (a[1]->kind != PickleKind::kInt) fail("tensor rebuild with a non-integer storage offset");
    TensorSpec t;
    t.storage = a[0]->spec;
    t.offset = a[1]->i;
    if (!int_list(a[2], &t.sizes) || !int_list(a[3], &t.strides)) fail("tensor size/stride is not a tuple of ints");
    const StorageSpec& st = arena_.storages[static_cast<size_t>(t.storage)];
    auto shape = [&] {
      return fmt::format("size ({}) stride ({}) offset {}", fmt::join(t.sizes, ", "), fmt::join(t.strides, ", "),
                         t.offset);
    };
    if (t.sizes.size() != t.strides.size() || t.sizes.size() > kMaxDims) fail(fmt::format("bad tensor {}", shape()));
    int64_t numel = 1, last = 0;
    bool empty = false;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      if (t.sizes[d] < 0 || t.strides[d] < 0) fail(fmt::format("negative tensor {}", shape()));
      if (t.sizes[d] == 0) empty = true;
    }
    for (size_t d = 0; d < t.sizes.size() && !empty; ++d) {
      int64_t span = 0;
      if (__builtin_mul_overflow(t.sizes[d], numel, &numel) || numel > kMaxViewNumel ||
          __builtin_mul_overflow(t.sizes[d] - 1, t.strides[d], &span) || __builtin_add_overflow(last, span, &last)) {
        fail(fmt::format("tensor {} is too large", shape()));
      }
    }
    int64_t needed = 0;  // elements of the storage the view reaches
    if (t.offset < 0 ||
        (empty ? __builtin_add_overflow(t.offset, 0, &needed) : __builtin_add_overflow(t.offset, last + 1, &needed))) {
      fail(fmt::format("bad tensor {}", shape()));
    }
    if (needed > st.numel) {
      fail(fmt::format("tensor {} exceeds its storage '{}' ({} elements, the view needs {})", shape(), st.key, st.numel,
                       needed));
    }
    PickleValue* v = make(PickleKind::kTensor);
    v->spec = static_cast<int32_t>(arena_.tensors.size());
    arena_.tensors.push_back(std::move(t));
    return v;
  }

  int32_t add_storage(StorageSpec s) {
    auto it = arena_.storage_by_key.find(s.key);
    if (it != arena_.storage_by_key.end()) {
      const StorageSpec& old = arena_.storages[static_cast<size_t>(it->second)];
      if (old.dtype != s.dtype || old.numel != s.numel || old.root_key != s.root_key ||
          old.root_offset != s.root_offset) {
        fail(fmt::format("storage '{}' is declared twice differently ({} x {} vs {} x {})", s.key, old.numel,
                         c10::toString(old.dtype), s.numel, c10::toString(s.dtype)));
      }
      return it->second;
    }
    const auto idx = static_cast<int32_t>(arena_.storages.size());
    arena_.storage_by_key.emplace(s.key, idx);
    arena_.storages.push_back(std::move(s));
    return idx;
  }

  // ('storage', storage_type, key, location, numel[, view_metadata]); ('module', type, file, source)
  // in legacy files that pickled whole modules.
  PickleValue* persistent_load(PickleValue* pid) {
    if (pid->kind != PickleKind::kTuple || pid->items.empty() || pid->items[0]->kind != PickleKind::kString) {
      fail("persistent id is not a tuple starting with a string");
    }
    const auto& a = pid->items;
    if (a[0]->s == "module" && a.size() >= 2) return a[1];
    if (a[0]->s != "storage") fail(fmt::format("unsupported persistent id '{}'", a[0]->s));
    if (a.size() != 5 && a.size() != 6) fail("storage persistent id with the wrong number of fields");
    StorageSpec s;
    if (a[1]->kind != PickleKind::kGlobal || !storage_dtype(a[1]->s, &s.dtype)) {
      fail(fmt::format("unsupported storage type '{}'", pickle_type_name(a[1])));
    }
    if (a[2]->kind != PickleKind::kString) fail("storage key is not a string");
    if (a[4]->kind != PickleKind::kInt || a[4]->i < 0 ||
        a[4]->i > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(storage_element_size(s.dtype))) {
      fail("storage size is not a valid element count");
    }
    s.key = s.root_key = a[2]->s;
    s.numel = s.root_numel = a[4]->i;
    const int32_t root = add_storage(s);
    if (a.size() == 6 && a[5]->kind != PickleKind::kNone) {
      // Legacy storage view: (view_key, offset, numel) inside the root storage.
      const PickleValue* m = a[5];
      if (m->kind != PickleKind::kTuple || m->items.size() != 3 || m->items[0]->kind != PickleKind::kString ||
          m->items[1]->kind != PickleKind::kInt || m->items[2]->kind != PickleKind::kInt) {
        fail("malformed storage view metadata");
      }
      const int64_t off = m->items[1]->i, n = m->items[2]->i;
      if (off < 0 || n < 0 || off > s.root_numel || n > s.root_numel - off) {
        fail(fmt::format("storage view [{}, +{}) outside storage '{}' of {} elements", off, n, s.key, s.root_numel));
      }
      StorageSpec view = s;
      view.key = m->items[0]->s;
      view.root_offset = off;
      view.numel = n;
      PickleValue* v = make(PickleKind::kStorage);
      v->spec = add_storage(std::move(view));
      return v;
    }
    PickleValue* v = make(PickleKind::kStorage);
    v->spec = root;
    return v;
  }


 private:
  PickleValue* make(PickleKind kind) { return b_.make(kind); }
  // g++ does not carry [[noreturn]] through a virtual call (it warns "does return").
  [[noreturn]] void fail(const std::string& what) const {
    b_.fail(what);
    __builtin_unreachable();
  }

  PickleBuilder& b_;
  PickleArena& arena_;
};

}  // namespace

PickleValue* call_global(PickleBuilder& b, PickleValue* callable, PickleValue* args) {
  return Globals(b).call(callable, args);
}
PickleValue* new_object(PickleBuilder& b, PickleValue* cls, PickleValue* args) { return Globals(b).newobj(cls, args); }
PickleValue* load_persistent(PickleBuilder& b, PickleValue* pid) { return Globals(b).persistent_load(pid); }

}  // namespace qsweep::models
