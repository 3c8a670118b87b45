#include "results/run_writer.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <system_error>

#include "common/check.h"
#include "results/atomic_file.h"
#include "results/h5.h"
#include "results/table_io.h"
#include "results/writer_lock.h"

namespace tbptt::results {

namespace fs = std::filesystem;

struct RunWriter::Tables {
  h5::Site site;
  h5::Handle file;  // in memory: see create_memory_file
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

// One checkpoint as its own file: the tensors and the cursor at its root (which the run file's
// checkpoint/<update> link points at), written to <file>.tmp and renamed into place.
void write_checkpoint_file(const fs::path& file, const Checkpoint& checkpoint) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  if (error) throw WriteError(file.parent_path(), "create folder: " + error.message());
  const fs::path temporary = temporary_file(file);
  try {
    const h5::Site site{temporary, h5::Access::write};
    h5::Handle handle = h5::create_file(site);
    const hid_t root = handle.get();
    write_tensors(root, "state_dict", checkpoint.state_dict, site);
    write_tensors(root, "optimizer", checkpoint.optimizer, site);
    write_tensors(root, "state", checkpoint.state, site);
    for (const auto& [key, value] : checkpoint.extra) h5::write_attribute(root, key, value, site);
    const Attributes cursor = {{"update", checkpoint.update},
                               {"epoch", checkpoint.epoch},
                               {"window", checkpoint.window},
                               {"tokens", checkpoint.tokens}};
    for (const auto& [key, value] : cursor) h5::write_attribute(root, key, value, site);
    h5::check(handle.reset(), site, "close");
  } catch (const WriteError&) {
    std::error_code ignored;  // the error being thrown is the one worth reporting
    fs::remove(temporary, ignored);
    throw;
  }
  commit_file(temporary, file);
}

// Test hook (tests/results/test_crash.cpp): TBPTT_FAULT_KILL_BEFORE_LINK=<update> SIGKILLs the
// writer after the checkpoint file of that update is published and before any image links it,
// the one moment at which a kill leaves a checkpoint file that nothing links.
void fault_point_before_link(int64_t update) {
  const char* kill_at = std::getenv("TBPTT_FAULT_KILL_BEFORE_LINK");
  if (kill_at != nullptr && std::atoll(kill_at) == update) std::raise(SIGKILL);
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace

RunWriter::RunWriter(RunOptions options, const Attributes& attributes)
    : options_(std::move(options)) {
  open(attributes);
  // A run killed before its first row still shows up, with its config.
  guarded([&] {
    publish();
    remove_replaced_files();
  });
}

RunWriter::RunWriter(RunOptions options, const Attributes& attributes, const Salvage& salvaged)
    : options_(std::move(options)) {
  open(attributes);
  guarded([&] {
    // Straight into the tables: append() could publish once per row.
    for (const auto& row : salvaged.contents.train) tables_->train->add(row);
    for (const auto& row : salvaged.contents.eval) tables_->eval->add(row);
    for (const auto& row : salvaged.contents.fidelity) add(row);
    if (const auto& checkpoint = salvaged.checkpoint) {
      std::error_code different;
      const bool own = fs::equivalent(checkpoint_file(salvaged.contents.path, checkpoint->update),
                                      checkpoint_file(final_path_, checkpoint->update), different);
      if (own)
        link_checkpoint(checkpoint->update);
      else
        store_checkpoint(*checkpoint);
    }
    publish();
    remove_replaced_files();
  });
}

RunWriter::~RunWriter() {
  if (!tables_) return;
  try {
    if (!finished_ && !broken_) publish();
  } catch (...) {
    // A destructor must not throw; the rows of the last interval are lost, as in a kill.
  }
  tables_->close();
}  // then lock_ removes the lock file

void RunWriter::open(const Attributes& attributes) {
  h5::quiet();
  check_experiment_name(options_.experiment);
  TBPTT_CHECK(!options_.run_id.empty() && options_.run_id.find('/') == std::string::npos,
              "run ids name files: non-empty, no '/'");
  TBPTT_CHECK(options_.flush_seconds >= 0, "flush_seconds must be >= 0");
  start_ = last_flush_ = std::chrono::steady_clock::now();

  final_path_ = run_file(options_.out_dir, options_.experiment, options_.run_id);
  path_ = partial_file(final_path_);
  std::error_code error;
  fs::create_directories(final_path_.parent_path(), error);
  if (error) throw WriteError(final_path_.parent_path(), "create folder: " + error.message());
  lock_ = std::make_unique<WriterLock>(lock_file(final_path_));
  if (fs::exists(final_path_) && !options_.overwrite)
    throw WriteError(final_path_, "a finished run file exists already (overwrite to replace it)");

  tables_ = std::make_unique<Tables>();
  Tables& t = *tables_;
  t.site = {path_, h5::Access::write};
  guarded([&] {
    t.file = h5::create_memory_file(t.site);
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
  add(row);
  maybe_flush();
}

void RunWriter::add(const FidelityRow& row) {
  TBPTT_CHECK(tables_->fidelity.has_value(), "fidelity rows need RunOptions::fidelity_groups");
  TBPTT_CHECK(row.group >= 0 && row.group < static_cast<int64_t>(options_.fidelity_groups.size()),
              "fidelity row group must index RunOptions::fidelity_groups");
  tables_->fidelity->add(row);
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

void RunWriter::publish() {
  write_rows();
  const std::vector<char> image = h5::file_image(tables_->file.get(), tables_->site);
  write_atomically(path_, image.data(), image.size());
  last_flush_ = std::chrono::steady_clock::now();
}

void RunWriter::flush() {
  guarded([&] { publish(); });
}

void RunWriter::store_checkpoint(const Checkpoint& checkpoint) {
  // The file first: a published image never links a checkpoint that is not complete on disk.
  write_checkpoint_file(checkpoint_file(final_path_, checkpoint.update), checkpoint);
  fault_point_before_link(checkpoint.update);
  link_checkpoint(checkpoint.update);
}

void RunWriter::link_checkpoint(int64_t update) {
  const std::string name = checkpoint_group(update);
  if (!h5::exists(tables_->file.get(), name)) {
    // Relative to the run file's folder, so the results folder can be moved whole.
    const fs::path target = checkpoint_file(final_path_, update).lexically_relative(final_path_.parent_path());
    h5::link_external(tables_->file.get(), name, target.string(), "/", tables_->site);
  }
  checkpoints_.insert(update);
}

void RunWriter::write_checkpoint(const Checkpoint& checkpoint) {
  guarded([&] {
    store_checkpoint(checkpoint);
    publish();  // the rows the checkpoint covers and its link, in one image
  });
}

void RunWriter::delete_checkpoint(int64_t update) {
  guarded([&] {
    const std::string name = checkpoint_group(update);
    if (!h5::exists(tables_->file.get(), name)) return;
    h5::delete_link(tables_->file.get(), name, tables_->site);
    checkpoints_.erase(update);
    publish();  // no published image links the file any more: now it can go
    const fs::path file = checkpoint_file(final_path_, update);
    std::error_code error;
    fs::remove(file, error);
    if (error) throw WriteError(file, "delete: " + error.message());
  });
}

void RunWriter::remove_replaced_files() {
  std::error_code error;
  // Only after this writer's first image is published, so a kill in between leaves the old
  // finished file (which still wins over a .part), never no file at all.
  fs::remove(final_path_, error);
  if (error) throw WriteError(final_path_, "delete the old run file: " + error.message());
  // Checkpoint files no published image links any more: from the run this one replaces, or
  // left by a kill between a checkpoint's file and its link; also stray .tmp files.
  const fs::path folder = checkpoint_dir(final_path_);
  std::vector<fs::path> unlinked;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const bool linked = std::any_of(checkpoints_.begin(), checkpoints_.end(), [&](int64_t update) {
      return it->path() == checkpoint_file(final_path_, update);
    });
    if (!linked) unlinked.push_back(it->path());
  }
  if (error && error != std::errc::no_such_file_or_directory)
    throw WriteError(folder, "list checkpoint files: " + error.message());
  for (const fs::path& file : unlinked) {
    fs::remove_all(file, error);
    if (error) throw WriteError(file, "delete an unlinked checkpoint file: " + error.message());
  }
  if (checkpoints_.empty()) fs::remove(folder, error);  // an empty folder; fails harmlessly if not
}

void RunWriter::finish(const Outcome& outcome) {
  guarded([&] {
    const h5::Site& site = tables_->site;
    const hid_t file = tables_->file.get();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start_;
    const Attributes ending = {{"end_time", utc_now()},
                               {"wall_time_s", wall.count()},
                               {"diverged_at_update", outcome.diverged_at_update},
                               {"error", outcome.error}};
    for (const auto& [name, value] : ending) h5::write_attribute(file, name, value, site);
    for (const auto& [name, value] : outcome.attributes) h5::write_attribute(file, name, value, site);
    h5::write_attribute(file, "status", std::string(to_string(outcome.status)), site);
    publish();
    h5::check(tables_->close(), site, "close");
    rename_durably(path_, final_path_);
  });
  tables_.reset();
  lock_.reset();
  path_ = final_path_;
  finished_ = true;
}

}  // namespace tbptt::results
