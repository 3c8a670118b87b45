"""Reliability 8: running the same experiment twice gives bitwise-identical run files -- every
attribute and every dataset, checkpoints included -- apart from timings, memory, hosts and dates.
A safety net under everything else: a change that makes results depend on timing, scheduling or
uninitialised memory shows up here. Covered: LSTM on 1 rank and GRU data-parallel on 2 (two
groups drawing runs dynamically), overlapping windows (k2 > k1), clipping, evaluations,
checkpoints and the gradient-fidelity probe.
"""
import os
import unittest

import h5py
import numpy as np

from tbptt_cli import TempDirTest, mpi_command, run, run_files

EXPERIMENT = """\
    name: det
    data: {source: delayed_recall, lag: 3, length: 20000, valid_length: 500}
    model: {cell: lstm, hidden: 16, embedding: 8}
    tbptt: {k1: 8, k2: 12}
    train: {batch: 8, steps: 300, clip_grad_norm: 1.0}
    eval: {every: 100}
    checkpoint: {every: 100}
    fidelity: {every: 50, horizon: 24}
    sweep:
      zip: {model.cell: [lstm, gru, rnn_tanh], parallel.ranks_per_run: [1, 2, 1]}
    """
# What may differ between two executions, and nothing else.
TIMING_ATTRIBUTES = {"start_time", "end_time", "wall_time_s", "peak_rss_bytes", "hosts", "leader_world_rank"}
TIMING_COLUMNS = {"train/wall_time", "train/tokens_per_s", "train/time_data", "train/time_forward",
                  "train/time_backward", "train/time_allreduce", "train/time_optimizer"}
SUMMARY_TIMING_COLUMNS = {"summary/tokens_per_s", "summary/peak_rss_bytes", "summary/wall_time_s"}


def as_bytes(value):
    """The exact bytes of a value; strings (variable-length: object arrays) by their text."""
    data = np.asarray(value)
    if data.dtype.kind == "O" or data.dtype.kind == "U":
        return (str(data.dtype), data.shape, b"\0".join(x if isinstance(x, bytes) else str(x).encode() for x in data.flat))
    return (str(data.dtype), data.shape, data.tobytes())


def contents(path):
    """{name: bytes} of every attribute and dataset, following the checkpoints' external links."""
    found = {}

    def walk(group, prefix):
        for key, value in group.attrs.items():
            found[f"{prefix}@{key}"] = as_bytes(value)
        for key in group:
            item = group[key]  # resolves external links (checkpoints) as h5py readers do
            if isinstance(item, h5py.Dataset):
                found[prefix + key] = as_bytes(item[()])
            else:
                walk(item, prefix + key + "/")

    with h5py.File(path, "r") as f:
        walk(f, "")
    return found


def differences(a, b):
    """Names whose bytes differ (or exist in one only)."""
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def allowed(name):
    if name.startswith("@"):
        return name[1:] in TIMING_ATTRIBUTES
    return name in TIMING_COLUMNS or name in SUMMARY_TIMING_COLUMNS


class Determinism(TempDirTest):
    def test_same_experiment_twice_gives_identical_files(self):
        exp = self.write_experiment("det", EXPERIMENT)
        outs = [self.path("first"), self.path("second")]
        for out in outs:
            result = run(mpi_command(2, "run", exp, "--out", out))
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        first, second = (run_files(out, "det") for out in outs)
        self.assertEqual(sorted(first), sorted(second))
        self.assertEqual(len(first), 3)
        for run_id in first:
            a, b = contents(first[run_id]), contents(second[run_id])
            self.assertTrue(any(k.startswith("checkpoint/") for k in a), "checkpoints were not compared")
            self.assertTrue(any(k.startswith("fidelity/") for k in a), "fidelity rows were not compared")
            self.assertEqual({k for k in differences(a, b) if not allowed(k)}, set(), run_id)
        index = [contents(os.path.join(out, "det.h5")) for out in outs]
        self.assertEqual({k for k in differences(*index) if not allowed(k) and not k.startswith(("@updated", "runs/"))}, set())

    def test_the_comparison_sees_a_real_difference(self):
        exp = self.write_experiment("det", EXPERIMENT.replace("steps: 300", "steps: 20"))
        out = self.path("out")
        self.assertEqual(run(mpi_command(2, "run", exp, "--out", out)).returncode, 0)
        files = list(run_files(out, "det").values())
        self.assertTrue({k for k in differences(contents(files[0]), contents(files[1])) if not allowed(k)})


if __name__ == "__main__":
    unittest.main()
