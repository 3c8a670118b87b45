#pragma once
// Reading one run file: finished (<run_id>.h5) or killed mid-run (<run_id>.h5.part).
//
// A killed file holds everything up to the writer's last flush. Checkpoints are read through the
// run file's checkpoint/<update> external links (run_writer.h); a checkpoint file that no link
// points at does not exist for these functions. salvage() is the first half of resuming a killed
// run: it keeps the newest checkpoint that loads completely and the rows that checkpoint covers
// (update <= its update); the harness passes both to the resuming RunWriter constructor, which
// publishes them as the run's new first image before training continues.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "results/errors.h"
#include "results/schema.h"
#include "results/value.h"

namespace tbptt::results {

struct RunContents {
  std::filesystem::path path;
  Attributes attributes;  // root attributes, in storage order
  std::vector<TrainRow> train;
  std::vector<EvalRow> eval;
  std::vector<FidelityRow> fidelity;
  std::vector<std::string> fidelity_groups;  // labels of fidelity/group; empty when probe was off
  std::vector<std::string> vocab;            // data/vocab; empty for non-token data
  std::vector<int64_t> checkpoints;          // updates with a checkpoint link, ascending
};

// Throws ReadError naming the path if the file cannot be opened or read.
RunContents read_run(const std::filesystem::path& path);
Checkpoint read_checkpoint(const std::filesystem::path& path, int64_t update);

struct Salvage {
  RunContents contents;                  // rows with update <= checkpoint->update; none if no checkpoint
  std::optional<Checkpoint> checkpoint;  // empty: nothing to resume from, start over
};
Salvage salvage(const std::filesystem::path& path);

}  // namespace tbptt::results
