#include "results/run_writer.h"

#include <optional>
#include <system_error>

#include "common/check.h"
#include "results/h5.h"
#include "results/table_io.h"

namespace tbptt::results {

namespace fs = std::filesystem;

struct RunWriter::Tables {
  h5::Site site;
  h5::Handle file;
  std::optional<TableWriter<TrainRow>> train;
  std::optional<TableWriter<EvalRow>> eval;
  std::optional<TableWriter<FidelityRow>> fidelity;

  // Datasets first: HDF5 keeps a file open while any of its objects is.
  herr_t close() {
    train.reset();
    eval.reset();
    fidelity.reset();
    return file.reset();
  }
};

namespace {

void label_column(hid_t file, const std::string& column, const std::vector<std::string>& labels,
                  const h5::Site& site) {
  h5::Handle dataset = h5::open_dataset(file, column, site);
  h5::write_attribute(dataset.get(), "labels", labels, site);
}

void write_tensors(hid_t checkpoint, const std::string& section, const std::vector<Tensor>& tensors,
                   const h5::Site& site) {
  h5::Handle group = h5::create_group(checkpoint, section, site);
  for (const Tensor& tensor : tensors) {
    TBPTT_CHECK(!tensor.name.empty() && tensor.name.find('/') == std::string::npos,
                "tensor names are PyTorch names without '/': " + tensor.name);
    h5::write_floats(group.get(), tensor.name, tensor.shape, tensor.values, site);
  }
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error) throw WriteError(from, "rename to " + to.filename().string() + ": " + error.message());
}

}  // namespace

RunWriter::RunWriter(RunOptions options, const Attributes& attributes)
    : options_(std::move(options)) {
  open(attributes, false);
  flush();  // a run killed before its first row still shows up, with its config
}

RunWriter::RunWriter(RunOptions options, const Attributes& attributes, const Salvage& salvaged)
    : options_(std::move(options)) {
  open(attributes, true);
  for (const auto& row : salvaged.contents.train) append(row);
  for (const auto& row : salvaged.contents.eval) append(row);
  for (const auto& row : salvaged.contents.fidelity) append(row);
  if (salvaged.checkpoint) write_checkpoint(*salvaged.checkpoint);  // writes the rows, flushes
  flush();
  const fs::path partial = partial_file(final_path_);
  guarded([&] { rename_or_throw(path_, partial); });
  path_ = partial;
}

RunWriter::~RunWriter() {
  if (!tables_) return;
  try {
    if (!finished_ && !broken_) flush();
  } catch (...) {
    // A destructor must not throw; the rows of the last interval are lost, as in a kill.
  }
  tables_->close();
}

void RunWriter::open(const Attributes& attributes, bool resuming) {
  h5::quiet();
  check_experiment_name(options_.experiment);
  TBPTT_CHECK(!options_.run_id.empty() && options_.run_id.find('/') == std::string::npos,
              "run ids name files: non-empty, no '/'");
  TBPTT_CHECK(options_.flush_seconds >= 0, "flush_seconds must be >= 0");
  start_ = last_flush_ = std::chrono::steady_clock::now();

  final_path_ = run_file(options_.out_dir, options_.experiment, options_.run_id);
  std::error_code error;
  fs::create_directories(final_path_.parent_path(), error);
  if (error) throw WriteError(final_path_.parent_path(), "create folder: " + error.message());
  if (fs::exists(final_path_)) {
    if (!options_.overwrite)
      throw WriteError(final_path_, "a finished run file exists already (overwrite to replace it)");
    if (!fs::remove(final_path_, error) || error)
      throw WriteError(final_path_, "delete the old run file: " + error.message());
  }
  // A new run replaces any stale .part; a resumed one is written beside the .part it replaces.
  path_ = partial_file(final_path_);
  if (resuming) path_ += ".new";

  tables_ = std::make_unique<Tables>();
  Tables& t = *tables_;
  t.site = {path_, h5::Access::write};
  guarded([&] {
    t.file = h5::create_file(t.site);
    const hid_t file = t.file.get();
    const Attributes defaults = {
        {"schema_version", kSchemaVersion},
        {"experiment", options_.experiment},
        {"run_id", options_.run_id},
        {"status", std::string(to_string(RunStatus::running))},
        {"error", std::string()},
        {"diverged_at_update", int64_t{-1}},
        {"start_time", utc_now()},
        {"version.hdf5", hdf5_version()},
    };
    for (const auto& [name, value] : defaults) h5::write_attribute(file, name, value, t.site);
    for (const auto& [name, value] : attributes) h5::write_attribute(file, name, value, t.site);

    t.train.emplace(file, "train", kTrainColumns, t.site);
    t.eval.emplace(file, "eval", kEvalColumns, t.site);
    label_column(file, "eval/split", kSplitLabels, t.site);
    if (!options_.fidelity_groups.empty()) {
      t.fidelity.emplace(file, "fidelity", kFidelityColumns, t.site);
      label_column(file, "fidelity/group", options_.fidelity_groups, t.site);
    }
    if (!options_.vocab.empty()) {
      h5::Handle data = h5::create_group(file, "data", t.site);
      h5::write_strings(data.get(), "vocab", options_.vocab, t.site);
    }
  });
}

