// Zip layout (APPNOTE.TXT): [local header + data]* central directory [zip64 end record + locator]
// end-of-central-directory record (+ comment). Central entries are authoritative; each local header
// is checked against its central entry before its data is read.
#include "models/checkpoint/zip_archive.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

#include "models/checkpoint/checkpoint.h"

namespace qsweep::models {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kCentralSize = 46;
constexpr uint64_t kLocalSize = 30;

uint16_t le16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
uint32_t le32(const char* p) { return uint32_t{le16(p)} | (uint32_t{le16(p + 2)} << 16); }
uint64_t le64(const char* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }

}  // namespace

bool looks_like_zip(const std::string& head) { return head.size() >= 4 && le32(head.data()) == kLocalSig; }

ZipReader::ZipReader(const InputFile& file) : file_(file) {
  const std::string& path = file.path();
  const uint64_t size = file.size();
  if (size < kEndSize) throw CheckpointError(fmt::format("{}: truncated zip archive ({} bytes)", path, size));

  // The end record sits in the last 22 + 65535 (longest comment) bytes; the last one whose
  // comment fits the file is the real one.
  const uint64_t tail_len = std::min<uint64_t>(size, kEndSize + 0xffff);
  const std::string tail = file.read_string(size - tail_len, tail_len, "the zip end record");
  int64_t end_pos = -1;
  for (int64_t i = static_cast<int64_t>(tail_len - kEndSize); i >= 0; --i) {
    if (le32(tail.data() + i) == kEndSig && i + kEndSize + le16(tail.data() + i + 20) <= tail_len) {
      end_pos = i;
      break;
    }
  }
  if (end_pos < 0) {
    throw CheckpointError(
        fmt::format("{}: not a complete zip archive: no end-of-central-directory record (truncated?)", path));
  }
  const char* end = tail.data() + end_pos;
  const uint64_t end_offset = size - tail_len + static_cast<uint64_t>(end_pos);
  uint64_t count = le16(end + 10);
  uint64_t cd_size = le32(end + 12);
  uint64_t cd_offset = le32(end + 16);
  if (le16(end + 4) != 0 || le16(end + 6) != 0 || le16(end + 8) != le16(end + 10)) {
    if (count != 0xffff) throw CheckpointError(fmt::format("{}: multi-disk zip archives are not supported", path));
  }
  uint64_t cd_limit = end_offset;  // the directory must end before the record that points to it
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    if (end_offset < 20) throw CheckpointError(fmt::format("{}: zip64 archive without its locator", path));
    const std::string loc = file.read_string(end_offset - 20, 20, "the zip64 locator");
    if (le32(loc.data()) != kZip64LocatorSig) {
      throw CheckpointError(fmt::format("{}: zip64 archive without its locator", path));
    }
    const uint64_t rec_offset = le64(loc.data() + 8);
    if (rec_offset > end_offset - 20 || end_offset - 20 - rec_offset < 56) {
      throw CheckpointError(fmt::format("{}: zip64 end record offset {} is outside the archive", path, rec_offset));
    }
    const std::string rec = file.read_string(rec_offset, 56, "the zip64 end record");
    if (le32(rec.data()) != kZip64EndSig) {
      throw CheckpointError(fmt::format("{}: bad zip64 end record signature at offset {}", path, rec_offset));
    }
    count = le64(rec.data() + 32);
    cd_size = le64(rec.data() + 40);
    cd_offset = le64(rec.data() + 48);
    cd_limit = rec_offset;
  }
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset) {
    throw CheckpointError(
        fmt::format("{}: zip central directory [{}, +{}) lies outside the archive", path, cd_offset, cd_size));
  }
  if (count > cd_size / kCentralSize) {
    throw CheckpointError(fmt::format("{}: zip claims {} entries but its directory has room for {}", path, count,
                                      cd_size / kCentralSize));
  }
  const std::string cd = file.read_string(cd_offset, cd_size, "the zip central directory");
  entries_.reserve(static_cast<size_t>(count));
  uint64_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd_size - pos < kCentralSize || le32(cd.data() + pos) != kCentralSig) {
      throw CheckpointError(
          fmt::format("{}: malformed zip central directory entry {} at offset {}", path, i, cd_offset + pos));
    }
    const char* h = cd.data() + pos;
    ZipEntry e;
    e.flags = le16(h + 8);
    e.method = le16(h + 10);
    e.crc32 = le32(h + 16);
    uint64_t csize = le32(h + 20);
    e.size = le32(h + 24);
    const uint64_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    e.local_offset = le32(h + 42);
    if (cd_size - pos - kCentralSize < name_len + extra_len + comment_len) {
      throw CheckpointError(fmt::format("{}: zip central directory entry {} runs past the directory", path, i));
    }
    e.name.assign(h + kCentralSize, name_len);
    // zip64 extended information: the 8-byte values of the fields saturated at 0xffffffff, in order.
    const char* x = h + kCentralSize + name_len;
    for (uint64_t xp = 0; xp + 4 <= extra_len;) {
      const uint16_t id = le16(x + xp), len = le16(x + xp + 2);
      if (xp + 4 + len > extra_len) break;
      if (id == 0x0001) {
        const char* v = x + xp + 4;
        uint64_t left = len;
        auto take = [&](uint64_t& field) {
          if (field != 0xffffffff) return;
          if (left < 8) throw CheckpointError(fmt::format("{}: zip entry '{}': short zip64 field", path, e.name));
          field = le64(v);
          v += 8;
          left -= 8;
        };
        take(e.size);
        take(csize);
        take(e.local_offset);
      }
      xp += 4 + len;
    }
    if (e.method == 0 && csize != e.size) {
      throw CheckpointError(
          fmt::format("{}: zip entry '{}' is stored but its sizes differ ({} vs {})", path, e.name, csize, e.size));
    }
    if (e.local_offset >= cd_offset || e.size > cd_offset - e.local_offset) {
      throw CheckpointError(fmt::format("{}: zip entry '{}' ([{}, +{}) bytes) lies outside the archive's data", path,
                                        e.name, e.local_offset, e.size));
    }
    if (!by_name_.emplace(e.name, entries_.size()).second) {
      throw CheckpointError(fmt::format("{}: duplicate zip entry '{}'", path, e.name));
    }
    entries_.push_back(std::move(e));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

