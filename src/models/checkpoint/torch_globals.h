// What torch.save's globals and persistent ids mean to the pickle VM (torch_unpickler.cpp):
// dicts, storages and tensor views, each checked against what it declares; every other global
// stays an opaque object that is kept and never interpreted. Internal to src/models.
#pragma once

#include <string>

#include "models/checkpoint/torch_unpickler.h"

namespace qsweep::models {

// What the VM lends these functions: bounded value creation, and failure at the current opcode.
class PickleBuilder {
 public:
  explicit PickleBuilder(PickleArena& arena) : arena_(arena) {}
  virtual ~PickleBuilder() = default;
  virtual PickleValue* make(PickleKind kind) = 0;
  [[noreturn]] virtual void fail(const std::string& what) const = 0;
  PickleArena& arena() { return arena_; }

 private:
  PickleArena& arena_;
};

// REDUCE: callable(*args). Dict types become dicts, tensor rebuilds become checked tensor specs.
PickleValue* call_global(PickleBuilder& b, PickleValue* callable, PickleValue* args);
// NEWOBJ(_EX): cls.__new__(cls, *args).
PickleValue* new_object(PickleBuilder& b, PickleValue* cls, PickleValue* args);
// BINPERSID: ('storage', type, key, location, numel[, view]) becomes a storage spec.
PickleValue* load_persistent(PickleBuilder& b, PickleValue* pid);

}  // namespace qsweep::models
