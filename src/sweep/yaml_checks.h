// Checks yaml-cpp does not make: a sweep file's bytes (no NUL, valid UTF-8), one document, no key
// given twice in any mapping, and names that become file names or HDF5 paths. yaml-cpp accepts
// all of these without a word (and reads the first of two equal keys), so a path or a setting
// could silently be read as something other than what was written.
//
//   sweep::check_text(text, "s.yaml");               // before parsing
//   YAML::Node root = YAML::Load(text);
//   sweep::check_single_document(text, "s.yaml");
//   sweep::check_alias_expansion(text, "s.yaml");   // before anything walks the tree
//   sweep::check_unique_keys(root, "s.yaml");
//   sweep::check_file_name(node_where, "sweep", name);   // throws SweepError "file:line:col: ..."
#pragma once

#include <cstdint>
#include <string>

namespace YAML {
class Node;
}

namespace qsweep::sweep {

// The longest sweep or model name: it becomes results/<name>.h5 and HDF5 group names.
inline constexpr size_t kMaxNameLength = 64;
// The most YAML nodes a sweep file may name once its aliases are followed (the seed's full table
// names about 2 000).
inline constexpr uint64_t kMaxExpandedNodes = 1'000'000;

// NUL bytes and byte sequences that are not UTF-8 (overlong forms and surrogates included):
// SweepError "file:line:col: ...".
void check_text(const std::string& text, const std::string& path);
// More than one YAML document (a '---' after content): SweepError naming the second one's line.
void check_single_document(const std::string& text, const std::string& path);
// More than kMaxExpandedNodes nodes once aliases are followed (an "alias bomb"): SweepError
// naming the alias that passes the limit, found from the parser's events in time linear in the
// text, without building or walking the expanded tree.
void check_alias_expansion(const std::string& text, const std::string& path);
// A key given twice in any mapping, nested ones included: SweepError naming both places; a key
// that is itself a mapping or a list ({a: 1, {b: 2}}): SweepError naming it.
void check_unique_keys(const YAML::Node& root, const std::string& path);
// 1..kMaxNameLength characters of [A-Za-z0-9._-], not starting with '.' or '-'. `where` is the
// value's file:line:col, `what` names the key ("sweep", "models key").
void check_file_name(const std::string& where, const std::string& what, const std::string& name);

}  // namespace qsweep::sweep
