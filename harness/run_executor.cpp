#include "harness/run_executor.h"

#include <omp.h>

#include <csignal>
#include <cstdlib>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "common/stopwatch.h"
#include "data/dataset.h"
#include "engine/trainer.h"
#include "harness/checkpoint_io.h"
#include "harness/evaluation.h"
#include "harness/fidelity_probe.h"
#include "harness/run_settings.h"
#include "harness/shared_step.h"
#include "harness/system_info.h"
#include "results/errors.h"
#include "results/run_reader.h"
#include "results/run_writer.h"

namespace tbptt::harness {
namespace {

results::Value to_value(const Param& p) {
  return std::visit([](const auto& v) -> results::Value { return v; }, p);
}

class TrainingRun {
 public:
  TrainingRun(const Run& run, RankGroup& group, const RunEnvironment& env)
      : run_(run), group_(group), env_(env), s_(read_settings(run)) {
    // Test hook: TBPTT_FAULT_KILL_AFTER_UPDATE=n kills the leader (SIGKILL, like a crash or the OOM
    // killer) right after update n of any run, once its rows are flushed. Used by tests only.
    if (const char* n = std::getenv("TBPTT_FAULT_KILL_AFTER_UPDATE")) fault_kill_after_ = std::atoll(n);
    // Replicas must stay bitwise identical: checked every 100 updates in debug builds, and every
    // n with TBPTT_CHECK_REPLICAS=n (the data-parallel tests use 1).
#ifndef NDEBUG
    replica_check_every_ = 100;
#endif
    if (const char* n = std::getenv("TBPTT_CHECK_REPLICAS")) replica_check_every_ = std::atoll(n);
  }

  RunResult execute() {
    start_ = Clock::now();
    omp_set_num_threads(threads_for(s_));
    reset_peak_rss();
    const std::vector<std::string> hosts = host_names(group_.comm());  // collective; nothing has failed yet
    try {
      setup(hosts);
      group_.sum({});  // every rank is set up
      train();
      if (result_.status == results::RunStatus::completed) {
        if (last_eval_ != progress_.updates) evaluate_all();
        save_checkpoint(replica_.trainer->state());
      }
      group_.sum({});  // every rank finished cleanly
    } catch (const RunAborted& e) {  // some rank failed or a signal arrived: every rank is here
      result_.status = e.interrupted() ? results::RunStatus::interrupted : results::RunStatus::failed;
      result_.error = e.what();
      if (e.interrupted() && replica_.trainer) save_checkpoint_quietly();
    } catch (const results::WriteError& e) {  // the output is unusable: fail the run, stop the sweep
      group_.fail();
      result_.status = results::RunStatus::failed;
      result_.error = e.what();
      result_.output_failed = true;
      std::cerr << "tbptt: run " << s_.run_id << ": cannot write its results: " << e.what() << "\n";
    } catch (const std::exception& e) {  // this rank failed: tell the others, then leave
      group_.fail();
      result_.status = results::RunStatus::failed;
      result_.error = e.what();
      std::cerr << "tbptt: run " << s_.run_id << " failed on rank " << group_.rank() << " of its group: " << e.what() << "\n";
    }
    finish();
    return result_;
  }

 private:
  // --- setup ----------------------------------------------------------------------------------

