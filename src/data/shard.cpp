// Reading a shard: HDF5 for the metadata, then a plain mmap of the file at /images' offset
// (H5Dget_offset), which is why the writer keeps /images contiguous and unfiltered.
#include "data/shard.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/h5_lite.h"
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

Shard Shard::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ShardError(fmt::format("{}: cannot open shard (no such file)", path));
  h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw ShardError(fmt::format("{}: not an HDF5 file, expected a qsweep shard", path));
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) throw ShardError(fmt::format("{}: cannot open as HDF5 (truncated or corrupt file?)", path));
  const hid_t f = file.get();
  Shard s;
  ShardInfo& info = s.info_;
  info.path = path;
  if (!h5::has_attr(f, "schema_version"))
    throw ShardError(fmt::format("{}: no schema_version attribute, not a qsweep shard", path));
  const auto version = h5::read_attr_ints(f, "schema_version", path);
  if (version.size() != 1 || version[0] != kShardSchemaVersion) {
    throw ShardError(fmt::format("{}: shard schema_version {}, expected {}", path, version.empty() ? -1 : version[0],
                                 kShardSchemaVersion));
  }
  info.split = h5::read_attr_string(f, "split", path);
  info.source = h5::read_attr_string(f, "source", path);
  info.transform = h5::read_attr_string(f, "transform", path);
  info.fingerprint = h5::read_attr_string(f, "fingerprint", path);
  info.mean = h5::read_attr_floats(f, "mean", path);
  info.std = h5::read_attr_floats(f, "std", path);
  if (h5::has_attr(f, "seed")) info.seed = h5::read_attr_ints(f, "seed", path).at(0);
  info.class_names = h5::read_strings(f, "class_names", path);

  const auto dims = h5::dataset_dims(f, "images", path);
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
  const auto ldims = h5::dataset_dims(f, "labels", path);
  if (ldims.size() != 1 || static_cast<int64_t>(ldims[0]) != info.count) {
    throw ShardError(fmt::format("{}: /labels does not hold one label per image ({} expected)", path, info.count));
  }
  s.labels_ = at::empty({info.count}, at::kLong);
  if (info.count > 0) h5::read_dataset(f, "labels", H5T_NATIVE_INT64, s.labels_.data_ptr<int64_t>(), path);
  const int64_t classes = static_cast<int64_t>(info.class_names.size());
  const int64_t* label = s.labels_.data_ptr<int64_t>();
  for (int64_t i = 0; i < info.count; ++i) {
    if (label[i] < 0 || label[i] >= classes) {
      throw ShardError(fmt::format("{}: /labels[{}] = {} is outside the shard's {} classes (0..{})", path, i, label[i],
                                   classes, classes - 1));
    }
  }

  h5::Handle ds(H5Dopen2(f, "images", H5P_DEFAULT), H5Dclose);
  h5::Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 ||
      H5Tget_sign(type.get()) != H5T_SGN_NONE) {
    throw ShardError(fmt::format("{}: /images is not uint8", path));
  }
  h5::Handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0) {
    throw ShardError(fmt::format(
        "{}: /images is chunked or filtered, expected a contiguous dataset that can be memory-mapped", path));
  }
  const size_t bytes = static_cast<size_t>(info.count * info.image_bytes());
  auto map = std::make_shared<Mapping>();
  if (bytes > 0) {
    const haddr_t offset = H5Dget_offset(ds.get());
    if (offset == HADDR_UNDEF) throw ShardError(fmt::format("{}: /images has no storage allocated", path));
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
  h5::QuietErrors quiet;
  h5::Handle file(H5Fopen(info_.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) throw ShardError(fmt::format("{}: cannot reopen shard", info_.path));
  const hid_t f = file.get();
  ShardProvenance p;
  const size_t n = static_cast<size_t>(info_.count);
  if (h5::has_dataset(f, "files")) p.files = h5::read_strings(f, "files", info_.path);
  if (h5::has_dataset(f, "source_index")) {
    p.source_index.resize(n);
    if (n) h5::read_dataset(f, "source_index", H5T_NATIVE_INT64, p.source_index.data(), info_.path);
  }
  if (h5::has_dataset(f, "crop_boxes")) {
    p.crop_boxes.resize(n);
    if (n) h5::read_dataset(f, "crop_boxes", H5T_NATIVE_INT64, p.crop_boxes.data(), info_.path);
  }
  if (h5::has_dataset(f, "flips")) {
    p.flips.resize(n);
    if (n) h5::read_dataset(f, "flips", H5T_NATIVE_UINT8, p.flips.data(), info_.path);
  }
  if (h5::has_dataset(f, "fallback")) {
    p.fallback.resize(n);
    if (n) h5::read_dataset(f, "fallback", H5T_NATIVE_UINT8, p.fallback.data(), info_.path);
  }
  return p;
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
