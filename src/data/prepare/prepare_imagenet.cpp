// ImageNet shards. Work is split in rounds: in each round rank r decodes items
// [round + r*K, round + (r+1)*K) and rank 0 gathers the results and appends them in rank order,
// so the file order is the listing order whatever the number of ranks. A decode failure travels
// in the gathered records; without --skip-bad every rank then stops, rank 0 naming the file.
#include <fmt/format.h>

#include <cstring>
#include <filesystem>

#include "data/sources/image_folder.h"
#include "data/transforms/imagenet_transform.h"
#include "data/prepare/prepare.h"
#include "data/prepare/progress.h"
#include "data/prepare/sample_rng.h"

namespace qsweep::data {
namespace {

constexpr int64_t kPerRankRound = 16;  // images per rank per gather: ~2.4 MB at 224x224

struct Item {
  std::string file;  // relative to the split folder
  int64_t label = 0;
  int64_t position = 0;  // index into the calibration draw (crop stream 1 + position)
};

// One processed item as it crosses the gather: fixed header, error text, then pixels when ok.
struct Header {
  int64_t index;  // into the item list
  int64_t box[4];
  uint8_t ok, flip, fallback, pad;
  uint32_t error_len;
};

template <typename T>
void put(std::vector<uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof(T));
}

struct SplitJob {
  std::string name, dir, transform, source;
  bool calib = false;
  std::vector<Item> items;
  std::vector<std::string> classes;
};

ShardInfo run_split(const ImageNetPrepareOptions& opt, const SplitJob& job, Collective& world,
                    std::vector<std::string>& skipped) {
  const int64_t side = opt.crop;
  const int64_t image_bytes = 3 * side * side;
  const int64_t n = static_cast<int64_t>(job.items.size());
  ShardInfo info;
  info.path = (std::filesystem::path(opt.out) / (job.name + ".h5")).string();
  info.split = job.name;
  info.source = job.source;
  info.transform = job.transform;
  info.channels = 3;
  info.height = info.width = side;
  info.mean = {0.485f, 0.456f, 0.406f};  // SPEC §4 Normalize
  info.std = {0.229f, 0.224f, 0.225f};
  info.class_names = job.classes;
  info.seed = job.calib ? static_cast<int64_t>(opt.seed) : -1;
  std::unique_ptr<ShardWriter> writer;
  if (world.rank() == 0) writer = std::make_unique<ShardWriter>(info);
  ShardProvenance prov;
  Progress progress(job.name, n, opt.progress && world.rank() == 0);
  std::vector<uint8_t> pixels(static_cast<size_t>(image_bytes));

  const int64_t round = kPerRankRound * world.size();
  for (int64_t start = 0; start < n; start += round) {
    std::vector<uint8_t> payload;
    bool failed = false;
    const int64_t mine = start + world.rank() * kPerRankRound;
    for (int64_t i = mine; i < std::min(mine + kPerRankRound, n); ++i) {
      const Item& item = job.items[i];
      const std::string path = job.dir + "/" + item.file;
      Header h{};
      h.index = i;
      std::string error;
      try {
        const RgbImage img = decode_jpeg_rgb(path, opt.max_image_pixels);
        if (job.calib) {
          SampleRng rng(opt.seed, 1 + static_cast<uint64_t>(item.position));
          const CalibCrop c = sample_calib_crop(img.height, img.width, rng);
          calib_transform(img, c, side, pixels.data());
          h.box[0] = c.top, h.box[1] = c.left, h.box[2] = c.height, h.box[3] = c.width;
          h.flip = c.flip;
          h.fallback = c.fallback;
        } else {
          val_transform(img, opt.resize, opt.crop, pixels.data());
        }
        h.ok = 1;
      } catch (const DataError& e) {  // ImageError, or a transform refusing a degenerate image
        error = e.what();
        failed = failed || !opt.skip_bad;
      }
      h.error_len = static_cast<uint32_t>(error.size());
      put(payload, h);
      payload.insert(payload.end(), error.begin(), error.end());
      if (h.ok) payload.insert(payload.end(), pixels.begin(), pixels.end());
    }
    const auto gathered = world.gather(payload);
    const bool stop = world.any(failed);
    if (world.rank() != 0) {
      if (stop) throw ImageError("stopped: another rank hit an undecodable image (rank 0 names it)");
      continue;
    }
    for (const auto& buf : gathered) {
      size_t at = 0;
      while (at < buf.size()) {
        Header h;
        std::memcpy(&h, buf.data() + at, sizeof h);
        at += sizeof h;
        const std::string error(reinterpret_cast<const char*>(buf.data() + at), h.error_len);
        at += h.error_len;
        if (!h.ok) {
          if (!opt.skip_bad) throw ImageError(error + " (use --skip-bad to skip such files)");
          skipped.push_back(error);
          continue;
        }
        const Item& item = job.items[h.index];
        writer->append(buf.data() + at, &item.label, 1);
        at += image_bytes;
        prov.files.push_back(item.file);
        if (job.calib) {
          prov.crop_boxes.push_back({h.box[0], h.box[1], h.box[2], h.box[3]});
          prov.flips.push_back(h.flip);
          prov.fallback.push_back(h.fallback);
        }
      }
    }
    if (stop) throw ImageError("stopped: an image could not be decoded");
    progress.update(std::min(start + round, n));
  }
  if (world.rank() != 0) return info;
  progress.finish();
  return writer->finish(prov);
}

}  // namespace