  void setup(const std::vector<std::string>& hosts) {
    dataset_ = std::make_unique<data::Dataset>(s_.data);
    fit_to_data(s_.model, dataset_->shape());
    data::WindowPlan plan = s_.train;
    plan.rank = group_.rank();
    plan.ranks = group_.size();
    const int64_t per_epoch = dataset_->windows_per_epoch(plan);
    total_updates_ = planned_updates(s_, per_epoch);
    s_.trainer.total_updates = total_updates_;
    for (data::Split split : s_.eval_splits) dataset_->windows_per_epoch(eval_plan(s_, split, group_.rank(), group_.size()));
    batches_ = std::make_unique<data::WindowIterator>(dataset_->windows(plan));

    // Ranks on one node share the parameters and step a shard each (see shared_step.h). A round
    // first: a rank that failed above answers it, before the collectives of SharedStep::create.
    group_.sum({});
    const int rows = plan.batch / plan.ranks;
    replica_ = make_replica(group_, s_.model, s_.seed, s_.trainer, rows);
    saved_state_ = replica_.trainer->state();
    if (s_.fidelity_every > 0) probe_ = std::make_unique<FidelityProbe>(s_, *dataset_, plan, *replica_.model, rows);

    std::optional<results::Salvage> salvaged;
    if (env_.resume) salvaged = resume();
    if (group_.leader()) {
      results::RunOptions options{env_.out_dir, env_.experiment, s_.run_id, s_.flush_seconds,
                                  env_.overwrite || salvaged.has_value(),
                                  probe_ ? FidelityProbe::group_names(s_.model) : std::vector<std::string>{},
                                  dataset_->vocabulary()};
      const results::Attributes attributes = start_attributes(hosts, rows);
      writer_ = salvaged && salvaged->checkpoint ? std::make_unique<results::RunWriter>(options, attributes, *salvaged)
                                                 : std::make_unique<results::RunWriter>(options, attributes);
    }
  }

  // Continue from the newest checkpoint of an incomplete run file, if there is one.
  std::optional<results::Salvage> resume() {
    const auto finished = results::run_file(env_.out_dir, env_.experiment, s_.run_id);
    const auto partial = results::partial_file(finished);
    const auto path = std::filesystem::exists(partial) ? partial : finished;  // .part, or an interrupted .h5
    std::optional<results::Salvage> salvaged;
    int64_t update = -1;
    if (group_.leader() && std::filesystem::exists(path)) {
      try {
        salvaged = results::salvage(path);
        if (salvaged->checkpoint) update = salvaged->checkpoint->update;
      } catch (const std::exception& e) {  // an unreadable file: start the run over
        std::cerr << "tbptt: run " << s_.run_id << ": cannot resume from " << path << " (" << e.what() << "); starting over\n";
        salvaged.reset();
      }
    }
    double shared[1] = {group_.leader() ? static_cast<double>(update + 1) : 0.0};
    group_.sum(shared);  // a round, not a broadcast: a rank that failed setup can still answer it
    update = static_cast<int64_t>(shared[0]) - 1;
    if (update < 0) return salvaged;
    const results::Checkpoint cp = group_.leader() ? *salvaged->checkpoint : results::read_checkpoint(path, update);
    progress_ = restore_checkpoint(*replica_.trainer, cp, group_);
    batches_->seek(progress_.cursor);
    saved_state_ = replica_.trainer->state();
    last_eval_ = progress_.updates;
    group_.sum({});  // every rank has read the file before the leader replaces it
    return salvaged;
  }

  results::Attributes start_attributes(const std::vector<std::string>& hosts, int rows) {
    results::Attributes a = {{"config", run_.yaml()}};
    for (const auto& [key, value] : run_.params()) a.emplace_back(key, to_value(value));
    std::vector<std::string> swept;
    for (const auto& [key, value] : run_.swept()) swept.push_back(key);
    a.emplace_back("swept", swept);
    a.emplace_back("version.tbptt", tbptt_version());
    a.emplace_back("version.onednn", onednn_version());
    a.emplace_back("version.mpi", mpi_version());
    a.emplace_back("hosts", hosts);
    a.emplace_back("ranks", static_cast<int64_t>(group_.size()));
    a.emplace_back("gradient_reduction", std::string(group_.size() == 1 ? "none" : replica_.shared ? "shared_memory" : "allreduce"));
    int world_rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    a.emplace_back("leader_world_rank", static_cast<int64_t>(world_rank));
    a.emplace_back("threads_per_rank", static_cast<int64_t>(omp_get_max_threads()));
    a.emplace_back("parameter_count", static_cast<int64_t>(replica_.model->layout().size()));
    a.emplace_back("workspace_bytes", static_cast<int64_t>(engine::estimate_memory(s_.model, s_.train.k2, rows).workspace));
    a.emplace_back("updates_planned", total_updates_);
    return a;
  }

  // --- training -------------------------------------------------------------------------------

