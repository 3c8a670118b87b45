#include "harness/checkpoint_io.h"

#include <mpi.h>

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace tbptt::harness {
namespace {

// [P][L][b][H] as gathered (rank-major) <-> [L][P*b][H] as stored (layer-major, all rows).
void rank_major_to_layer_major(const std::vector<float>& in, std::vector<float>& out, int P, int L, int b, int H) {
  out.resize(in.size());
  for (int r = 0; r < P; ++r)
    for (int l = 0; l < L; ++l)
      std::copy_n(in.begin() + ((static_cast<size_t>(r) * L + l) * b) * H, static_cast<size_t>(b) * H,
                  out.begin() + (static_cast<size_t>(l) * P * b + static_cast<size_t>(r) * b) * H);
}

results::Tensor gather_rows(const std::vector<float>& local, const char* name, int L, int b, int H, RankGroup& group) {
  std::vector<float> gathered(group.leader() ? local.size() * group.size() : 0);
  MPI_Gather(local.data(), static_cast<int>(local.size()), MPI_FLOAT, gathered.data(), static_cast<int>(local.size()),
             MPI_FLOAT, 0, group.comm());
  results::Tensor t{name, {L, static_cast<int64_t>(b) * group.size(), H}, {}};
  if (group.leader()) rank_major_to_layer_major(gathered, t.values, group.size(), L, b, H);
  return t;
}

const results::Tensor& tensor(const std::vector<results::Tensor>& v, const std::string& name) {
  for (const auto& t : v)
    if (t.name == name) return t;
  throw std::runtime_error("the checkpoint has no tensor named " + name);
}

}  // namespace

results::Checkpoint gather_checkpoint(engine::TruncatedTrainer& trainer, const engine::RecurrentState& state,
                                      const Progress& progress, RankGroup& group) {
  results::Checkpoint cp;
  cp.update = progress.updates;
  cp.epoch = progress.cursor.epoch;
  cp.window = progress.cursor.index;
  cp.tokens = progress.tokens;
  cp.state.push_back(gather_rows(state.h, "h", state.L, state.B, state.H, group));
  if (state.lstm) cp.state.push_back(gather_rows(state.c, "c", state.L, state.B, state.H, group));
  if (!group.leader()) return cp;
  engine::Model& model = trainer.model();
  for (auto& t : model.layout().export_state_dict(model.params()))
    cp.state_dict.push_back({t.name, std::vector<int64_t>(t.shape.begin(), t.shape.end()), std::move(t.data)});
  for (const auto& [name, buffer] : trainer.optimizer().state())
    cp.optimizer.push_back({name, {static_cast<int64_t>(buffer.size())}, {buffer.begin(), buffer.end()}});
  const auto schedule = trainer.schedule().state();
  cp.extra = {{"optimizer_steps", trainer.optimizer().steps()},
              {"lr", schedule.lr},
              {"best_valid_loss", schedule.best},
              {"bad_evals", schedule.bad_evals}};
  return cp;
}

Progress restore_checkpoint(engine::TruncatedTrainer& trainer, const results::Checkpoint& cp, const RankGroup& group) {
  engine::Model& model = trainer.model();
  std::vector<engine::NamedTensor> sd;
  for (const auto& t : cp.state_dict) sd.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
  model.layout().import_state_dict(sd, model.params());
  for (auto& [name, buffer] : trainer.optimizer().state()) {
    const auto& saved = tensor(cp.optimizer, name).values;
    TBPTT_CHECK(saved.size() == buffer.size(), "optimizer state " + name + " has the wrong size");
    std::copy(saved.begin(), saved.end(), buffer.begin());
  }
  trainer.optimizer().set_steps(results::get_or<int64_t>(cp.extra, "optimizer_steps", 0));
  trainer.schedule().restore({results::get_or<double>(cp.extra, "lr", trainer.schedule().lr()),
                              results::get_or<double>(cp.extra, "best_valid_loss", INFINITY),
                              results::get_or<int64_t>(cp.extra, "bad_evals", 0)});
  trainer.set_updates(cp.update);
  // This rank's rows of the carried state: rows [rank*b, (rank+1)*b) of every layer.
  engine::RecurrentState& state = trainer.state();
  auto take_rows = [&](const char* name, std::vector<float>& local) {
    const results::Tensor& all = tensor(cp.state, name);
    TBPTT_CHECK(all.shape.size() == 3 && all.shape[0] == state.L && all.shape[1] == static_cast<int64_t>(state.B) * group.size() &&
                    all.shape[2] == state.H,
                std::string("carried state ") + name + " does not match the run's layers, batch and hidden size");
    for (int l = 0; l < state.L; ++l)
      std::copy_n(all.values.begin() + (static_cast<size_t>(l) * all.shape[1] + static_cast<size_t>(group.rank()) * state.B) * state.H,
                  static_cast<size_t>(state.B) * state.H, local.begin() + static_cast<size_t>(l) * state.B * state.H);
  };
  take_rows("h", state.h);
  if (state.lstm) take_rows("c", state.c);
  return {{cp.epoch, cp.window}, cp.update, cp.tokens};
}

}  // namespace tbptt::harness