void RunWriter::guard() const {
  TBPTT_CHECK(!finished_, "the run file was finished already");
  if (broken_) throw WriteError(path_, "an earlier write failed; the writer is closed");
}

template <class F>
void RunWriter::guarded(F&& step) {
  guard();
  try {
    step();
  } catch (const WriteError&) {
    broken_ = true;
    throw;
  }
}

void RunWriter::set_attributes(const Attributes& attributes) {
  guarded([&] {
    for (const auto& [name, value] : attributes)
      h5::write_attribute(tables_->file.get(), name, value, tables_->site);
  });
}

void RunWriter::append(const TrainRow& row) {
  guard();
  tables_->train->add(row);
  maybe_flush();
}

void RunWriter::append(const EvalRow& row) {
  guard();
  tables_->eval->add(row);
  maybe_flush();
}

void RunWriter::append(const FidelityRow& row) {
  guard();
  TBPTT_CHECK(tables_->fidelity.has_value(), "fidelity rows need RunOptions::fidelity_groups");
  TBPTT_CHECK(row.group >= 0 && row.group < static_cast<int64_t>(options_.fidelity_groups.size()),
              "fidelity row group must index RunOptions::fidelity_groups");
  tables_->fidelity->add(row);
  maybe_flush();
}

void RunWriter::maybe_flush() {
  const std::chrono::duration<double> since = std::chrono::steady_clock::now() - last_flush_;
  if (since.count() >= options_.flush_seconds) flush();
}

void RunWriter::write_rows() {
  Tables& t = *tables_;
  t.train->write(t.site);
  t.eval->write(t.site);
  if (t.fidelity) t.fidelity->write(t.site);
}

void RunWriter::flush() {
  guarded([&] {
    write_rows();
    h5::check(H5Fflush(tables_->file.get(), H5F_SCOPE_LOCAL), tables_->site, "flush");
  });
  last_flush_ = std::chrono::steady_clock::now();
}

void RunWriter::write_checkpoint(const Checkpoint& checkpoint) {
  guarded([&] {
    const h5::Site& site = tables_->site;
    const hid_t file = tables_->file.get();
    write_rows();  // the rows a checkpoint covers reach the disk no later than it does
    const std::string name = checkpoint_group(checkpoint.update);
    if (h5::exists(file, name))
      h5::check(H5Ldelete(file, name.c_str(), H5P_DEFAULT), site, "replace " + name);
    h5::Handle group = h5::create_group(file, name, site);
    write_tensors(group.get(), "state_dict", checkpoint.state_dict, site);
    write_tensors(group.get(), "optimizer", checkpoint.optimizer, site);
    write_tensors(group.get(), "state", checkpoint.state, site);
    // The cursor goes last: read_checkpoint() treats a group without it as partial.
    for (const auto& [key, value] : checkpoint.extra) h5::write_attribute(group.get(), key, value, site);
    const Attributes cursor = {{"update", checkpoint.update},
                               {"epoch", checkpoint.epoch},
                               {"window", checkpoint.window},
                               {"tokens", checkpoint.tokens}};
    for (const auto& [key, value] : cursor) h5::write_attribute(group.get(), key, value, site);
    h5::check(H5Fflush(file, H5F_SCOPE_LOCAL), site, "flush");
  });
  checkpoints_.insert(checkpoint.update);
  last_flush_ = std::chrono::steady_clock::now();
}

void RunWriter::delete_checkpoint(int64_t update) {
  guarded([&] {
    const std::string name = checkpoint_group(update);
    if (h5::exists(tables_->file.get(), name))
      h5::check(H5Ldelete(tables_->file.get(), name.c_str(), H5P_DEFAULT), tables_->site,
                "delete " + name);
  });
  checkpoints_.erase(update);
}

void RunWriter::finish(const Outcome& outcome) {
  guarded([&] {
    const h5::Site& site = tables_->site;
    const hid_t file = tables_->file.get();
    write_rows();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start_;
    const Attributes ending = {{"end_time", utc_now()},
                               {"wall_time_s", wall.count()},
                               {"diverged_at_update", outcome.diverged_at_update},
                               {"error", outcome.error}};
    for (const auto& [name, value] : ending) h5::write_attribute(file, name, value, site);
    for (const auto& [name, value] : outcome.attributes) h5::write_attribute(file, name, value, site);
    h5::write_attribute(file, "status", std::string(to_string(outcome.status)), site);
    h5::check(tables_->close(), site, "close");
    rename_or_throw(path_, final_path_);
  });
  tables_.reset();
  path_ = final_path_;
  finished_ = true;
}

}  // namespace tbptt::results
