// Writing a shard: pixels stream to `<path>.partial` as they arrive (the count is unknown until
// prepare has seen every file), then finish() lays them into a contiguous /images of the exact
// size in `<path>.tmp` and commits it over `path` (support/h5_commit.h: synced, renamed).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/shard/shard.h"
#include "support/h5.h"
#include "support/h5_commit.h"
#include "support/sha256.h"
#include "support/version.h"

namespace qsweep::data {

struct ShardWriter::State {
  ShardInfo info;
  std::string partial_path;
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
  s_->partial = std::fopen(s_->partial_path.c_str(), "wb");
  if (!s_->partial) throw ShardError(fmt::format("{}: cannot create", s_->partial_path));
}

ShardWriter::~ShardWriter() {
  if (s_->partial) std::fclose(s_->partial);
  if (!s_->finished) {
    std::error_code ec;
    std::filesystem::remove(s_->partial_path, ec);
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

namespace {

// Lays the streamed pixels into a contiguous /images of the exact size, then everything else,
// in `<path>.tmp`, and commits it over `path` (support/h5_commit.h).
void write_file(const ShardInfo& info, const std::string& partial_path, const std::vector<int64_t>& labels,
                const ShardProvenance& p) {
  const auto count = static_cast<int64_t>(labels.size());
  const auto n = static_cast<uint64_t>(count);
  h5::StagedFile staged(info.path, static_cast<int>(kShardSchemaVersion));
  h5::File& f = staged.file();
  {
    h5::DataSet images = f.create_contiguous<uint8_t>(
        "images", {n, static_cast<uint64_t>(info.channels), static_cast<uint64_t>(info.height),
                   static_cast<uint64_t>(info.width)});
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(partial_path.c_str(), "rb"), std::fclose);
    if (!in) throw ShardError(fmt::format("{}: cannot reopen", partial_path));
    const int64_t per_block = std::max<int64_t>(1, (int64_t{64} << 20) / info.image_bytes());
    std::vector<uint8_t> buf(static_cast<size_t>(per_block * info.image_bytes()));
    for (int64_t begin = 0; begin < count; begin += per_block) {
      const int64_t rows = std::min(per_block, count - begin);
      const size_t bytes = static_cast<size_t>(rows * info.image_bytes());
      if (std::fread(buf.data(), 1, bytes, in.get()) != bytes) {
        throw ShardError(fmt::format("{}: short read", partial_path));
      }
      images.write_rows(static_cast<size_t>(begin), static_cast<size_t>(rows), buf.data());
    }
    images.set_attribute("description",
                         "preprocessed images, uint8 N x C x H x W, contiguous so readers memory-map it; "
                         "float input = (pixel / 255 - mean[c]) / std[c]");
  }
  f.write("labels", labels).set_attribute("description", "class index of each image into /class_names");
  f.write("class_names", info.class_names).set_attribute("description", "class name of each label index");
  if (!p.files.empty()) {
    f.write("files", p.files).set_attribute("description", "source file of each image, relative to the dataset root");
  }
  if (!p.source_index.empty()) {
    f.write("source_index", p.source_index).set_attribute("description", "index of each image in the source split");
  }
  if (!p.crop_boxes.empty()) {
    f.write_array("crop_boxes", {n, 4}, p.crop_boxes.front().data())
        .set_attribute("description",
                       "RandomResizedCrop box of each image in source pixels: top, left, height, width");
  }
  if (!p.flips.empty()) f.write("flips", p.flips).set_attribute("description", "1 = horizontally flipped after the crop");
  if (!p.fallback.empty()) {
    f.write("fallback", p.fallback)
        .set_attribute("description",
                       "1 = no random box fitted in 10 attempts; RandomResizedCrop's centre-crop fallback was used");
  }
  f.set_attribute("split", info.split);
  f.set_attribute("source", info.source);
  f.set_attribute("transform", info.transform);
  f.set_attribute("mean", info.mean);
  f.set_attribute("std", info.std);
  f.set_attribute("image_size", std::vector<int64_t>{info.channels, info.height, info.width});
  f.set_attribute("count", count);
  f.set_attribute("fingerprint", info.fingerprint);
  if (info.seed >= 0) f.set_attribute("seed", info.seed);
  f.set_attribute("created_by", fmt::format("qsweep {} ({})", version(), git_commit()));
  staged.commit();
}

}  // namespace

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

  try {
    write_file(info, s.partial_path, s.labels, p);
  } catch (const h5::Error& e) {
    throw ShardError(e.what());
  } catch (const h5::CommitError& e) {
    throw ShardError(e.what());
  }
  std::error_code ec;
  std::filesystem::remove(s.partial_path, ec);
  s.finished = true;
  return info;
}

}  // namespace qsweep::data
