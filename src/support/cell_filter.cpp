#include "support/cell_filter.h"

#include <algorithm>

#include "support/strings.h"

namespace qsweep {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.push_back(trim(s.substr(start, p == std::string::npos ? std::string::npos : p - start)));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

// "key=value" → {key, value}, trimmed; throws CellFilterError naming `what` and the term.
std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& what) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) throw CellFilterError(what + " '" + text + "': expected key=value");
  auto key = trim(text.substr(0, eq));
  auto value = trim(text.substr(eq + 1));
  if (key.empty()) throw CellFilterError(what + " '" + text + "': the key before '=' is empty");
  if (value.empty()) throw CellFilterError(what + " '" + text + "': '" + key + "' has no value");
  return {key, value};
}

}  // namespace

CellFilter CellFilter::parse(const std::string& text, const std::vector<std::string>& keys) {
  CellFilter f;
  if (trim(text).empty()) return f;
  for (const auto& term : split(text, ',')) {
    auto [key, value] = split_assignment(term, "filter term");
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      throw CellFilterError("filter term '" + term + "': " + unknown_name_message("key", key, keys));
    }
    auto values = split(value, '|');
    if (std::any_of(values.begin(), values.end(), [](const std::string& v) { return v.empty(); })) {
      throw CellFilterError("filter term '" + term + "': an empty alternative in '" + value + "'");
    }
    for (auto& t : f.terms_) {
      if (t.first == key) throw CellFilterError("filter: '" + key + "' is given twice; list alternatives as " + key + "=a|b");
    }
    f.terms_.emplace_back(key, std::move(values));
  }
  return f;
}

bool CellFilter::matches(const std::map<std::string, std::string>& cell) const {
  for (const auto& [key, values] : terms_) {
    const auto it = cell.find(key);
    if (it == cell.end() || std::find(values.begin(), values.end(), it->second) == values.end()) return false;
  }
  return true;
}

std::string CellFilter::text() const {
  std::vector<std::string> parts;
  for (const auto& [key, values] : terms_) parts.push_back(key + "=" + join(values, "|"));
  return join(parts, ",");
}

}  // namespace qsweep
