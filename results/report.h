#pragma once
// `tbptt report RESULTS.h5`: the sweep as a table a person reads in a terminal, or as CSV /
// Markdown for a notebook or a paper. Sections, in order:
//   Groups    (only with --by) one row per combination of the --by keys: runs, completed runs,
//             and over the completed ones: mean / std / min of the final valid loss, best valid
//             loss, median tokens/s, largest peak memory; ordered by the mean loss
//   Runs      one row per run, by final valid loss (ascending, missing last); with --by, runs of
//             a group stay together, groups in the order of the Groups section
//   Failures  runs whose status is not `completed`, with their error
//   Pareto    runs no other run beats on all of: final valid loss (lower), tokens/s (higher),
//             peak memory (lower). A measure no run has is ignored; a run missing a measure that
//             others have is not ranked.
// CSV puts each section under a "# <section>" line, numbers in full precision and memory in
// bytes; the table and Markdown round numbers and show memory in MiB.

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "results/sweep_index.h"

namespace tbptt::results {

enum class ReportFormat { table, csv, markdown };

// "table" | "csv" | "markdown"; anything else throws ConfigError("--format", ...).
ReportFormat parse_report_format(const std::string& text);

struct ReportOptions {
  std::vector<std::string> by;  // swept keys, full ("tbptt.k1") or short when unambiguous ("k1")
  ReportFormat format = ReportFormat::table;
};

// The full key that `name` names among `keys`: an exact match, or the one key ending in
// "." + name. Unknown or ambiguous names throw ConfigError("--by", name, <the keys>).
std::string resolve_key(const std::string& name, const std::vector<std::string>& keys);

void report(const SweepSummary& sweep, const ReportOptions& options, std::ostream& out);
// Reads the index (ReadError if it cannot) and reports it.
void report(const std::filesystem::path& index, const ReportOptions& options, std::ostream& out);

}  // namespace tbptt::results
