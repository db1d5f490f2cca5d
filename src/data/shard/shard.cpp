// Reading a shard: HDF5 for the metadata, then a plain mmap of the file at /images' offset
// (H5Dget_offset), which is why the writer keeps /images contiguous and unfiltered.
#include "data/shard/shard.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "support/h5.h"
#include "support/sha256.h"
#include "support/strings.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "shards store little-endian labels and are mapped as-is");

namespace qsweep::data {

struct Shard::Mapping {
  void* addr = MAP_FAILED;
  size_t length = 0;
  const uint8_t* images = nullptr;  // addr + (offset - page-aligned offset)
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, length);
  }
};

std::string shard_fingerprint(const std::array<uint8_t, 32>& images_sha256, const int64_t* labels, int64_t n) {
  Sha256 labels_hash;
  labels_hash.update(labels, static_cast<size_t>(n) * sizeof(int64_t));
  const auto l = labels_hash.digest();
  Sha256 h;
  h.update(images_sha256.data(), images_sha256.size());
  h.update(l.data(), l.size());
  return "sha256:" + h.hex();
}

namespace {

// The root attributes and /labels, checked against each other; /images' shape and storage.
struct Metadata {
  ShardInfo info;
  std::vector<int64_t> labels;
  uint64_t images_offset = 0;
};

Metadata read_metadata(const std::string& path) {
  const h5::File f = h5::File::open(path);
  Metadata m;
  ShardInfo& info = m.info;
  info.path = path;
  const auto version = f.attribute<std::vector<int64_t>>("schema_version");
  if (version.size() != 1 || version[0] != kShardSchemaVersion) {
    throw ShardError(fmt::format("{}: shard schema_version {}, expected {}", path, version.empty() ? -1 : version[0],
                                 kShardSchemaVersion));
  }
  info.split = f.attribute<std::string>("split");
  info.source = f.attribute<std::string>("source");
  info.transform = f.attribute<std::string>("transform");
  info.fingerprint = f.attribute<std::string>("fingerprint");
  info.mean = f.attribute<std::vector<float>>("mean");
  info.std = f.attribute<std::vector<float>>("std");
  if (f.has_attribute("seed")) info.seed = f.attribute<int64_t>("seed");
  info.class_names = f.read<std::vector<std::string>>("class_names");

  const h5::DataSet images = f.dataset("images");
  const auto dims = images.dims();
  if (dims.size() != 4)
    throw ShardError(fmt::format("{}: /images has {} dimensions, expected 4 (N, C, H, W)", path, dims.size()));
  info.count = static_cast<int64_t>(dims[0]);
  info.channels = static_cast<int64_t>(dims[1]);
  info.height = static_cast<int64_t>(dims[2]);
  info.width = static_cast<int64_t>(dims[3]);
  if (static_cast<int64_t>(info.mean.size()) != info.channels ||
      static_cast<int64_t>(info.std.size()) != info.channels) {
    throw ShardError(fmt::format("{}: mean/std have {}/{} entries, expected one per channel ({})", path,
                                 info.mean.size(), info.std.size(), info.channels));
  }
  if (f.dataset("labels").dims() != std::vector<uint64_t>{dims[0]}) {
    throw ShardError(fmt::format("{}: /labels does not hold one label per image ({} expected)", path, info.count));
  }
  m.labels = f.read<std::vector<int64_t>>("labels");
  const int64_t classes = static_cast<int64_t>(info.class_names.size());
  for (int64_t i = 0; i < info.count; ++i) {
    if (m.labels[i] < 0 || m.labels[i] >= classes) {
      throw ShardError(fmt::format("{}: /labels[{}] = {} is outside the shard's {} classes (0..{})", path, i,
                                   m.labels[i], classes, classes - 1));
    }
  }

  const h5::ElementType type = images.element_type();
  if (!type.is<uint8_t>()) throw ShardError(fmt::format("{}: /images is {}, expected uint8", path, type.text()));
  const h5::Storage storage = images.storage();
  if (!storage.contiguous || storage.filters != 0) {
    throw ShardError(fmt::format(
        "{}: /images is chunked or filtered, expected a contiguous dataset that can be memory-mapped", path));
  }
  if (info.count > 0 && !storage.offset) throw ShardError(fmt::format("{}: /images has no storage allocated", path));
  m.images_offset = storage.offset.value_or(0);
  return m;
}

}  // namespace