PrepareReport prepare_imagenet(const ImageNetPrepareOptions& opt, Collective& world) {
  PrepareReport report;
  // Every rank lists the folders itself: the listing is deterministic, so all agree. Both
  // splits are listed (and the calibration draw checked) before any image is decoded.
  std::vector<SplitJob> jobs;
  if (opt.val) {
    const ImageFolder val = scan_image_folder(opt.root + "/val");
    SplitJob job;
    job.name = "val";
    job.dir = val.root;
    job.classes = val.classes;
    job.source = "imagenet:" + val.root;
    job.transform = fmt::format(
        "torchvision Resize({0}) (shorter side, PIL bilinear with antialias) + CenterCrop({1}); uint8 CHW RGB",
        opt.resize, opt.crop);
    for (size_t i = 0; i < val.files.size(); ++i) job.items.push_back({val.files[i], val.labels[i], 0});
    jobs.push_back(std::move(job));
  }
  if (opt.calib) {
    const ImageFolder train = scan_image_folder(opt.root + "/train");
    if (opt.calib_count > static_cast<int64_t>(train.files.size())) {
      throw DataError(fmt::format("{}: {} calibration images requested, the folder holds {}", train.root,
                                  opt.calib_count, train.files.size()));
    }
    SampleRng pick(opt.seed, 0);
    const auto chosen = choose_without_replacement(static_cast<int64_t>(train.files.size()), opt.calib_count, pick);
    SplitJob job;
    job.name = "calib";
    job.calib = true;
    job.dir = train.root;
    job.classes = train.classes;
    job.source = "imagenet:" + train.root;
    job.transform = fmt::format(
        "torchvision RandomResizedCrop({0}, scale=(0.08, 1), ratio=(3/4, 4/3), PIL bilinear) + "
        "RandomHorizontalFlip(0.5), drawn with qsweep SampleRng seed {1} (files: stream 0, image i: stream 1+i); "
        "uint8 CHW RGB",
        opt.crop, opt.seed);
    for (size_t p = 0; p < chosen.size(); ++p) {
      job.items.push_back({train.files[chosen[p]], train.labels[chosen[p]], static_cast<int64_t>(p)});
    }
    jobs.push_back(std::move(job));
  }
  if (world.rank() == 0) ensure_output_dir(opt.out);
  for (const auto& job : jobs) report.shards.push_back(run_split(opt, job, world, report.skipped));
  if (world.rank() != 0) report.shards.clear();
  return report;
}

}  // namespace qsweep::data
