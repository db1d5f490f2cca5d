// `qsweep prepare fashion-mnist|imagenet`: build the dataset shards once (see data/prepare/prepare.h).
// ImageNet preparation runs in parallel under mpirun (ranks split the files, rank 0 writes);
// without mpirun it is a world of one.
#include <fmt/format.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "data/sources/jpeg_decode.h"
#include "data/prepare/prepare.h"
#include "dist/world.h"

namespace qsweep::cli {
namespace {

void print_shard(const data::ShardInfo& s) {
  fmt::print("{}: {} images {}x{}x{}, {} classes, {}\n", s.path, s.count, s.channels, s.height, s.width,
             s.class_names.size(), s.fingerprint);
}

}  // namespace

void add_prepare_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("prepare", "Decode a dataset once into memory-mappable HDF5 shards (val, calib, train)");
  cmd->require_subcommand(1);

  auto fm = std::make_shared<data::FashionMnistPrepareOptions>();
  auto* f = cmd->add_subcommand("fashion-mnist",
                                "Fashion-MNIST idx files -> val.h5 (10 000 test), calib.h5 (seeded train subset), "
                                "train.h5 (60 000); 28x28 zero-padded to 32x32");
  input_folder(f->add_option("--root", fm->root, "folder with the idx .gz files (Debian's dataset-fashion-mnist)"),
               "the Fashion-MNIST idx folder")
      ->capture_default_str();
  f->add_option("--out", fm->out, "output folder for the shards")->required();
  f->add_option("--calib", fm->calib_count, "calibration images drawn from the train split")
      ->check(CLI::Range(int64_t{1}, int64_t{60000}))
      ->capture_default_str();
  f->add_option("--seed", fm->seed, "calibration sampling seed")->capture_default_str();
  f->add_flag("!--no-train", fm->train, "skip the full train split");
  f->callback([fm] {
    for (const auto& s : data::prepare_fashion_mnist(*fm)) print_shard(s);
  });

  auto in = std::make_shared<data::ImageNetPrepareOptions>();
  auto* i = cmd->add_subcommand("imagenet",
                                "ImageNet folders -> val.h5 (val/, Resize(256)+CenterCrop(224)) and calib.h5 "
                                "(train/, RandomResizedCrop(224)+flip, seeded); run under mpirun to split the work");
  input_folder(i->add_option("--root", in->root, "folder holding val/<wnid>/*.JPEG and train/<wnid>/*.JPEG")->required(),
               "an ImageNet folder with val/ and train/");
  i->add_option("--out", in->out, "output folder for the shards")->required();
  i->add_option("--calib", in->calib_count, "calibration images drawn from train/ (0: no calibration shard)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  i->add_option("--seed", in->seed, "calibration sampling seed")->capture_default_str();
  i->add_flag("--skip-bad", in->skip_bad, "skip and count corrupt or non-JPEG files instead of stopping");
  i->add_option("--max-image-pixels", in->max_image_pixels,
                "refuse (from the header, before decoding) JPEGs of more pixels than this; PIL's bomb limit by default")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  i->add_flag("!--no-val", in->val, "skip the validation split");
  i->add_flag("!--no-progress", in->progress, "no progress line on stderr");
  i->callback([in] {
    dist::World world(nullptr, nullptr);
    auto opt = *in;
    opt.calib = opt.calib && opt.calib_count > 0;
    data::PrepareReport report;
    try {
      report = data::prepare_imagenet(opt, world);
    } catch (const data::ImageError&) {
      throw;  // an undecodable image: every rank stopped together, rank 0 names the file
    } catch (const std::exception& e) {
      if (world.size() == 1) throw;
      // Seen by this rank alone (e.g. a write error on rank 0): the others cannot be told, so
      // end the job rather than leave them waiting in a gather.
      std::fprintf(stderr, "qsweep: error (rank %d of %d): %s\n", world.rank(), world.size(), e.what());
      world.abort(2);
    }
    if (world.rank() != 0) return;
    for (const auto& s : report.shards) print_shard(s);
    if (!report.skipped.empty()) {
      fmt::print("skipped {} undecodable file(s):\n", report.skipped.size());
      for (const auto& s : report.skipped) fmt::print("  {}\n", s);
    }
  });
}

}  // namespace qsweep::cli
