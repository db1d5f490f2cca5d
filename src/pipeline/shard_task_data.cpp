#include "pipeline/shard_task_data.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace qsweep::pipeline {

ShardTaskData::ShardTaskData(const std::string& eval_path, const std::string& calibration_path,
                             int calibration_batches, int batch_size, int eval_batch_size) {
  const auto calib = data::Shard::open(calibration_path);
  const int64_t wanted = int64_t{calibration_batches} * batch_size;
  if (calib.size() < wanted) {
    throw TaskError(fmt::format("{}: {} calibration images, the sweep asks for {} batches x {} = {}", calibration_path,
                                calib.size(), calibration_batches, batch_size, wanted));
  }
  data::BatchReader cr(calib, batch_size, 0, wanted);
  while (const auto* b = cr.next()) calibration_.push_back(b->images.clone());
  reader_ = std::make_unique<data::BatchReader>(data::Shard::open(eval_path), eval_batch_size);
  eval_batch_size_ = eval_batch_size;
  const auto& e = reader_->shard().info();
  if (e.channels != calib.info().channels || e.height != calib.info().height || e.width != calib.info().width) {
    throw TaskError(fmt::format("{} holds {}x{}x{} images but {} holds {}x{}x{}", eval_path, e.channels, e.height,
                                e.width, calibration_path, calib.info().channels, calib.info().height,
                                calib.info().width));
  }
  fingerprint_ = e.fingerprint + "+" + calib.info().fingerprint + fmt::format("@{}x{}", calibration_batches, batch_size);
}

void ShardTaskData::for_each_eval_batch(const EvalVisitor& fn, std::optional<support::Part> part) {
  if (!part) {
    reader_->rewind();
    while (const auto* b = reader_->next()) fn(b->images, b->labels);
    return;
  }
  // A part keeps the whole split's batch boundaries, so every image is in the batch it is in
  // when one rank evaluates everything (the logits of a batch do not depend on who runs it).
  const int64_t images = reader_->shard().size();
  const int64_t begin = std::min(images, part->begin * eval_batch_size_);
  const int64_t end = std::min(images, (part->begin + part->count) * eval_batch_size_);
  if (begin >= end) return;
  data::BatchReader reader(reader_->shard(), eval_batch_size_, begin, end);
  while (const auto* b = reader.next()) fn(b->images, b->labels);
}

int64_t ShardTaskData::eval_batch_count() const {
  return (reader_->shard().size() + eval_batch_size_ - 1) / eval_batch_size_;
}

}  // namespace qsweep::pipeline
