// Helpers shared by the prepare commands (data/prepare/prepare.h).
#include <fmt/format.h>

#include <filesystem>

#include "data/prepare/prepare.h"

namespace qsweep::data {

void ensure_output_dir(const std::string& out) {
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec || !std::filesystem::is_directory(out)) {
    throw DataError(fmt::format("{}: cannot create the output folder ({})", out, ec ? ec.message() : "not a directory"));
  }
}

}  // namespace qsweep::data
