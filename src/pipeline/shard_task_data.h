// TaskData over prepared shards (data/shard/shard.h): the calibration set is the first
// calibration_batches × batch_size images of the calibration shard in stored order; the
// evaluation split is the whole eval shard, read through one reusable BatchReader.
#pragma once

#include <memory>
#include <string>

#include "data/shard/batch_reader.h"
#include "pipeline/task.h"

namespace qsweep::pipeline {

class ShardTaskData final : public TaskData {
 public:
  ShardTaskData(const std::string& eval_path, const std::string& calibration_path, int calibration_batches,
                int batch_size, int eval_batch_size);
  const std::vector<at::Tensor>& calibration_batches() override { return calibration_; }
  void for_each_eval_batch(const EvalVisitor& fn, std::optional<support::Part> part = std::nullopt) override;
  int64_t eval_batch_count() const override;
  std::string fingerprint() const override { return fingerprint_; }
  const data::ShardInfo& eval_info() const { return reader_->shard().info(); }

 private:
  std::vector<at::Tensor> calibration_;
  std::unique_ptr<data::BatchReader> reader_;
  int64_t eval_batch_size_ = 0;
  std::string fingerprint_;
};

}  // namespace qsweep::pipeline
