// The opcodes are those of Python's Lib/pickle.py (protocols 2-5) minus the text forms of protocols
// 0-1, which torch.save never emits. The mark stack follows Python 3 (a MARK starts a new frame of
// the stack; popping below it is an underflow), so a pickle Python refuses is refused here too.
#include "models/checkpoint/torch_unpickler.h"

#include <fmt/format.h>

#include <cstring>

#include "models/checkpoint/checkpoint.h"
#include "models/checkpoint/torch_globals.h"

namespace qsweep::models {

PickleValue* PickleArena::make(PickleKind kind) {
  values_.push_back(std::make_unique<PickleValue>());
  values_.back()->kind = kind;
  return values_.back().get();
}

size_t storage_element_size(at::ScalarType t) { return c10::elementSize(t); }

std::string pickle_type_name(const PickleValue* v) {
  if (v == nullptr) return "";
  if (v->kind == PickleKind::kGlobal) return v->s;
  if (v->kind == PickleKind::kObject && v->callable && v->callable->kind == PickleKind::kGlobal) return v->callable->s;
  return "";
}

namespace {

constexpr size_t kMaxLine = 4096;

class Machine : public PickleBuilder {
 public:
  Machine(const char* data, size_t size, size_t pos, PickleArena& arena, const std::string& where)
      : PickleBuilder(arena), data_(data), size_(size), pos_(pos), arena_(arena), where_(where) {}

