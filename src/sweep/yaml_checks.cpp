#include "sweep/yaml_checks.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <vector>

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

std::string at(const std::string& path, const YAML::Mark& m) {
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;  // a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                            // surrogate
  return n;
}

// Nesting deeper than any sweep file needs; the walk below recurses once per level.
constexpr int kMaxDepth = 64;

void unique_keys(const YAML::Node& n, const std::string& path, int depth = 0) {
  if (depth > kMaxDepth && (n.IsMap() || n.IsSequence())) {
    throw SweepError(fmt::format("{}: lists and mappings nested more than {} deep; a sweep file needs a few levels",
                                 at(path, n.Mark()), kMaxDepth));
  }
  if (n.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        const char* kind = kv.first.IsMap() ? "a mapping" : kv.first.IsSequence() ? "a list" : "empty";
        throw SweepError(fmt::format("{}: a key must be a plain name, not {} (a ',' or a brace out of place?)",
                                     at(path, kv.first.Mark()), kind));
      }
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!key.empty()) {
        const auto [it, fresh] = seen.emplace(key, kv.first.Mark());
        if (!fresh) {
          throw SweepError(fmt::format("{}: key '{}' is given twice in this mapping (first at line {}); YAML would "
                                       "keep only one of them",
                                       at(path, kv.first.Mark()), key, it->second.line + 1));
        }
      }
      unique_keys(kv.second, path, depth + 1);
    }
  } else if (n.IsSequence()) {
    for (const auto& v : n) unique_keys(v, path, depth + 1);
  }
}

}  // namespace

void check_text(const std::string& text, const std::string& path) {
  int line = 1, column = 1;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') throw SweepError(fmt::format("{}:{}:{}: a NUL byte; a sweep file is UTF-8 text", path, line, column));
    const size_t n = utf8_length(text, i);
    if (n == 0) {
      throw SweepError(fmt::format("{}:{}:{}: byte 0x{:02X} is not valid UTF-8; a sweep file is UTF-8 text", path, line,
                                   column, static_cast<unsigned char>(text[i])));
    }
    if (text[i] == '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
    i += n;
  }
}

namespace {

// Records where each document starts and nothing else: counting documents must not build them.
// (yaml-cpp's LoadAll builds every one, and on some malformed inputs it produces documents
// without end until memory runs out: found by tests/fuzz.)
class DocumentCounter : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

void check_single_document(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  try {
    // Two documents are enough to know; never read further.
    while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
    }
  } catch (const YAML::ParserException&) {
    return;  // the single-document parse reports syntax errors with their place
  }
  if (counter.starts.size() > 1) {
    throw SweepError(fmt::format("{}: a second YAML document starts here (a '---' line, or text that cannot continue "
                                 "the first document); a sweep file is one document",
                                 at(path, counter.starts[1])));
  }
}

namespace {

// Counts the nodes of the document as a reader that follows every alias would see them, from the
// events alone (an alias adds the size of what its anchor names), and stops at the first alias
// past the limit: ten levels of ten-fold aliases name 10^9 nodes in 300 bytes, and any walk of
// the tree (check_unique_keys, the reader) would visit every one.
class AliasExpansion : public YAML::EventHandler {
 public:
  AliasExpansion(const std::string& path, uint64_t limit) : path_(path), limit_(limit) {}
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string&) override { leaf(m, a); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    // An alias inside the node its anchor names makes the tree a cycle: every walk of it, and
    // yaml-cpp's own iterators, would recurse until the stack ran out.
    for (const auto& [anchor, start] : open_) {
      if (anchor == a) {
        throw SweepError(fmt::format("{}: this alias names a node that contains it (a cycle); a sweep file is a tree",
                                     at(path_, m)));
      }
    }
    const auto it = sizes_.find(a);
    add(m, it == sizes_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnMapEnd() override { close(); }

 private:
  void add(const YAML::Mark& m, uint64_t n) {
    nodes_ += n;
    if (nodes_ > limit_) {
      throw SweepError(fmt::format("{}: with its aliases this document names more than {} YAML nodes (an alias that "
                                   "repeats aliases, an 'alias bomb'); a sweep file needs a few thousand: write the "
                                   "lists out or nest fewer aliases",
                                   at(path_, m), limit_));
    }
  }
  void leaf(const YAML::Mark& m, YAML::anchor_t a) {
    add(m, 1);
    if (a != YAML::NullAnchor) sizes_[a] = 1;
  }
  void open(const YAML::Mark& m, YAML::anchor_t a) {
    add(m, 1);
    open_.push_back({a, nodes_ - 1});
  }
  void close() {
    if (open_.empty()) return;
    const auto [anchor, start] = open_.back();
    open_.pop_back();
    if (anchor != YAML::NullAnchor) sizes_[anchor] = nodes_ - start;
  }

  std::string path_;
  uint64_t limit_, nodes_ = 0;
  std::vector<std::pair<YAML::anchor_t, uint64_t>> open_;  // anchor, node count before the collection
  std::map<YAML::anchor_t, uint64_t> sizes_;              // expanded size of each anchored node
};

}  // namespace

void check_alias_expansion(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  AliasExpansion counter(path, kMaxExpandedNodes);
  try {
    parser.HandleNextDocument(counter);
  } catch (const YAML::ParserException&) {
    return;  // the single-document parse reports syntax errors with their place
  }
}

void check_unique_keys(const YAML::Node& root, const std::string& path) { unique_keys(root, path); }

void check_file_name(const std::string& where, const std::string& what, const std::string& name) {
  const auto bad = [&](const std::string& why) {
    throw SweepError(fmt::format("{}: {} '{}' {}; it names files and HDF5 groups, so it must be 1 to {} characters "
                                 "of letters, digits, '.', '_' and '-', not starting with '.' or '-'",
                                 where, what, name, why, kMaxNameLength));
  };
  if (name.empty()) bad("is empty");
  if (name.size() > kMaxNameLength) bad(fmt::format("has {} characters", name.size()));
  if (name[0] == '.' || name[0] == '-') bad("starts with '" + name.substr(0, 1) + "'");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) bad(c == ' ' ? std::string("holds a space") : fmt::format("holds '{}'", c));
  }
}

}  // namespace qsweep::sweep
