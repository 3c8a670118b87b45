#include "results/run_reader.h"

#include <algorithm>

#include "results/h5.h"
#include "results/table_io.h"

namespace tbptt::results {

namespace {

std::vector<Tensor> read_tensors(hid_t checkpoint, const std::string& group, const h5::Site& site) {
  std::vector<Tensor> tensors;
  if (!h5::exists(checkpoint, group)) return tensors;
  h5::Handle handle = h5::open_group(checkpoint, group, site);
  for (const auto& name : h5::member_names(handle.get(), site)) {
    Tensor tensor{name, {}, {}};
    tensor.values = h5::read_floats(handle.get(), name, tensor.shape, site);
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

// Rows of `rows` whose update is at most `update`.
template <class Row>
void keep_until(std::vector<Row>& rows, int64_t update) {
  std::erase_if(rows, [update](const Row& row) { return row.update > update; });
}

}  // namespace

RunContents read_run(const std::filesystem::path& path) {
  h5::quiet();
  const h5::Site site{path, h5::Access::read};
  h5::Handle file = h5::open_file(site);
  RunContents run;
  run.path = path;
  run.attributes = h5::read_attributes(file.get(), site);
  run.train = read_table(file.get(), "train", kTrainColumns, site);
  run.eval = read_table(file.get(), "eval", kEvalColumns, site);
  run.fidelity = read_table(file.get(), "fidelity", kFidelityColumns, site);
  if (h5::exists(file.get(), "fidelity/group")) {
    h5::Handle dataset = h5::open_dataset(file.get(), "fidelity/group", site);
    run.fidelity_groups = get_or(h5::read_attributes(dataset.get(), site), "labels",
                                 std::vector<std::string>{});
  }
  if (h5::exists(file.get(), "data/vocab")) run.vocab = h5::read_strings(file.get(), "data/vocab", site);
  if (h5::exists(file.get(), "checkpoint")) {
    h5::Handle group = h5::open_group(file.get(), "checkpoint", site);
    for (const auto& name : h5::member_names(group.get(), site)) {
      const bool digits = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
      if (digits) run.checkpoints.push_back(std::stoll(name));
    }
    std::sort(run.checkpoints.begin(), run.checkpoints.end());
  }
  return run;
}

Checkpoint read_checkpoint(const std::filesystem::path& path, int64_t update) {
  h5::quiet();
  const h5::Site site{path, h5::Access::read};
  h5::Handle file = h5::open_file(site);
  const std::string name = checkpoint_group(update);
  if (!h5::exists(file.get(), name)) h5::fail(site, "no checkpoint at update " + std::to_string(update));
  h5::Handle group = h5::open_group(file.get(), name, site);
  Checkpoint checkpoint;
  // Every checkpoint the writer publishes has its cursor; one without it is not a checkpoint.
  for (auto& [key, value] : h5::read_attributes(group.get(), site)) {
    int64_t* cursor = key == "update" ? &checkpoint.update
                      : key == "epoch" ? &checkpoint.epoch
                      : key == "window" ? &checkpoint.window
                      : key == "tokens" ? &checkpoint.tokens
                                        : nullptr;
    if (cursor == nullptr) {
      checkpoint.extra.emplace_back(key, value);
    } else if (std::holds_alternative<int64_t>(value)) {
      *cursor = std::get<int64_t>(value);
    }
  }
  for (const char* required : {"update", "epoch", "window", "tokens"})
    if (h5::check(H5Aexists(group.get(), required), site, "check attributes") <= 0)
      h5::fail(site, name + " is incomplete: attribute " + required + " is missing");
  checkpoint.state_dict = read_tensors(group.get(), "state_dict", site);
  checkpoint.optimizer = read_tensors(group.get(), "optimizer", site);
  checkpoint.state = read_tensors(group.get(), "state", site);
  return checkpoint;
}

Salvage salvage(const std::filesystem::path& path) {
  Salvage salvaged{read_run(path), std::nullopt};
  RunContents& contents = salvaged.contents;
  // Newest first; a checkpoint the kill interrupted fails to load and the previous one is used.
  for (auto it = contents.checkpoints.rbegin(); it != contents.checkpoints.rend(); ++it) {
    try {
      salvaged.checkpoint = read_checkpoint(path, *it);
      break;
    } catch (const ReadError&) {
      continue;
    }
  }
  // Without a checkpoint the run starts over, so no row is kept.
  const int64_t covered = salvaged.checkpoint ? salvaged.checkpoint->update : -1;
  keep_until(contents.train, covered);
  keep_until(contents.eval, covered);
  keep_until(contents.fidelity, covered);
  contents.checkpoints.clear();
  if (salvaged.checkpoint) contents.checkpoints.push_back(covered);
  return salvaged;
}

}  // namespace tbptt::results
