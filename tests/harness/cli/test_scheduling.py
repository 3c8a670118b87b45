"""Acceptance (harness 2): a sweep of 12 runs on 4 ranks with ranks_per_run 2 executes each run
exactly once, and with uneven costs the dynamic queue (largest first) keeps both groups busy: its
busiest group finishes well before the busiest group of a static round-robin assignment of the same
runs (run i on group i mod 2) would."""
import collections
import re
import unittest

from tbptt_cli import TempDirTest, attrs, mpi_command, run, run_files

# Sweep order alternates a long and a short run, so round-robin would give one group every long run.
# A long run is about 0.15 s here: long enough that a run's fixed start-up and file costs (~5 ms) and a
# busy machine's time slicing do not decide the comparison (with 600 steps it failed 1 in 6 while
# another process held a core).
EXPERIMENT = """\
    name: uneven
    data: {source: delayed_recall, lag: 2, length: 400000, valid_length: 500}
    model: {cell: gru, hidden: 16, embedding: 4}
    tbptt: {k1: 5}
    train: {batch: 4}
    parallel: {ranks_per_run: 2, threads_per_rank: 1}
    sweep:
      zip:
        train.steps: [3000, 15, 3000, 15, 3000, 15, 3000, 15, 3000, 15, 3000, 15]
        seed:        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    """


class Scheduling(TempDirTest):
    def test_each_run_once_and_dynamic_beats_static(self):
        exp = self.write_experiment("uneven", EXPERIMENT)
        result = run(mpi_command(4, "run", exp, "--out", self.path("out")))
        self.assertSucceeded(result)
        files = run_files(self.path("out"), "uneven")
        self.assertEqual(len(files), 12)
        finished = re.findall(r"\[\s*\d+/12\] ([0-9a-f]{12}) ", result.stdout)
        self.assertEqual(sorted(finished), sorted(files), "every run is reported finished exactly once")

        runs = {rid: attrs(p) for rid, p in files.items()}
        for a in runs.values():
            self.assertEqual(a["status"], "completed")
            self.assertEqual(a["ranks"], 2)
        groups = {a["leader_world_rank"] for a in runs.values()}
        self.assertEqual(groups, {0, 2}, "both groups of two ranks ran runs")

        busy = collections.Counter()
        for a in runs.values():
            busy[a["leader_world_rank"]] += a["wall_time_s"]
        by_sweep_order = sorted(runs.values(), key=lambda a: a["seed"])
        static = collections.Counter()
        for i, a in enumerate(by_sweep_order):
            static[i % 2] += a["wall_time_s"]
        self.assertLess(max(busy.values()), 0.75 * max(static.values()),
                        f"dynamic busy time per group {dict(busy)} vs round-robin {dict(static)}")


if __name__ == "__main__":
    unittest.main()
