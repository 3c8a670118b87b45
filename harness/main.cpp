// tbptt — measure what truncated backpropagation through time costs and buys.
//
//   main: parse the command line -> one command -> its exit status
//     run     a sweep under MPI (sweep_runner)
//     plan    the runs of a sweep, without training (plan)
//     report  the table of a results index (results/report)
//     schema  every experiment setting, as the README's YAML reference (config/schema)
//     eval    a run's checkpoint on a split, one process (eval_command)
//
// Exit status everywhere: 0 success, 1 some runs failed, 2 bad input or usage.

#include <CLI/CLI.hpp>
#include <mpi.h>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>

#include "common/error.h"
#include "harness/config/experiment.h"
#include "harness/config/schema.h"
#include "harness/eval_command.h"
#include "harness/plan.h"
#include "harness/sweep_runner.h"
#include "harness/system_info.h"
#include "results/report.h"

namespace {

using namespace tbptt;

int plan_command(const std::string& path, const std::vector<std::string>& sets) {
  const auto exp = harness::Experiment::load(path, sets);
  harness::print_plan(exp, harness::plan_runs(exp), std::cout);
  return 0;
}

int run_command(const harness::RunCommand& command) {
  // A rank must not outlive its launcher: if mpirun (or the node's daemon) is killed, even with
  // SIGKILL, the kernel kills this rank too, so nothing keeps writing results nobody awaits.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;  // the launcher died before prctl took effect
  // A file-size limit (ulimit -f, RLIMIT_FSIZE) would kill the rank with SIGXFSZ mid-write; ignored,
  // the write fails with EFBIG instead and ends the sweep cleanly like a full disk (WriteError).
  std::signal(SIGXFSZ, SIG_IGN);
  harness::catch_stop_signals();  // before prepare_sweep: planning runs oneDNN, starting OpenMP's threads
  // Bad input is found before MPI starts: exit 2, nothing written, one message (from rank 0).
  std::optional<harness::PreparedSweep> sweep;
  try {
    sweep.emplace(harness::prepare_sweep(command));
  } catch (const std::exception& e) {
    if (harness::launcher_rank() == 0) std::cerr << "tbptt: " << e.what() << "\n";
    return 2;
  }
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  const int status = harness::run_sweep(command, *sweep);
  MPI_Finalize();
  if (harness::results_unwritable()) {
    // A results file HDF5 failed to close (ENOSPC in a checkpoint or the index: results writes
    // them with HDF5's own driver) stays registered, and HDF5 1.10.8's exit handler crashes on it
    // (SIGSEGV in H5F__close_cb). Every file tbptt keeps is published or abandoned by now: leave
    // without the exit handlers, with the status the sweep earned.
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(status);
  }
  return status;
}

int report_command(const std::string& index, const std::string& by, const std::string& format) {
  results::ReportOptions options;
  options.format = results::parse_report_format(format);
  for (size_t at = 0; at < by.size();) {
    const size_t comma = std::min(by.find(',', at), by.size());
    if (comma > at) options.by.push_back(by.substr(at, comma - at));
    at = comma + 1;
  }
  results::report(index, options, std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tbptt: what truncated backpropagation through time costs and buys.\n"
               "Write an experiment in YAML, run it with mpirun, analyse one HDF5 file."};
  app.set_version_flag("--version", "tbptt " + harness::tbptt_version());
  app.require_subcommand(1);

  harness::RunCommand run;
  auto* run_cmd = app.add_subcommand("run", "Run every run of an experiment's sweep (under mpirun for several ranks)");
  run_cmd->add_option("experiment", run.experiment, "Experiment file (YAML)")->required()->check(CLI::ExistingFile);
  run_cmd->add_option("--set", run.sets, "Override a setting before the sweep expands: dotted.key=YAML (repeatable)");
  run_cmd->add_option("--out", run.out_dir, "Results folder: OUT/<name>.h5 and OUT/<name>/runs/")->capture_default_str();
  auto* resume = run_cmd->add_flag("--resume", run.resume, "Continue: skip finished runs, restart the rest from their checkpoints");
  run_cmd->add_flag("--overwrite", run.overwrite, "Delete this experiment's earlier results first")->excludes(resume);
  run_cmd->add_option("--progress", run.progress, "auto | bar | lines (auto: a bar on a terminal outside mpirun)")
      ->check(CLI::IsMember({"auto", "bar", "lines"}))
      ->capture_default_str();

  std::string plan_path;
  std::vector<std::string> plan_sets;
  auto* plan_cmd = app.add_subcommand("plan", "List the runs of a sweep with predicted memory and cost, without training");
  plan_cmd->add_option("experiment", plan_path, "Experiment file (YAML)")->required()->check(CLI::ExistingFile);
  plan_cmd->add_option("--set", plan_sets, "Override a setting before the sweep expands: dotted.key=YAML (repeatable)");

  std::string index, by, format = "table";
  auto* report_cmd = app.add_subcommand("report", "Print a sweep's results: runs by final valid loss, failures, Pareto front");
  report_cmd->add_option("results", index, "The sweep's index file, e.g. results/NAME.h5")->required()->check(CLI::ExistingFile);
  report_cmd->add_option("--by", by, "Group by swept keys, comma-separated (short names like k1 work)");
  report_cmd->add_option("--format", format, "table | csv | markdown")->capture_default_str();

  harness::EvalCommand eval;
  auto* eval_cmd = app.add_subcommand("eval", "Evaluate a run's checkpoint on a split of its own or other data (no MPI)");
  eval_cmd->footer(harness::kEvalHelp);
  eval_cmd->add_option("run", eval.run_file, "A run file, OUT/<name>/runs/<run_id>.h5 (or .h5.part)")->required()->check(CLI::ExistingFile);
  eval_cmd->add_option("--split", eval.split, "valid | test")->capture_default_str();
  eval_cmd->add_option("--checkpoint", eval.checkpoint, "Update of the checkpoint to evaluate (default: the newest)");
  eval_cmd->add_option("--set", eval.sets, "Override a setting of the run: dotted.key=YAML (repeatable), e.g. data.path=other.txt");

  auto* schema_cmd = app.add_subcommand("schema", "Print every experiment setting: type, default, allowed values (markdown)");

  // CLI11 would answer both with "A subcommand is required", which does not name the culprit.
  const std::set<std::string> commands = {"run", "plan", "report", "eval", "schema"};
  const std::set<std::string> options = {"-h", "--help", "--version"};
  if (argc > 1 && argv[1][0] != '-' && !commands.count(argv[1])) {
    std::cerr << "tbptt: unknown command '" << argv[1] << "'; commands: run, plan, report, eval, schema (see tbptt --help)\n";
    return 2;
  }
  if (argc > 1 && argv[1][0] == '-' && !options.count(argv[1])) {
    std::cerr << "tbptt: unknown option '" << argv[1] << "'; a command comes first: tbptt run|plan|report|eval|schema (see tbptt --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    if (*run_cmd) return run_command(run);
    if (*plan_cmd) return plan_command(plan_path, plan_sets);
    if (*report_cmd) return report_command(index, by, format);
    if (*schema_cmd) {
      std::cout << harness::schema_markdown();
      return 0;
    }
    if (*eval_cmd) return harness::eval_command(eval, std::cout);
  } catch (const ConfigError& e) {
    std::cerr << "tbptt: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tbptt: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