  void train() {
    data::Window w;
    while (!done()) {
      const auto t0 = Clock::now();
      if (!batches_->next(w)) {  // an epoch ended
        replica_.trainer->schedule().on_epoch_end(batches_->cursor().epoch);
        if (s_.eval_every == 0 && last_eval_ != progress_.updates) evaluate_all();
        continue;
      }
      const double t_data = seconds_since(t0);
      if (env_.interrupted && env_.interrupted->load()) group_.request_interrupt();
      if (s_.max_time > 0 && group_.leader() && seconds_since(start_) > s_.max_time) group_.request_stop();

      double t_probe = 0;
      const bool probing = probe_ && (progress_.updates + 1) % s_.fidelity_every == 0;
      if (probe_) {
        probe_->remember(w, replica_.trainer->state(), s_.trainer.carry_state);
        if (probing) {
          const auto t = Clock::now();
          probe_->long_gradient(*replica_.model, w, group_);  // with the weights this update starts from
          t_probe = seconds_since(t);
        }
      }
      const engine::UpdateStats st = replica_.trainer->update(view(w));
      if (replica_check_every_ > 0 && replica_.trainer->updates() % replica_check_every_ == 0) check_replicas();
      const int64_t tokens = static_cast<int64_t>(w.T - w.new_from) * s_.train.batch;
      progress_ = {batches_->cursor(), replica_.trainer->updates(), progress_.tokens + tokens};
      saved_state_.h = replica_.trainer->state().h, saved_state_.c = replica_.trainer->state().c;

      last_epoch_ = w.epoch;
      record(st, t_data, seconds_since(t0) - t_probe, tokens);
      if (probing && st.targets > 0) {
        std::span<const float> summed = replica_.trainer->grads();
        if (replica_.shared) {  // this rank holds the sum on its shard only: the leader gathers the rest
          summed_.resize(writer_ ? summed.size() : 0);
          replica_.shared->gather_gradient(summed_);
          summed = summed_;
        }
        if (writer_)
          for (const results::FidelityRow& row : probe_->compare(summed, progress_.updates)) writer_->append(row);
      }
      if (st.targets > 0 && !(std::isfinite(st.loss) && std::isfinite(st.grad_norm))) {
        result_.status = results::RunStatus::diverged;
        result_.error = "non-finite " + std::string(std::isfinite(st.loss) ? "gradient norm" : "loss") + " at update " +
                        std::to_string(progress_.updates);
        diverged_at_ = progress_.updates;
        return;
      }
      if (s_.eval_every > 0 && progress_.updates % s_.eval_every == 0) evaluate_all();
      if (s_.checkpoint_every > 0 && progress_.updates % s_.checkpoint_every == 0) save_checkpoint(replica_.trainer->state());
      if (env_.tick)
        env_.tick({s_.run_id, progress_.updates, total_updates_,
                   s_.max_time > 0 ? seconds_since(start_) / s_.max_time : 0.0, st.loss});
      if (group_.leader() && fault_kill_after_ == progress_.updates) {
        if (writer_) writer_->flush();
        std::raise(SIGKILL);  // a crash, for the kill/resume tests (TBPTT_FAULT_KILL_AFTER_UPDATE)
      }
      if (group_.stop_agreed()) return;  // time budget reached
    }
  }

  void check_replicas() {
    if (!group_.replicas_identical(replica_.model->params()))
      throw std::runtime_error("the ranks' parameters differ after update " + std::to_string(replica_.trainer->updates()) +
                               " (replicas must stay bitwise identical)");
    ++replica_checks_;
  }

  bool done() const {
    if (s_.tokens > 0 && progress_.tokens >= s_.tokens) return true;
    if (s_.steps > 0) return progress_.updates >= s_.steps;
    return batches_->cursor().epoch >= s_.epochs;
  }

  void record(const engine::UpdateStats& st, double t_data, double t_update, int64_t tokens) {
    if (std::isfinite(st.loss)) result_.final_train_loss = st.loss;
    if (!writer_) return;
    results::TrainRow row;
    row.update = progress_.updates;
    row.epoch = last_epoch_;
    row.tokens = progress_.tokens;
    row.loss = st.loss;
    row.accuracy = st.accuracy;
    row.grad_norm = st.grad_norm;
    row.lr = st.lr;
    row.wall_time = seconds_since(start_);
    row.tokens_per_s = static_cast<double>(tokens) / t_update;
    row.time_data = t_data;
    row.time_forward = st.pass.forward;
    row.time_backward = st.pass.backward;
    row.time_allreduce = st.allreduce;
    row.time_optimizer = st.optimizer;
    writer_->append(row);
  }