  const PickleValue* run(size_t* end) {
    while (true) {
      op_offset_ = pos_;
      if (pos_ >= size_) fail("truncated pickle: no STOP opcode before the end of the data");
      const auto op = static_cast<unsigned char>(data_[pos_++]);
      switch (op) {
        case 0x80: {  // PROTO
          const unsigned v = u8();
          if (v > 5) fail(fmt::format("pickle protocol {} is not supported (2-5 are)", v));
          break;
        }
        case 0x95:
          u64();
          break;     // FRAME: a length hint; the data is already in memory
        case '.': {  // STOP
          PickleValue* v = pop();
          *end = pos_;
          return v;
        }
        case '(':
          if (marks_.size() >= kMaxPickleValues) fail("too many MARKs");
          marks_.push_back(stack_.size());
          break;
        case ')':
          push(make(PickleKind::kTuple));
          break;
        case ']':
          push(make(PickleKind::kList));
          break;
        case '}':
          push(make(PickleKind::kDict));
          break;
        case 0x8f:
          push(make(PickleKind::kSet));
          break;  // EMPTY_SET
        case 't':
        case 'l':
        case 0x91: {  // TUPLE, LIST, FROZENSET
          const size_t k = pop_mark();
          PickleValue* v = make(op == 't' ? PickleKind::kTuple : op == 'l' ? PickleKind::kList : PickleKind::kSet);
          v->items.assign(stack_.begin() + k, stack_.end());
          stack_.resize(k);
          push(v);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1-3
          const size_t n = op - 0x84u;
          if (stack_.size() < floor() + n) underflow();
          PickleValue* v = make(PickleKind::kTuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(v);
          break;
        }
        case 'd': {  // DICT
          const size_t k = pop_mark();
          if ((stack_.size() - k) % 2) fail("DICT with an odd number of items");
          PickleValue* v = make(PickleKind::kDict);
          for (size_t j = k; j < stack_.size(); j += 2) v->entries.emplace_back(stack_[j], stack_[j + 1]);
          stack_.resize(k);
          push(v);
          break;
        }
        case 'a': {  // APPEND
          PickleValue* v = pop();
          append_to(top(), &v, 1);
          break;
        }
        case 'e':
        case 0x90: {  // APPENDS, ADDITEMS
          const size_t k = pop_mark();
          if (k <= floor()) underflow();
          append_to(stack_[k - 1], stack_.data() + k, stack_.size() - k);
          stack_.resize(k);
          break;
        }
        case 's': {  // SETITEM
          PickleValue* v = pop();
          PickleValue* key = pop();
          setitem(top(), key, v);
          break;
        }
        case 'u': {  // SETITEMS
          const size_t k = pop_mark();
          if (k <= floor()) underflow();
          if ((stack_.size() - k) % 2) fail("SETITEMS with an odd number of items");
          for (size_t j = k; j < stack_.size(); j += 2) setitem(stack_[k - 1], stack_[j], stack_[j + 1]);
          stack_.resize(k);
          break;
        }
        case 'K':
          push_int(u8());
          break;  // BININT1
        case 'M':
          push_int(u16());
          break;  // BININT2
        case 'J':
          push_int(static_cast<int32_t>(u32()));
          break;  // BININT
        case 0x8a:
          push_long(u8());
          break;      // LONG1
        case 0x8b: {  // LONG4
          const auto n = static_cast<int32_t>(u32());
          if (n < 0) fail("LONG4 with a negative length");
          push_long(static_cast<uint64_t>(n));
          break;
        }
        case 'X':
          push_text(PickleKind::kString, u32());
          break;  // BINUNICODE
        case 0x8c:
          push_text(PickleKind::kString, u8());
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push_text(PickleKind::kString, u64());
          break;  // BINUNICODE8
        case 'U':
          push_text(PickleKind::kString, u8());
          break;     // SHORT_BINSTRING (Python 2 str)
        case 'T': {  // BINSTRING
          const auto n = static_cast<int32_t>(u32());
          if (n < 0) fail("BINSTRING with a negative length");
          push_text(PickleKind::kString, static_cast<uint64_t>(n));
          break;
        }
        case 'C':
          push_text(PickleKind::kBytes, u8());
          break;  // SHORT_BINBYTES
        case 'B':
          push_text(PickleKind::kBytes, u32());
          break;  // BINBYTES
        case 0x8e:
        case 0x96:
          push_text(PickleKind::kBytes, u64());
          break;     // BINBYTES8, BYTEARRAY8
        case 'G': {  // BINFLOAT, big-endian
          const unsigned char* b = reinterpret_cast<const unsigned char*>(need(8));
          uint64_t bits = 0;
          for (int j = 0; j < 8; ++j) bits = (bits << 8) | b[j];
          PickleValue* v = make(PickleKind::kFloat);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'N':
          push(make(PickleKind::kNone));
          break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          PickleValue* v = make(PickleKind::kBool);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = line();
          std::string name = line();
          push_global(module, name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          PickleValue* name = pop();
          PickleValue* module = pop();
          if (module->kind != PickleKind::kString || name->kind != PickleKind::kString) {
            fail("STACK_GLOBAL needs two strings");
          }
          push_global(module->s, name->s);
          break;
        }
        case 'R': {  // REDUCE
          PickleValue* args = pop();
          PickleValue* callable = pop();
          push(call_global(*this, callable, args));
          break;
        }
        case 0x81: {  // NEWOBJ
          PickleValue* args = pop();
          PickleValue* cls = pop();
          push(new_object(*this, cls, args));
          break;
        }
        case 0x92: {  // NEWOBJ_EX
          pop();      // kwargs
          PickleValue* args = pop();
          PickleValue* cls = pop();
          push(new_object(*this, cls, args));
          break;
        }
        case 'o': {  // OBJ
          const size_t k = pop_mark();
          if (k == stack_.size()) fail("OBJ without a class");
          PickleValue* args = make(PickleKind::kTuple);
          args->items.assign(stack_.begin() + k + 1, stack_.end());
          PickleValue* cls = stack_[k];
          stack_.resize(k);
          push(new_object(*this, cls, args));
          break;
        }
        case 'b': {  // BUILD: only opaque objects keep their state; dicts (OrderedDict._metadata) and
                     // tensors (Parameter attributes) need none of it
          PickleValue* state = pop();
          PickleValue* obj = top();
          if (obj->kind == PickleKind::kObject && obj->state == nullptr) obj->state = state;
          break;
        }
        case 'q':
          memo_put(u8());
          break;  // BINPUT
        case 'r':
          memo_put(u32());
          break;  // LONG_BINPUT
        case 0x94:
          memo_put(memo_.size());
          break;  // MEMOIZE
        case 'h':
          push(memo_get(u8()));
          break;  // BINGET
        case 'j':
          push(memo_get(u32()));
          break;  // LONG_BINGET
        case 'Q':
          push(load_persistent(*this, pop()));
          break;   // BINPERSID
        case '0':  // POP: with nothing above the mark, Python pops the mark itself
          if (stack_.size() > floor()) {
            stack_.pop_back();
          } else {
            pop_mark();
          }
          break;
        case '1':
          stack_.resize(pop_mark());
          break;  // POP_MARK
        case '2':
          push(top());
          break;  // DUP
        default:
          fail(fmt::format("unsupported pickle opcode 0x{:02x}{}", op,
                           op >= 0x20 && op < 0x7f ? fmt::format(" ('{}')", static_cast<char>(op)) : ""));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const override {
    throw CheckpointError(fmt::format("{}: {} at pickle offset {}", where_, what, op_offset_));
  }
  [[noreturn]] void underflow() const { fail("pickle stack underflow"); }

  const char* need(uint64_t n) {
    if (n > size_ - pos_) {
      fail(fmt::format("truncated pickle: opcode 0x{:02x} needs {} bytes, {} left",
                       static_cast<unsigned char>(data_[op_offset_]), n, size_ - pos_));
    }
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int n) {
    const auto* b = reinterpret_cast<const unsigned char*>(need(n));
    uint64_t v = 0;
    for (int j = n - 1; j >= 0; --j) v = (v << 8) | b[j];
    return v;
  }
  unsigned u8() { return static_cast<unsigned>(le(1)); }
  unsigned u16() { return static_cast<unsigned>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  std::string line() {
    const size_t limit = std::min(size_ - pos_, kMaxLine);
    const void* nl = std::memchr(data_ + pos_, '\n', limit);
    if (nl == nullptr) fail("GLOBAL without a newline-terminated name");
    std::string s(data_ + pos_, static_cast<const char*>(nl));
    pos_ += s.size() + 1;
    return s;
  }

  PickleValue* make(PickleKind kind) override {
    if (arena_.size() >= kMaxPickleValues) {
      fail(fmt::format("pickle builds more than {} values; refusing", kMaxPickleValues));
    }
    return arena_.make(kind);
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(PickleValue* v) {
    if (stack_.size() >= kMaxPickleValues) fail("pickle stack too deep");
    stack_.push_back(v);
  }
  PickleValue* pop() {
    if (stack_.size() <= floor()) underflow();
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleValue* top() const {
    if (stack_.size() <= floor()) underflow();
    return stack_.back();
  }
  size_t pop_mark() {
    if (marks_.empty()) fail("pickle opcode needs a MARK but none is set");
    const size_t k = marks_.back();
    marks_.pop_back();
    return k;
  }
  void memo_put(uint64_t idx) {
    PickleValue* v = top();
    if (memo_.size() >= kMaxPickleValues) fail("pickle memo too large");
    memo_[idx] = v;
  }
  PickleValue* memo_get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", idx));
    return it->second;
  }

  void push_int(int64_t i) {
    PickleValue* v = make(PickleKind::kInt);
    v->i = i;
    push(v);
  }
  // Little-endian two's complement of n bytes; wider than 64 bits stays raw (the legacy magic).
  void push_long(uint64_t n) {
    const char* b = need(n);
    if (n > 8) {
      PickleValue* v = make(PickleKind::kBigInt);
      v->s.assign(b, n);
      push(v);
      return;
    }
    uint64_t u = 0;
    for (uint64_t j = n; j-- > 0;) u = (u << 8) | static_cast<unsigned char>(b[j]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
    push_int(static_cast<int64_t>(u));
  }
  void push_text(PickleKind kind, uint64_t n) {
    const char* b = need(n);
    PickleValue* v = make(kind);
    v->s.assign(b, n);
    push(v);
  }
  void push_global(const std::string& module, const std::string& name) {
    PickleValue* v = make(PickleKind::kGlobal);
    v->s = module + "." + name;
    push(v);
  }

  void append_to(PickleValue* target, PickleValue* const* items, size_t n) {
    if (target->kind != PickleKind::kList && target->kind != PickleKind::kSet && target->kind != PickleKind::kObject) {
      fail("APPEND/ADDITEMS to something that is not a list or set");
    }
    target->items.insert(target->items.end(), items, items + n);
  }
  void setitem(PickleValue* target, PickleValue* key, PickleValue* value) {
    if (target->kind != PickleKind::kDict && target->kind != PickleKind::kObject) {
      fail("SETITEM(S) on something that is not a dict");
    }
    target->entries.emplace_back(key, value);  // a repeated key is resolved by the reader (last wins)
  }

  const char* data_;
  size_t size_;
  size_t pos_;
  size_t op_offset_ = 0;
  PickleArena& arena_;
  const std::string& where_;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
};

}  // namespace

const PickleValue* unpickle(const char* data, size_t size, size_t start, PickleArena& arena, const std::string& where,
                            size_t* end) {
  Machine m(data, size, start, arena, where);
  return m.run(end);
}

}  // namespace qsweep::models
