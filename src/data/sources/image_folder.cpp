#include "data/sources/image_folder.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "data/data_error.h"

namespace qsweep::data {
namespace fs = std::filesystem;
namespace {

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}) {
    if (ext == e) return true;
  }
  return false;
}

}  // namespace

ImageFolder scan_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw DataError(fmt::format("{}: not a directory, expected an ImageFolder split", root));
  ImageFolder out;
  out.root = root;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory()) out.classes.push_back(e.path().filename().string());
  }
  std::sort(out.classes.begin(), out.classes.end());
  if (out.classes.empty()) throw DataError(fmt::format("{}: no class folders, expected <root>/<class>/<image>", root));
  for (size_t label = 0; label < out.classes.size(); ++label) {
    // os.walk(followlinks=True) sorted by directory, then file names sorted within a directory:
    // sorting (parent, name) pairs gives the same order.
    std::vector<std::pair<std::string, std::string>> found;
    const fs::path dir = fs::path(root) / out.classes[label];
    for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
      if (!e.is_directory() && has_image_extension(e.path())) {
        found.emplace_back(fs::relative(e.path().parent_path(), root).string(), e.path().filename().string());
      }
    }
    std::sort(found.begin(), found.end());
    for (const auto& [parent, name] : found) {
      out.files.push_back(parent + "/" + name);
      out.labels.push_back(static_cast<int64_t>(label));
    }
  }
  return out;
}

}  // namespace qsweep::data