  // --- evaluation -----------------------------------------------------------------------------

  void evaluate_all() {
    for (data::Split split : s_.eval_splits) {
      const results::EvalRow row = evaluate(split);
      if (split == data::Split::valid) {
        replica_.trainer->schedule().on_eval(row.loss);
        result_.final_valid_loss = row.loss;
      }
      if (writer_) writer_->append(row);
    }
    last_eval_ = progress_.updates;
  }

  results::EvalRow evaluate(data::Split split) {
    results::EvalRow row = evaluate_split(*replica_.model, *dataset_, s_, split, &group_);
    row.update = progress_.updates;
    row.epoch = last_epoch_;
    return row;
  }

  // --- checkpoints ----------------------------------------------------------------------------

  void save_checkpoint(const engine::RecurrentState& state) {
    const results::Checkpoint cp = gather_checkpoint(*replica_.trainer, state, progress_, group_);
    if (!writer_) return;
    writer_->write_checkpoint(cp);
    const std::set<int64_t> kept = writer_->checkpoints();
    int64_t excess = static_cast<int64_t>(kept.size()) - s_.checkpoint_keep;
    for (auto it = kept.begin(); excess > 0; ++it, --excess) writer_->delete_checkpoint(*it);
  }

  // On a signal every rank saves the state as of the last completed update.
  void save_checkpoint_quietly() {
    try {
      save_checkpoint(saved_state_);
    } catch (const std::exception& e) {
      std::cerr << "tbptt: run " << s_.run_id << ": could not checkpoint after the signal: " << e.what() << "\n";
    }
  }

  // --- finish ---------------------------------------------------------------------------------

  void finish() {
    int64_t peak = peak_rss_bytes();  // every rank is past its last round: this cannot deadlock
    MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPI_INT64_T, MPI_MAX, group_.comm());
    result_.seconds = seconds_since(start_);
    result_.updates = progress_.updates;
    if (!writer_) return;
    try {
      results::Outcome outcome{result_.status, result_.error, diverged_at_,
                               {{"peak_rss_bytes", peak}, {"updates", progress_.updates}, {"replica_checks", replica_checks_}}};
      writer_->finish(outcome);
    } catch (const std::exception& e) {
      if (!result_.output_failed) {  // else the writer only repeats that an earlier write failed: keep that one
        result_.error = std::string("could not finish the run file: ") + e.what();
        std::cerr << "tbptt: run " << s_.run_id << ": " << result_.error << "\n";
      }
      result_.status = results::RunStatus::failed;
      result_.output_failed = true;
    }
  }

  const Run& run_;
  RankGroup& group_;
  const RunEnvironment& env_;
  RunSettings s_;
  Clock::time_point start_;
  std::unique_ptr<data::Dataset> dataset_;
  std::unique_ptr<data::WindowIterator> batches_;
  Replica replica_;  // this rank's model and trainer, and the memory they share with their peers
  std::vector<float> summed_;  // the leader's copy of the summed gradient for the fidelity probe
  std::unique_ptr<results::RunWriter> writer_;  // the leader's only
  std::unique_ptr<FidelityProbe> probe_;        // fidelity.every > 0
  engine::RecurrentState saved_state_;          // the carried state as of progress_
  Progress progress_;
  int64_t total_updates_ = 0, last_eval_ = -1, diverged_at_ = -1, last_epoch_ = 0;
  int64_t fault_kill_after_ = -1, replica_check_every_ = 0, replica_checks_ = 0;
  RunResult result_;
};

}  // namespace

RunResult execute_run(const Run& run, RankGroup& group, const RunEnvironment& env) {
  group.reset_flags();
  return TrainingRun(run, group, env).execute();
}

}  // namespace tbptt::harness
