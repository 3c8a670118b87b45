"""Reliability 5: a run driven to NaN/Inf by an absurd learning rate ends as `diverged` at the first
non-finite loss or gradient norm, recorded with that update; the sweep goes on, and the exit status
1 says that some runs did not complete. Both ways to diverge are covered (the loss of a token task
overflows; the gradient norm of a regression explodes first), on one rank and data-parallel on two.
"""
import math
import os
import unittest

import h5py

from tbptt_cli import TempDirTest, attrs, mpi_command, run, run_files

# k1 = 16 > data.lag = 10: every window has targets (a window without any records a NaN loss on
# purpose; it is no divergence).
EXPERIMENT = """\
    name: diverge
    data: {source: sine}
    model: {cell: lstm, hidden: 16}
    tbptt: {k1: 16}
    train: {batch: 8, steps: 60, optimizer: {name: sgd, lr: 0.01}}
    sweep:
      zip:
        data.source: [delayed_recall, sine, sine, delayed_recall]
        train.optimizer.lr: [1.0e+38, 100, 0.01, 0.01]
        parallel.ranks_per_run: [2, 1, 1, 2]
    """


def first_non_finite(path):
    """(update, which) of the first train row whose loss or gradient norm is not finite."""
    with h5py.File(path, "r") as f:
        rows = zip(f["train/update"][()], f["train/loss"][()], f["train/grad_norm"][()])
        for update, loss, norm in rows:
            if not math.isfinite(loss):
                return int(update), "loss"
            if not math.isfinite(norm):
                return int(update), "gradient norm"
    return None


class Divergence(TempDirTest):
    def test_diverged_runs_are_recorded_and_the_sweep_goes_on(self):
        exp = self.write_experiment("diverge", EXPERIMENT)
        out = self.path("out")
        result = run(mpi_command(2, "run", exp, "--out", out))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("2 of 4 runs completed", result.stdout)
        self.assertEqual(result.stdout.count(" diverged"), 2, result.stdout)

        files = run_files(out, "diverge")
        self.assertEqual(len(files), 4, "every run ends with a final .h5, diverged ones too")
        statuses = {}
        for run_id, path in files.items():
            a = attrs(path)
            statuses[(a["data.source"], a["train.optimizer.lr"] > 1)] = a["status"]
            if a["train.optimizer.lr"] < 1:
                self.assertEqual(a["status"], "completed", path)
                self.assertEqual(a["diverged_at_update"], -1)
                self.assertIsNone(first_non_finite(path))
                continue
            found = first_non_finite(path)
            self.assertIsNotNone(found, f"{path}: the absurd learning rate did not reach NaN/Inf")
            update, which = found
            self.assertEqual(a["status"], "diverged", path)
            self.assertEqual(a["diverged_at_update"], update)
            self.assertEqual(a["updates"], update)
            self.assertEqual(a["error"], f"non-finite {which} at update {update}")
            with h5py.File(path, "r") as f:
                self.assertEqual(f["train/update"][()].tolist(), list(range(1, update + 1)), "rows end at the update")
        self.assertEqual(statuses, {("delayed_recall", True): "diverged", ("sine", True): "diverged",
                                    ("delayed_recall", False): "completed", ("sine", False): "completed"})
        # Both ways to diverge were seen (if one stops happening, the test must say so).
        errors = sorted(attrs(p)["error"].split(" at ")[0] for p in files.values() if attrs(p)["status"] == "diverged")
        self.assertEqual(errors, ["non-finite gradient norm", "non-finite loss"])

        with h5py.File(os.path.join(out, "diverge.h5"), "r") as index:
            self.assertEqual(sorted(s.decode() for s in index["summary/status"][()]),
                             ["completed", "completed", "diverged", "diverged"])

        # A diverged run is final: --resume runs nothing again and still reports status 1.
        stamps = {p: os.stat(p).st_mtime_ns for p in files.values()}
        again = run(mpi_command(2, "run", exp, "--out", out, "--resume"))
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("4 of 4 runs already done", again.stdout)
        self.assertEqual({p: os.stat(p).st_mtime_ns for p in files.values()}, stamps)


if __name__ == "__main__":
    unittest.main()
