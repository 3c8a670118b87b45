#include "results/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/error.h"
#include "results/stats.h"
#include "results/text_table.h"

namespace tbptt::results {

namespace {

// How numbers are written: full precision and raw units for CSV, rounded for people.
struct Style {
  bool precise;

  std::string number(double x, const char* rounded) const {
    if (std::isnan(x)) return precise ? "" : "-";
    char text[64];
    std::snprintf(text, sizeof text, precise ? "%.15g" : rounded, x);
    return text;
  }
  std::string loss(double x) const { return number(x, "%.4f"); }
  std::string rate(double x) const { return number(x, "%.0f"); }
  std::string seconds(double x) const { return number(x, "%.1f"); }
  std::string memory(double bytes) const { return precise ? number(bytes, "") : number(bytes / 1048576.0, "%.1f"); }
  std::string memory_header(const char* prefix) const {
    return std::string(prefix) + (precise ? "_bytes" : "_MiB");
  }
  std::string parameter(const RunSummary& run, const std::string& key) const {
    const Value* value = find(run.parameters, key);
    return value ? to_text(*value) : (precise ? "" : "-");
  }
};

// Ascending with NaN last, so runs without a valid loss sink to the bottom.
bool less_nan_last(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

// Runs sharing the values of the --by keys. Its statistics cover only its completed runs: the
// loss of a run that failed early says nothing about the setting.
struct Group {
  std::vector<std::string> key;  // the --by values, as text
  std::vector<const RunSummary*> runs;

  std::vector<const RunSummary*> completed() const {
    std::vector<const RunSummary*> done;
    for (const auto* run : runs)
      if (run->status == "completed") done.push_back(run);
    return done;
  }
  std::vector<double> completed_values(double RunSummary::*member) const {
    std::vector<double> values;
    for (const auto* run : completed()) values.push_back(run->*member);
    return values;
  }
};

std::vector<Group> make_groups(const SweepSummary& sweep, const std::vector<std::string>& by,
                               const Style& style) {
  std::map<std::vector<std::string>, Group> groups;
  for (const auto& run : sweep.runs) {
    std::vector<std::string> key;
    for (const auto& name : by) key.push_back(style.parameter(run, name));
    Group& group = groups[key];
    group.key = key;
    group.runs.push_back(&run);
  }
  std::vector<Group> ordered;
  for (auto& [key, group] : groups) {
    std::stable_sort(group.runs.begin(), group.runs.end(), [](const auto* a, const auto* b) {
      return less_nan_last(a->final_valid_loss, b->final_valid_loss);
    });
    ordered.push_back(std::move(group));
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const Group& a, const Group& b) {
    return less_nan_last(mean(a.completed_values(&RunSummary::final_valid_loss)),
                         mean(b.completed_values(&RunSummary::final_valid_loss)));
  });
  return ordered;
}

TextTable groups_table(const std::vector<Group>& groups, const std::vector<std::string>& by,
                       const Style& style) {
  TextTable table{"Groups by " + to_text(by) + " (by mean final valid loss of completed runs)", by, {}};
  for (const char* name : {"runs", "completed", "final_valid_mean", "final_valid_std",
                           "final_valid_min", "best_valid_min", "tokens_per_s_median"})
    table.header.emplace_back(name);
  table.header.push_back(style.memory_header("peak_rss_max"));
  for (const auto& group : groups) {
    const std::vector<double> valid = group.completed_values(&RunSummary::final_valid_loss);
    std::vector<std::string> row = group.key;
    row.push_back(std::to_string(group.runs.size()));
    row.push_back(std::to_string(group.completed().size()));
    row.push_back(style.loss(mean(valid)));
    row.push_back(style.loss(stddev(valid)));
    row.push_back(style.loss(minimum(valid)));
    row.push_back(style.loss(minimum(group.completed_values(&RunSummary::best_valid_loss))));
    row.push_back(style.rate(median(group.completed_values(&RunSummary::tokens_per_s))));
    row.push_back(style.memory(maximum(group.completed_values(&RunSummary::peak_rss_bytes))));
    table.rows.push_back(std::move(row));
  }
  return table;
}

TextTable runs_table(const std::vector<const RunSummary*>& runs, const std::vector<std::string>& keys,
                     const Style& style) {
  TextTable table{"Runs (by final valid loss)", {"run_id", "status"}, {}};
  table.header.insert(table.header.end(), keys.begin(), keys.end());
  for (const char* name : {"final_valid_loss", "best_valid_loss", "final_train_loss", "tokens_per_s"})
    table.header.emplace_back(name);
  table.header.push_back(style.memory_header("peak_rss"));
  table.header.emplace_back("wall_time_s");
  table.header.emplace_back("updates");
  for (const auto* run : runs) {
    std::vector<std::string> row = {run->run_id, run->status};
    for (const auto& key : keys) row.push_back(style.parameter(*run, key));
    row.push_back(style.loss(run->final_valid_loss));
    row.push_back(style.loss(run->best_valid_loss));
    row.push_back(style.loss(run->final_train_loss));
    row.push_back(style.rate(run->tokens_per_s));
    row.push_back(style.memory(run->peak_rss_bytes));
    row.push_back(style.seconds(run->wall_time_s));
    row.push_back(std::to_string(run->updates));
    table.rows.push_back(std::move(row));
  }
  return table;
}

// Runs no other run beats on every measure; see report.h for how missing measures count.
std::vector<const RunSummary*> pareto_front(const SweepSummary& sweep) {
  auto measures = [](const RunSummary& run) {  // all "lower is better"
    return std::vector<double>{run.final_valid_loss, -run.tokens_per_s, run.peak_rss_bytes};
  };
  std::vector<const RunSummary*> candidates;
  for (const auto& run : sweep.runs)
    if (run.status == "completed" && std::isfinite(run.final_valid_loss)) candidates.push_back(&run);
  std::vector<bool> used(3, false);
  for (const auto* run : candidates)
    for (size_t m = 0; m < 3; ++m) used[m] = used[m] || std::isfinite(measures(*run)[m]);
  std::erase_if(candidates, [&](const RunSummary* run) {
    for (size_t m = 0; m < 3; ++m)
      if (used[m] && !std::isfinite(measures(*run)[m])) return true;
    return false;
  });
  auto dominates = [&](const RunSummary& a, const RunSummary& b) {
    const auto ma = measures(a), mb = measures(b);
    bool strictly = false;
    for (size_t m = 0; m < 3; ++m) {
      if (!used[m]) continue;
      if (ma[m] > mb[m]) return false;
      strictly = strictly || ma[m] < mb[m];
    }
    return strictly;
  };
  std::vector<const RunSummary*> front;
  for (const auto* run : candidates)
    if (std::none_of(candidates.begin(), candidates.end(),
                     [&](const RunSummary* other) { return dominates(*other, *run); }))
      front.push_back(run);
  std::stable_sort(front.begin(), front.end(), [](const auto* a, const auto* b) {
    return less_nan_last(a->final_valid_loss, b->final_valid_loss);
  });
  return front;
}

TextTable pareto_table(const std::vector<const RunSummary*>& front, const std::vector<std::string>& keys,
                       const Style& style) {
  TextTable table{"Pareto front (final valid loss lower, tokens/s higher, peak memory lower)",
                  {"run_id"}, {}};
  table.header.insert(table.header.end(), keys.begin(), keys.end());
  table.header.emplace_back("final_valid_loss");
  table.header.emplace_back("tokens_per_s");
  table.header.push_back(style.memory_header("peak_rss"));
  for (const auto* run : front) {
    std::vector<std::string> row = {run->run_id};
    for (const auto& key : keys) row.push_back(style.parameter(*run, key));
    row.push_back(style.loss(run->final_valid_loss));
    row.push_back(style.rate(run->tokens_per_s));
    row.push_back(style.memory(run->peak_rss_bytes));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string headline(const SweepSummary& sweep) {
  std::map<std::string, int> counts;
  for (const auto& run : sweep.runs) ++counts[run.status];
  std::string text = "Sweep " + sweep.experiment + ": " + std::to_string(sweep.runs.size()) + " runs";
  std::string parts;
  for (const auto& [status, count] : counts)
    parts += (parts.empty() ? "" : ", ") + std::to_string(count) + " " + status;
  return parts.empty() ? text : text + " (" + parts + ")";
}

}  // namespace

ReportFormat parse_report_format(const std::string& text) {
  if (text == "table") return ReportFormat::table;
  if (text == "csv") return ReportFormat::csv;
  if (text == "markdown") return ReportFormat::markdown;
  throw ConfigError("--format", text, "one of: table, csv, markdown");
}

std::string resolve_key(const std::string& name, const std::vector<std::string>& keys) {
  if (std::find(keys.begin(), keys.end(), name) != keys.end()) return name;
  std::vector<std::string> matches;
  for (const auto& key : keys)
    if (key.size() > name.size() && key.ends_with("." + name)) matches.push_back(key);
  if (matches.size() == 1) return matches.front();
  if (matches.empty())
    throw ConfigError("--by", name,
                      keys.empty() ? "nothing: no key was swept" : "one of the swept keys " + to_text(keys));
  throw ConfigError("--by", name, "one key, but it matches " + to_text(matches) + ": write it in full");
}

void report(const SweepSummary& sweep, const ReportOptions& options, std::ostream& out) {
  const Style style{options.format == ReportFormat::csv};
  std::vector<std::string> by;
  for (const auto& name : options.by) by.push_back(resolve_key(name, sweep.swept));
  // Group keys lead the parameter columns, then the other swept keys in sweep order.
  std::vector<std::string> keys = by;
  for (const auto& key : sweep.swept)
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);

  switch (options.format) {
    case ReportFormat::table: out << headline(sweep) << "\n\n"; break;
    case ReportFormat::csv: out << "# " << headline(sweep) << "\n\n"; break;
    case ReportFormat::markdown: out << "## " << headline(sweep) << "\n\n"; break;
  }
  const std::vector<Group> groups = make_groups(sweep, by, style);
  if (!by.empty()) render(groups_table(groups, by, style), options.format, out);
  std::vector<const RunSummary*> runs;
  for (const auto& group : groups) runs.insert(runs.end(), group.runs.begin(), group.runs.end());
  render(runs_table(runs, keys, style), options.format, out);

  TextTable failures{"Failures", {"run_id", "status", "error"}, {}};
  for (const auto* run : runs)
    if (run->status != "completed") failures.rows.push_back({run->run_id, run->status, run->error});
  if (!failures.rows.empty()) render(failures, options.format, out);
  render(pareto_table(pareto_front(sweep), keys, style), options.format, out);
}

void report(const std::filesystem::path& index, const ReportOptions& options, std::ostream& out) {
  report(read_index(index), options, out);
}

}  // namespace tbptt::results