uint64_t ZipReader::data_offset(const ZipEntry& e) const {
  const std::string& path = file_.path();
  if (e.flags & 1) throw CheckpointError(fmt::format("{}: zip entry '{}' is encrypted", path, e.name));
  if (e.method != 0) {
    throw CheckpointError(
        fmt::format("{}: zip entry '{}' uses compression method {}; only stored entries (what "
                    "torch.save writes) are supported",
                    path, e.name, e.method));
  }
  char h[kLocalSize];
  file_.read(e.local_offset, h, kLocalSize, "a zip local header");
  const uint64_t name_len = le16(h + 26), extra_len = le16(h + 28);
  if (le32(h) != kLocalSig || name_len != e.name.size() ||
      file_.read_string(e.local_offset + kLocalSize, name_len, "a zip local header") != e.name) {
    throw CheckpointError(fmt::format("{}: zip entry '{}': local header at offset {} does not match the directory",
                                      path, e.name, e.local_offset));
  }
  return e.local_offset + kLocalSize + name_len + extra_len;
}

void ZipReader::read(const ZipEntry& e, void* dst) const {
  const uint64_t off = data_offset(e);
  file_.read(off, dst, e.size, "a zip entry's data");
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(dst);
  for (uint64_t done = 0; done < e.size;) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(e.size - done, uint64_t{1} << 30));
    crc = crc32(crc, p + done, chunk);
    done += chunk;
  }
  if (crc != e.crc32) {
    throw CheckpointError(fmt::format("{}: zip entry '{}' is corrupt: CRC-32 {:08x}, directory says {:08x}",
                                      file_.path(), e.name, static_cast<uint32_t>(crc), e.crc32));
  }
}

std::string ZipReader::read_string(const ZipEntry& e) const {
  std::string s(static_cast<size_t>(e.size), '\0');
  read(e, s.data());
  return s;
}

}  // namespace qsweep::models