Shard Shard::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ShardError(fmt::format("{}: cannot open shard (no such file)", path));
  if (!h5::is_hdf5(path)) throw ShardError(fmt::format("{}: not an HDF5 file, expected a qsweep shard", path));
  Metadata m;
  try {
    m = read_metadata(path);
  } catch (const h5::Error& e) {
    // HDF5's message names the object; this one says what the file was expected to be.
    throw ShardError(fmt::format("{} (not a readable qsweep shard: truncated, corrupt or of another program?)",
                                 e.what()));
  }
  Shard s;
  s.info_ = std::move(m.info);
  const ShardInfo& info = s.info_;
  s.labels_ = at::empty({info.count}, at::kLong);
  std::copy(m.labels.begin(), m.labels.end(), s.labels_.data_ptr<int64_t>());

  const size_t bytes = static_cast<size_t>(info.count * info.image_bytes());
  auto map = std::make_shared<Mapping>();
  if (bytes > 0) {
    const uint64_t offset = m.images_offset;
    if (offset + bytes > static_cast<uint64_t>(st.st_size)) {
      throw ShardError(fmt::format("{}: truncated: /images needs bytes {}..{}, file has {}", path, offset,
                                   offset + bytes, st.st_size));
    }
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t aligned = offset / page * page;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ShardError(fmt::format("{}: cannot open for mapping", path));
    map->length = bytes + (offset - aligned);
    // MAP_PRIVATE: pages stay shared with every other reader until written, and a stray write
    // through a tensor view changes only this process's copy, never the file.
    map->addr = mmap(nullptr, map->length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, static_cast<off_t>(aligned));
    ::close(fd);
    if (map->addr == MAP_FAILED) throw ShardError(fmt::format("{}: mmap of {} bytes failed", path, map->length));
    map->images = static_cast<const uint8_t*>(map->addr) + (offset - aligned);
  }
  s.map_ = std::move(map);
  return s;
}

void Shard::check_range(int64_t begin, int64_t n) const {
  if (begin < 0 || n < 0 || begin + n > info_.count) {
    throw ShardError(
        fmt::format("{}: images {}..{} requested, shard holds {}", info_.path, begin, begin + n, info_.count));
  }
}

const uint8_t* Shard::image_data(int64_t index) const {
  check_range(index, 1);
  return map_->images + index * info_.image_bytes();
}

at::Tensor Shard::images_u8(int64_t begin, int64_t n) const {
  check_range(begin, n);
  if (n == 0) return at::empty({0, info_.channels, info_.height, info_.width}, at::kByte);
  auto keep = map_;
  return at::from_blob(
      const_cast<uint8_t*>(map_->images + begin * info_.image_bytes()), {n, info_.channels, info_.height, info_.width},
      [keep](void*) {}, at::kByte);
}

at::Tensor Shard::labels(int64_t begin, int64_t n) const {
  check_range(begin, n);
  return labels_.narrow(0, begin, n);
}

ShardProvenance Shard::provenance() const {
  try {
    const h5::File f = h5::File::open(info_.path);
    ShardProvenance p;
    if (f.exists("files")) p.files = f.read<std::vector<std::string>>("files");
    if (f.exists("source_index")) p.source_index = f.read<std::vector<int64_t>>("source_index");
    if (f.exists("crop_boxes")) {
      const auto flat = f.read<std::vector<int64_t>>("crop_boxes");
      p.crop_boxes.resize(flat.size() / 4);
      for (size_t i = 0; i < p.crop_boxes.size(); ++i) std::copy_n(flat.begin() + 4 * i, 4, p.crop_boxes[i].begin());
    }
    if (f.exists("flips")) p.flips = f.read<std::vector<uint8_t>>("flips");
    if (f.exists("fallback")) p.fallback = f.read<std::vector<uint8_t>>("fallback");
    return p;
  } catch (const h5::Error& e) {
    throw ShardError(fmt::format("{} (reading the shard's provenance)", e.what()));
  }
}

void Shard::verify() const {
  Sha256 images;
  if (info_.count > 0) images.update(map_->images, static_cast<size_t>(info_.count * info_.image_bytes()));
  const std::string got = shard_fingerprint(images.digest(), labels_.data_ptr<int64_t>(), info_.count);
  if (got != info_.fingerprint) {
    throw ShardError(fmt::format("{}: content fingerprint {} does not match the stored {} (file corrupted or altered)",
                                 info_.path, got, info_.fingerprint));
  }
}

}  // namespace qsweep::data
