// torchvision's ImageFolder listing: classes are the sorted sub-folder names (indices 0..K-1),
// samples are every file with an image extension under each class folder, walked recursively
// in sorted order — the same (file, label) list torchvision builds, so sample i here is sample
// i there.
//
//   ImageFolder val = scan_image_folder("/data/imagenet/val");
//   // val.classes[0] == "n01440764", val.files[0] == "n01440764/ILSVRC2012_val_00000293.JPEG"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qsweep::data {

struct ImageFolder {
  std::string root;
  std::vector<std::string> classes;
  std::vector<std::string> files;  // relative to root
  std::vector<int64_t> labels;
};

// Extensions as torchvision's IMG_EXTENSIONS, case-insensitive (.jpg .jpeg .png .ppm .bmp .pgm
// .tif .tiff .webp). Non-JPEG files stay in the list, as in torchvision, and fail (or are
// skipped) when decoded. Throws DataError for a missing root or one without class folders.
ImageFolder scan_image_folder(const std::string& root);

}  // namespace qsweep::data
