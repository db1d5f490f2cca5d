// Writing a shard: pixels stream to `<path>.partial` as they arrive (the count is unknown until
// prepare has seen every file), then finish() lays them into a contiguous /images of the exact
// size in `<path>.tmp` and renames that over `path`.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "data/h5_lite.h"
#include "support/sha256.h"
#include "data/shard.h"
#include "support/version.h"

namespace qsweep::data {

struct ShardWriter::State {
  ShardInfo info;
  std::string partial_path, tmp_path;
  std::FILE* partial = nullptr;
  int64_t count = 0;
  std::vector<int64_t> labels;
  Sha256 images_hash;
  bool finished = false;
};

ShardWriter::ShardWriter(ShardInfo info) : s_(std::make_unique<State>()) {
  s_->info = std::move(info);
  if (s_->info.image_bytes() <= 0) throw ShardError(fmt::format("{}: image size must be positive", s_->info.path));
  if (static_cast<int64_t>(s_->info.mean.size()) != s_->info.channels ||
      static_cast<int64_t>(s_->info.std.size()) != s_->info.channels) {
    throw ShardError(fmt::format("{}: mean/std need one entry per channel", s_->info.path));
  }
  s_->partial_path = s_->info.path + ".partial";
  s_->tmp_path = s_->info.path + ".tmp";
  s_->partial = std::fopen(s_->partial_path.c_str(), "wb");
  if (!s_->partial) throw ShardError(fmt::format("{}: cannot create", s_->partial_path));
}

ShardWriter::~ShardWriter() {
  if (s_->partial) std::fclose(s_->partial);
  if (!s_->finished) {
    std::error_code ec;
    std::filesystem::remove(s_->partial_path, ec);
    std::filesystem::remove(s_->tmp_path, ec);
  }
}

int64_t ShardWriter::count() const { return s_->count; }

void ShardWriter::append(const uint8_t* images, const int64_t* labels, int64_t n) {
  const size_t bytes = static_cast<size_t>(n * s_->info.image_bytes());
  if (n <= 0) return;
  // Every prepare path (idx, ImageFolder) goes through here: a label the classes cannot name is
  // refused before it is written, naming the image's place in the shard.
  const int64_t classes = static_cast<int64_t>(s_->info.class_names.size());
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw ShardError(fmt::format("{}: image {}: label {} is outside the {} classes (0..{})", s_->info.path,
                                   s_->count + i, labels[i], classes, classes - 1));
    }
  }
  if (std::fwrite(images, 1, bytes, s_->partial) != bytes) {
    throw ShardError(fmt::format("{}: write failed (disk full?)", s_->partial_path));
  }
  s_->images_hash.update(images, bytes);
  s_->labels.insert(s_->labels.end(), labels, labels + n);
  s_->count += n;
}

