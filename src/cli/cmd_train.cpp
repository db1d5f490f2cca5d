// `qsweep train`: trains a zoo model on a prepared train split (SGD + momentum + weight decay,
// cosine schedule, optional label smoothing, fixed seed), reports test accuracy, and saves
// torch.load-compatible weights with a recipe JSON beside them (<out>.json). Under mpirun the
// ranks train one model data-parallel (each rank a slice of every batch, gradients summed); rank 0
// reports and writes.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli/commands.h"
#include "data/shard/batch_reader.h"
#include "dist/world.h"
#include "models/checkpoint/checkpoint.h"
#include "models/weights.h"
#include "models/zoo.h"
#include "pipeline/task.h"
#include "pipeline/train.h"
#include "support/version.h"

namespace qsweep::cli {
namespace {

struct TrainArgs {
  std::string model, train, eval, out;
  models::ModelOptions options;
  pipeline::TrainConfig config;
  int64_t max_images = 0;
  int threads = 0;  // 0: the node's cores divided among its ranks
};

// The whole split as one normalised float tensor (Fashion-MNIST's 60 000 × 32² fit easily).
std::pair<at::Tensor, at::Tensor> load_split(const std::string& path, int64_t max_images) {
  const auto shard = data::Shard::open(path);
  const int64_t n = max_images > 0 ? std::min(max_images, shard.size()) : shard.size();
  data::BatchReader reader(shard, 4096, 0, n);
  std::vector<at::Tensor> xs, ys;
  while (const auto* b = reader.next()) {
    xs.push_back(b->images.clone());
    ys.push_back(b->labels.clone());
  }
  return {at::cat(xs), at::cat(ys)};
}

void run(const TrainArgs& a, dist::World& world) {
  const int threads = a.threads > 0 ? a.threads : world.default_threads();
  at::set_num_threads(threads);
  at::manual_seed(static_cast<uint64_t>(a.config.seed));  // every rank starts from the same weights
  auto g = models::build_model(a.model, a.options);
  auto [x, y] = load_split(a.train, a.max_images);
  const bool lead = world.rank() == 0;
  if (lead) {
    fmt::print("training {} ({} parameters) on {} images of {}, {} epochs, {} rank(s) x {} thread(s)\n", a.model,
               g.params.parameter_count(), x.size(0), a.train, a.config.epochs, world.size(), threads);
  }
  auto cfg = a.config;
  cfg.rank = world.rank();
  cfg.replicas = world.size();
  if (world.size() > 1) cfg.sum = [&world](at::Tensor& t) { world.sum(t.data_ptr<float>(), t.numel()); };
  cfg.on_progress = [lead](const pipeline::TrainProgress& p) {
    if (!lead) return;
    fmt::print("  epoch {}/{} step {}/{}  loss {:.4f}  train acc {:.4f}  {:.0f} img/s  ETA {:.0f} s\n", p.epoch,
               p.epochs, p.step, p.steps, p.loss, p.accuracy, p.images_per_s, p.eta_s);
    std::fflush(stdout);
  };
  const auto report = pipeline::train(g, x, y, cfg);
  if (!lead) return;
  nlohmann::json recipe = {{"model", a.model},
                           {"options", {{"num_classes", a.options.num_classes}, {"in_channels", a.options.in_channels},
                                        {"width", a.options.width}, {"small_input", a.options.small_input}}},
                           {"train", a.train},
                           {"images", x.size(0)},
                           {"epochs", cfg.epochs},
                           {"batch_size", cfg.batch_size},
                           {"lr", cfg.lr},
                           {"warmup_epochs", cfg.warmup_epochs},
                           {"momentum", cfg.momentum},
                           {"weight_decay", cfg.weight_decay},
                           {"label_smoothing", cfg.label_smoothing},
                           {"flip", cfg.flip},
                           {"seed", cfg.seed},
                           {"ranks", world.size()},
                           {"threads", threads},
                           {"seconds", report.seconds},
                           {"final_train_loss", report.final_loss},
                           {"qsweep", fmt::format("{} ({})", version(), git_commit())}};
  if (!a.eval.empty()) {
    auto [ex, ey] = load_split(a.eval, 0);
    pipeline::TensorTaskData data({}, ex, ey, 500, "eval");
    const auto acc = pipeline::evaluate(g, {}, data);
    recipe["eval"] = a.eval;
    recipe["top1"] = acc.top1_percent();
    recipe["top5"] = acc.top5_percent();
    fmt::print("test top-1 {:.2f}%  top-5 {:.2f}% ({} images)\n", acc.top1_percent(), acc.top5_percent(), acc.total);
  }
  models::write_state_dict(a.out, models::state_dict_of(g));
  recipe["sha256"] = models::sha256_file(a.out);
  std::ofstream(a.out + ".json") << recipe.dump(2) << "\n";
  fmt::print("wrote {} (sha256 {}) and {}.json in {:.0f} s\n", a.out, recipe["sha256"].get<std::string>(), a.out,
             report.seconds);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  a->config.epochs = 5;
  a->config.lr = 0.1;
  a->config.progress_every = 100;
  auto* cmd = app.add_subcommand("train", "Train a zoo model on a prepared train split (the demo zoo's recipe)");
  cmd->add_option("--model", a->model, "architecture (qsweep inspect-model --help)")->required();
  input_file(cmd->add_option("--train", a->train, "train shard (qsweep prepare fashion-mnist → train.h5)")->required(),
             "a shard");
  input_file(cmd->add_option("--eval", a->eval, "evaluation shard: report test accuracy in the recipe"), "a shard");
  cmd->add_option("--out", a->out, "weights file to write (.pth; recipe at <out>.json)")->required();
  add_model_options(cmd, a->options);
  cmd->add_option("--epochs", a->config.epochs, "passes over the split")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", a->config.batch_size, "images per step (all ranks together)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", a->config.lr, "peak learning rate (cosine to 0)")->capture_default_str()
      ->check(CLI::Range(1e-8, 100.0));
  cmd->add_option("--warmup-epochs", a->config.warmup_epochs, "linear learning-rate warm-up before the cosine")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--momentum", a->config.momentum, "SGD momentum")->capture_default_str()
      ->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--weight-decay", a->config.weight_decay, "L2 weight decay")->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--label-smoothing", a->config.label_smoothing, "cross-entropy label smoothing")->capture_default_str()
      ->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--seed", a->config.seed, "initialisation, shuffling and flips")->capture_default_str();
  cmd->add_option("--max-images", a->max_images, "use only the first N train images (0: all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("!--no-flip", a->config.flip, "no random horizontal flips");
  cmd->add_option("--threads", a->threads, "intra-op threads per rank (0: the node's cores / ranks on it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->footer(
      "Under mpirun -n N the N ranks train one model data-parallel: every step each rank computes\n"
      "the gradients of 1/N of the batch and the ranks sum them, so the result depends on N but\n"
      "not on timing. Rank 0 prints progress and writes the files.");
  cmd->callback([a] {
    dist::World world(nullptr, nullptr);
    run(*a, world);
  });
}

}  // namespace qsweep::cli
