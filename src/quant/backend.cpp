// Backend registry and per-task scheme completion.
#include "quant/backend.h"

#include <algorithm>
#include <cctype>

#include "support/strings.h"

namespace qsweep::quant {
namespace {

QScheme with_bits(QScheme s, int bits, const BackendPolicy& p, const CalibrationConfig& c) {
  s.bits = bits;
  if (p.honours_symmetric_range && s.symmetric) s.symmetric_range = c.symmetric_range;
  s.validate();
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

const std::vector<const BackendPolicy*>& registry() {
  static const std::vector<const BackendPolicy*> r = {&academic_backend(), &tensorrt_backend()};
  return r;
}

}  // namespace

QScheme BackendPolicy::weight_scheme(int bits, const CalibrationConfig& c) const { return with_bits(weight, bits, *this, c); }
QScheme BackendPolicy::activation_scheme(int bits, const CalibrationConfig& c) const {
  return with_bits(activation, bits, *this, c);
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const auto* b : registry()) names.push_back(b->name);
  return names;
}

const BackendPolicy& backend(const std::string& name) {
  for (const auto* b : registry()) {
    if (b->name == lower(name) || b->display_name == name) return *b;
  }
  throw QuantError(unknown_name_message("backend", name, backend_names()));
}

}  // namespace qsweep::quant