ShardInfo ShardWriter::finish(const ShardProvenance& p) {
  State& s = *s_;
  ShardInfo& info = s.info;
  info.count = s.count;
  auto check_len = [&](size_t len, const char* what) {
    if (len != 0 && len != static_cast<size_t>(s.count)) {
      throw ShardError(
          fmt::format("{}: {} has {} entries, expected one per image ({})", info.path, what, len, s.count));
    }
  };
  check_len(p.files.size(), "files");
  check_len(p.source_index.size(), "source_index");
  check_len(p.crop_boxes.size(), "crop_boxes");
  check_len(p.flips.size(), "flips");
  check_len(p.fallback.size(), "fallback");
  if (std::fclose(s.partial) != 0) {
    s.partial = nullptr;
    throw ShardError(fmt::format("{}: write failed (disk full?)", s.partial_path));
  }
  s.partial = nullptr;
  info.fingerprint = shard_fingerprint(s.images_hash.digest(), s.labels.data(), s.count);

  h5::QuietErrors quiet;
  {
    h5::Handle file(H5Fcreate(s.tmp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (file.get() < 0) throw ShardError(fmt::format("{}: cannot create HDF5 file", s.tmp_path));
    const hid_t f = file.get();
    // /images: contiguous, allocated at creation, never filled with a fill value (we write it all).
    const hsize_t dims[4] = {static_cast<hsize_t>(s.count), static_cast<hsize_t>(info.channels),
                             static_cast<hsize_t>(info.height), static_cast<hsize_t>(info.width)};
    h5::Handle space(H5Screate_simple(4, dims, nullptr), H5Sclose);
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
    h5::Handle ds(H5Dcreate2(f, "images", H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
    if (ds.get() < 0) throw ShardError(fmt::format("{}: cannot create /images", s.tmp_path));
    std::FILE* in = std::fopen(s.partial_path.c_str(), "rb");
    if (!in) throw ShardError(fmt::format("{}: cannot reopen", s.partial_path));
    const int64_t per_block = std::max<int64_t>(1, (int64_t{64} << 20) / info.image_bytes());
    std::vector<uint8_t> buf(static_cast<size_t>(per_block * info.image_bytes()));
    for (int64_t begin = 0; begin < s.count; begin += per_block) {
      const int64_t n = std::min(per_block, s.count - begin);
      const size_t bytes = static_cast<size_t>(n * info.image_bytes());
      if (std::fread(buf.data(), 1, bytes, in) != bytes) {
        std::fclose(in);
        throw ShardError(fmt::format("{}: short read", s.partial_path));
      }
      const hsize_t start[4] = {static_cast<hsize_t>(begin), 0, 0, 0};
      const hsize_t count[4] = {static_cast<hsize_t>(n), dims[1], dims[2], dims[3]};
      h5::Handle fspace(H5Dget_space(ds.get()), H5Sclose);
      H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
      h5::Handle mspace(H5Screate_simple(4, count, nullptr), H5Sclose);
      if (H5Dwrite(ds.get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, buf.data()) < 0) {
        std::fclose(in);
        throw ShardError(fmt::format("{}: cannot write /images", s.tmp_path));
      }
    }
    std::fclose(in);
    h5::write_attr(ds.get(), "description",
                   std::string("preprocessed images, uint8 N x C x H x W, contiguous so readers memory-map it; "
                               "float input = (pixel / 255 - mean[c]) / std[c]"));

    h5::write_dataset(f, "labels", {static_cast<hsize_t>(s.count)}, H5T_NATIVE_INT64, s.labels.data(),
                      "class index of each image into /class_names");
    h5::write_strings(f, "class_names", info.class_names, "class name of each label index");
    if (!p.files.empty())
      h5::write_strings(f, "files", p.files, "source file of each image, relative to the dataset root");
    if (!p.source_index.empty()) {
      h5::write_dataset(f, "source_index", {static_cast<hsize_t>(s.count)}, H5T_NATIVE_INT64, p.source_index.data(),
                        "index of each image in the source split");
    }
    if (!p.crop_boxes.empty()) {
      h5::write_dataset(f, "crop_boxes", {static_cast<hsize_t>(s.count), 4}, H5T_NATIVE_INT64, p.crop_boxes.data(),
                        "RandomResizedCrop box of each image in source pixels: top, left, height, width");
    }
    if (!p.flips.empty()) {
      h5::write_dataset(f, "flips", {static_cast<hsize_t>(s.count)}, H5T_NATIVE_UINT8, p.flips.data(),
                        "1 = horizontally flipped after the crop");
    }
    if (!p.fallback.empty()) {
      h5::write_dataset(f, "fallback", {static_cast<hsize_t>(s.count)}, H5T_NATIVE_UINT8, p.fallback.data(),
                        "1 = no random box fitted in 10 attempts; RandomResizedCrop's centre-crop fallback was used");
    }
    h5::write_attr(f, "schema_version", std::vector<int64_t>{kShardSchemaVersion});
    h5::write_attr(f, "split", info.split);
    h5::write_attr(f, "source", info.source);
    h5::write_attr(f, "transform", info.transform);
    h5::write_attr(f, "mean", info.mean);
    h5::write_attr(f, "std", info.std);
    h5::write_attr(f, "image_size", std::vector<int64_t>{info.channels, info.height, info.width});
    h5::write_attr(f, "count", std::vector<int64_t>{s.count});
    h5::write_attr(f, "fingerprint", info.fingerprint);
    if (info.seed >= 0) h5::write_attr(f, "seed", std::vector<int64_t>{info.seed});
    h5::write_attr(f, "created_by", fmt::format("qsweep {} ({})", version(), git_commit()));
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw ShardError(fmt::format("{}: flush failed", s.tmp_path));
  }
  std::error_code ec;
  std::filesystem::rename(s.tmp_path, info.path, ec);
  if (ec) throw ShardError(fmt::format("{}: cannot rename from {}: {}", info.path, s.tmp_path, ec.message()));
  std::filesystem::remove(s.partial_path, ec);
  s.finished = true;
  return info;
}

}  // namespace qsweep::data
