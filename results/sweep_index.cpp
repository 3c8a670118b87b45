#include "results/sweep_index.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <system_error>

#include "results/h5.h"
#include "results/run_reader.h"
#include "results/stats.h"
#include "results/writer_lock.h"

namespace tbptt::results {

namespace fs = std::filesystem;

namespace {

// Summary columns other than the swept parameters, in file order: run_id, status, <swept...>,
// the numbers, updates, error, file.
struct TextColumn {
  const char* name;
  std::string RunSummary::*member;
};
struct NumberColumn {
  const char* name;
  double RunSummary::*member;
};
const std::vector<TextColumn> kLeadingText = {{"run_id", &RunSummary::run_id},
                                              {"status", &RunSummary::status}};
const std::vector<NumberColumn> kNumbers = {
    {"final_train_loss", &RunSummary::final_train_loss},
    {"final_valid_loss", &RunSummary::final_valid_loss},
    {"best_valid_loss", &RunSummary::best_valid_loss},
    {"tokens_per_s", &RunSummary::tokens_per_s},
    {"peak_rss_bytes", &RunSummary::peak_rss_bytes},
    {"wall_time_s", &RunSummary::wall_time_s},
};
const std::vector<TextColumn> kTrailingText = {{"error", &RunSummary::error},
                                               {"file", &RunSummary::file}};

double as_number(const Value* value) {
  if (value == nullptr) return kNaN;
  if (const auto* i = std::get_if<int64_t>(value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(value)) return *d;
  return kNaN;
}

RunSummary summarize(const RunContents& run) {
  RunSummary s;
  const Attributes& attributes = run.attributes;
  s.status = get_or(attributes, "status", std::string("unknown"));
  s.error = get_or(attributes, "error", std::string());
  for (const auto& key : get_or(attributes, "swept", std::vector<std::string>{}))
    if (const Value* value = find(attributes, key)) s.parameters.emplace_back(key, *value);
  std::vector<double> rates;
  for (const TrainRow& row : run.train) rates.push_back(row.tokens_per_s);
  s.tokens_per_s = median(rates);
  if (!run.train.empty()) s.final_train_loss = run.train.back().loss;
  std::vector<double> valid;
  for (const EvalRow& row : run.eval) {
    if (row.split != Split::valid) continue;
    s.final_valid_loss = row.loss;
    valid.push_back(row.loss);
  }
  s.best_valid_loss = minimum(valid);
  s.peak_rss_bytes = as_number(find(attributes, "peak_rss_bytes"));
  s.wall_time_s = as_number(find(attributes, "wall_time_s"));
  if (std::isnan(s.wall_time_s) && !run.train.empty()) s.wall_time_s = run.train.back().wall_time;
  s.updates = static_cast<int64_t>(run.train.size());
  return s;
}

RunSummary summarize_file(const fs::path& path, const std::string& run_id, bool partial) {
  RunSummary s;
  if (partial && WriterLock::held(lock_file(path))) {
    s.status = "running";
  } else {
    try {
      s = summarize(read_run(path));
      if (partial) {
        s.status = "incomplete";
        if (s.error.empty()) s.error = "the writer stopped before finishing (killed?): " +
                                       path.filename().string();
      }
    } catch (const ReadError& e) {
      s.status = "unreadable";
      s.error = e.what();
    }
  }
  s.run_id = run_id;
  return s;
}

// One summary column for a swept key: int64 if every run has an integer (or bool) value, text
// if any value is text, otherwise float64 with NaN where a run lacks the key.
void write_parameter_column(hid_t group, const std::string& key, const std::vector<RunSummary>& runs,
                            const h5::Site& site) {
  bool all_integer = true, any_text = false;
  for (const auto& run : runs) {
    const Value* value = find(run.parameters, key);
    all_integer = all_integer && value != nullptr &&
                  (std::holds_alternative<int64_t>(*value) || std::holds_alternative<bool>(*value));
    any_text = any_text || (value != nullptr && (std::holds_alternative<std::string>(*value) ||
                                                 std::holds_alternative<std::vector<std::string>>(*value)));
  }
  if (any_text) {
    std::vector<std::string> column;
    for (const auto& run : runs) {
      const Value* value = find(run.parameters, key);
      column.push_back(value ? to_text(*value) : "");
    }
    h5::write_strings(group, key, column, site);
  } else if (all_integer && !runs.empty()) {
    std::vector<int64_t> column;
    for (const auto& run : runs) {
      const Value& value = *find(run.parameters, key);
      column.push_back(std::holds_alternative<bool>(value) ? std::get<bool>(value)
                                                           : std::get<int64_t>(value));
    }
    h5::write_column(group, key, column, site);
  } else {
    std::vector<double> column;
    for (const auto& run : runs) {
      const Value* value = find(run.parameters, key);
      column.push_back(value && std::holds_alternative<bool>(*value) ? std::get<bool>(*value)
                                                                     : as_number(value));
    }
    h5::write_column(group, key, column, site);
  }
}

void write_text(hid_t group, const TextColumn& column, const std::vector<RunSummary>& runs,
                const h5::Site& site) {
  std::vector<std::string> values;
  for (const auto& run : runs) values.push_back(run.*column.member);
  h5::write_strings(group, column.name, values, site);
}

void write_index(const SweepSummary& sweep, const h5::Site& site) {
  h5::Handle file = h5::create_file(site);
  const Attributes attributes = {{"schema_version", kSchemaVersion},
                                 {"experiment", sweep.experiment},
                                 {"updated", utc_now()},
                                 {"runs", static_cast<int64_t>(sweep.runs.size())}};
  for (const auto& [name, value] : attributes) h5::write_attribute(file.get(), name, value, site);

  h5::Handle links = h5::create_group(file.get(), "runs", site);
  for (const auto& run : sweep.runs) {
    if (run.status == "unreadable") continue;
    // Relative to the index's folder, so out_dir can be moved or copied whole.
    h5::link_external(links.get(), run.run_id, run.file, "/", site);
  }

  h5::Handle summary = h5::create_group(file.get(), "summary", site, /*track_order=*/true);
  std::vector<std::string> columns;
  for (const auto& column : kLeadingText) {
    write_text(summary.get(), column, sweep.runs, site);
    columns.emplace_back(column.name);
  }
  for (const auto& key : sweep.swept) {
    write_parameter_column(summary.get(), key, sweep.runs, site);
    columns.push_back(key);
  }
  for (const auto& column : kNumbers) {
    std::vector<double> values;
    for (const auto& run : sweep.runs) values.push_back(run.*column.member);
    h5::write_column(summary.get(), column.name, values, site);
    columns.emplace_back(column.name);
  }
  std::vector<int64_t> updates;
  for (const auto& run : sweep.runs) updates.push_back(run.updates);
  h5::write_column(summary.get(), "updates", updates, site);
  columns.emplace_back("updates");
  for (const auto& column : kTrailingText) {
    write_text(summary.get(), column, sweep.runs, site);
    columns.emplace_back(column.name);
  }
  h5::write_attribute(summary.get(), "columns", columns, site);
  h5::write_attribute(summary.get(), "swept", sweep.swept, site);
  h5::check(file.reset(), site, "close");
}

}  // namespace

SweepSummary scan_runs(const fs::path& out_dir, const std::string& experiment) {
  h5::quiet();
  check_experiment_name(experiment);
  SweepSummary sweep;
  sweep.experiment = experiment;
  const fs::path folder = runs_dir(out_dir, experiment);
  // run_id -> (file name, is .part); a finished file wins over a .part of the same run.
  std::map<std::string, std::pair<std::string, bool>> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    // Run files only: not the <run_id>.ckpt/ folders, lock files or .tmp files beside them.
    std::error_code unreadable;
    if (!entry.is_regular_file(unreadable)) continue;
    const std::string name = entry.path().filename().string();
    const bool partial = name.ends_with(".h5.part");
    if (!partial && !name.ends_with(".h5")) continue;
    const std::string id = name.substr(0, name.size() - (partial ? 8 : 3));
    auto [it, inserted] = files.try_emplace(id, name, partial);
    if (!inserted && it->second.second && !partial) it->second = {name, false};
  }
  for (const auto& [id, file] : files) {
    RunSummary run = summarize_file(folder / file.first, id, file.second);
    run.file = (fs::path(experiment) / "runs" / file.first).string();
    for (const auto& [key, value] : run.parameters)
      if (std::find(sweep.swept.begin(), sweep.swept.end(), key) == sweep.swept.end())
        sweep.swept.push_back(key);
    sweep.runs.push_back(std::move(run));
  }
  return sweep;
}

SweepSummary rebuild_index(const fs::path& out_dir, const std::string& experiment) {
  SweepSummary sweep = scan_runs(out_dir, experiment);
  const fs::path index = index_file(out_dir, experiment);
  const fs::path temporary = fs::path(index).concat(".tmp");
  std::error_code error;
  fs::create_directories(out_dir, error);
  if (error) throw WriteError(out_dir, "create folder: " + error.message());
  write_index(sweep, {temporary, h5::Access::write});
  fs::rename(temporary, index, error);
  if (error) throw WriteError(index, "rename from " + temporary.filename().string() + ": " + error.message());
  return sweep;
}

SweepSummary read_index(const fs::path& index) {
  h5::quiet();
  const h5::Site site{index, h5::Access::read};
  h5::Handle file = h5::open_file(site);
  if (!h5::exists(file.get(), "summary")) h5::fail(site, "not a tbptt index: no summary/ group");
  h5::Handle summary = h5::open_group(file.get(), "summary", site);
  const Attributes root = h5::read_attributes(file.get(), site);
  const Attributes table = h5::read_attributes(summary.get(), site);

  SweepSummary sweep;
  sweep.experiment = get_or(root, "experiment", std::string());
  sweep.swept = get_or(table, "swept", std::vector<std::string>{});
  const hid_t g = summary.get();
  sweep.runs.resize(h5::read_strings(g, "run_id", site).size());
  // Every column must have one row per run; a shorter or longer one means a damaged index.
  auto rows = [&](auto values, const std::string& name) {
    if (values.size() != sweep.runs.size()) h5::fail(site, "summary/" + name + " has the wrong length");
    return values;
  };
  for (const auto* columns : {&kLeadingText, &kTrailingText})
    for (const auto& column : *columns) {
      const auto values = rows(h5::read_strings(g, column.name, site), column.name);
      for (size_t i = 0; i < values.size(); ++i) sweep.runs[i].*column.member = values[i];
    }
  for (const auto& column : kNumbers) {
    const auto values = rows(h5::read_doubles(g, column.name, site), column.name);
    for (size_t i = 0; i < values.size(); ++i) sweep.runs[i].*column.member = values[i];
  }
  const auto updates = rows(h5::read_int64s(g, "updates", site), "updates");
  for (size_t i = 0; i < updates.size(); ++i) sweep.runs[i].updates = updates[i];

  for (const auto& key : sweep.swept) {
    h5::Handle dataset = h5::open_dataset(g, key, site);
    h5::Handle type(H5Dget_type(dataset.get()), H5Tclose);
    const H5T_class_t kind = H5Tget_class(type.get());
    // Missing values were written as "" or NaN; they come back as absent parameters.
    if (kind == H5T_STRING) {
      const auto values = rows(h5::read_strings(g, key, site), key);
      for (size_t i = 0; i < values.size(); ++i)
        if (!values[i].empty()) sweep.runs[i].parameters.emplace_back(key, values[i]);
    } else if (kind == H5T_INTEGER) {
      const auto values = rows(h5::read_int64s(g, key, site), key);
      for (size_t i = 0; i < values.size(); ++i) sweep.runs[i].parameters.emplace_back(key, values[i]);
    } else {
      const auto values = rows(h5::read_doubles(g, key, site), key);
      for (size_t i = 0; i < values.size(); ++i)
        if (!std::isnan(values[i])) sweep.runs[i].parameters.emplace_back(key, values[i]);
    }
  }
  return sweep;
}

}  // namespace tbptt::results
