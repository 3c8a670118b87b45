#!/usr/bin/python3
"""What a researcher sees in h5py: files written by the C++ library (via results_tool) follow
results/README.md, strings come back as str, and the index's links and summary work.

usage: test_h5py.py RESULTS_TOOL
"""
import math
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

TOOL = None

TRAIN = ["update", "epoch", "tokens", "loss", "accuracy", "grad_norm", "lr", "wall_time",
         "tokens_per_s", "time_data", "time_forward", "time_backward", "time_allreduce",
         "time_optimizer"]
EVAL = ["update", "epoch", "split", "loss", "perplexity", "bits_per_token", "accuracy", "mse",
        "targets"]
FIDELITY = ["update", "horizon", "group", "cosine", "rel_error", "norm_truncated", "norm_long"]


class SyntheticSweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "results")
        subprocess.run([TOOL, "sweep", cls.out], check=True)
        cls.run_path = os.path.join(cls.out, "synthetic", "runs", "k20-b64-s2.h5")
        cls.index_path = os.path.join(cls.out, "synthetic.h5")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_attributes_have_python_types(self):
        with h5py.File(self.run_path, "r") as f:
            a = f.attrs
            for name in ["config", "model.cell", "status", "error", "experiment", "run_id",
                         "start_time", "end_time", "version.hdf5", "version.tbptt"]:
                self.assertIsInstance(a[name], str, name)
            self.assertEqual(a["status"], "completed")
            self.assertEqual(a["run_id"], "k20-b64-s2")
            self.assertEqual(a["model.cell"], "lstm")
            self.assertIn("tbptt: {k1: 20", a["config"])
            self.assertEqual(a["tbptt.k1"], 20)
            self.assertEqual(a["tbptt.k1"].dtype, np.int64)
            self.assertEqual(a["train.optimizer.lr"].dtype, np.float64)
            self.assertEqual(a["tbptt.carry_state"].dtype, np.int8)
            self.assertEqual(a["tbptt.carry_state"], 1)
            self.assertEqual(list(a["swept"]), ["tbptt.k1", "train.batch", "seed"])
            self.assertTrue(all(isinstance(k, str) for k in a["swept"]))
            self.assertEqual(list(a["hosts"]), ["node1"])
            self.assertEqual(a["peak_rss_bytes"], 100_000_000 + 1_000_000 * 20 * 64)
            self.assertEqual(a["diverged_at_update"], -1)

    def test_tables_follow_the_schema(self):
        with h5py.File(self.run_path, "r") as f:
            for group, names in [("train", TRAIN), ("eval", EVAL), ("fidelity", FIDELITY)]:
                self.assertEqual(sorted(f[group].keys()), sorted(names), group)
                lengths = {len(f[group][n]) for n in names}
                self.assertEqual(len(lengths), 1, f"{group} columns differ in length")
            self.assertEqual(len(f["train/loss"]), 50)
            self.assertEqual(f["train/update"].dtype, np.int64)
            self.assertEqual(f["train/loss"].dtype, np.float64)
            self.assertTrue(np.isnan(f["train/accuracy"][0]))  # regression-style NaN
            self.assertEqual(list(f["train/update"][:3]), [1, 2, 3])
            self.assertEqual(f["eval/split"].dtype, np.int8)
            self.assertEqual(list(f["eval/split"].attrs["labels"]), ["train", "valid", "test"])
            self.assertEqual(list(f["eval/split"][()]), [1] * 5)
            self.assertEqual(list(f["fidelity/group"].attrs["labels"]), ["all", "rnn"])
            self.assertAlmostEqual(f["fidelity/cosine"][0], 1 - 1 / 20)
            vocab = f["data/vocab"].asstr()[()]
            self.assertEqual(list(vocab), ["a", "b", "c", " "])

    def test_checkpoint_layout(self):
        with h5py.File(self.run_path, "r") as f:
            self.assertEqual(list(f["checkpoint"].keys()), ["0000000050"])
            # An external link to the root of the checkpoint's own file, relative to runs/.
            link = f["checkpoint"].get("0000000050", getlink=True)
            self.assertIsInstance(link, h5py.ExternalLink)
            self.assertEqual((link.filename, link.path), ("k20-b64-s2.ckpt/0000000050.h5", "/"))
            c = f["checkpoint/0000000050"]
            self.assertEqual(set(c.keys()), {"state_dict", "optimizer", "state"})
            self.assertEqual(c.attrs["update"], 50)
            self.assertEqual(c.attrs["tokens"], 50 * 20 * 64)
            sd = c["state_dict"]
            self.assertEqual(sd["rnn.weight_ih_l0"].shape, (4 * 8, 4))  # [4H, E]
            self.assertEqual(sd["rnn.weight_hh_l0"].shape, (4 * 8, 8))
            self.assertEqual(sd["head.weight"].shape, (4, 8))
            self.assertEqual(sd["embedding.weight"].dtype, np.float32)

    def test_index_links_resolve_from_another_folder(self):
        cwd = os.getcwd()
        os.chdir("/")
        try:
            with h5py.File(self.index_path, "r") as f:
                self.assertEqual(len(f["runs"]), 14)
                loss = f["runs"]["k20-b64-s2"]["train/loss"][()]
                self.assertEqual(len(loss), 50)
                self.assertEqual(f["runs"]["killed-run"].attrs["status"], "running")
                self.assertEqual(len(f["runs/killed-run/train/loss"]), 20)
                # index -> run file -> checkpoint file: both links followed
                weight = f["runs"]["k20-b64-s2"]["checkpoint"]["0000000050"]["state_dict/rnn.weight_ih_l0"]
                self.assertEqual(weight.shape, (4 * 8, 4))
        finally:
            os.chdir(cwd)

    def test_runs_folder_holds_run_files_and_checkpoint_folders_only(self):
        runs = os.path.join(self.out, "synthetic", "runs")
        names = set(os.listdir(runs))
        self.assertIn("killed-run.h5.part", names)
        self.assertIn("k20-b64-s2.ckpt", names)
        self.assertFalse([n for n in names if n.endswith((".tmp", ".lock"))], names)
        self.assertEqual(os.listdir(os.path.join(runs, "k20-b64-s2.ckpt")), ["0000000050.h5"])

    def test_summary_loads_in_three_lines(self):
        # The README's pandas recipe, without pandas: the same dict of equal-length columns.
        with h5py.File(self.index_path, "r") as f:
            columns = {k: c.asstr()[()] if c.dtype.kind == "O" else c[()] for k, c in f["summary"].items()}
            order = list(f["summary"].attrs["columns"])
        self.assertEqual(list(columns), order, "h5py must list columns in creation order")
        self.assertEqual(order[:2], ["run_id", "status"])
        self.assertEqual(len({len(v) for v in columns.values()}), 1)
        row = {k: v[list(columns["run_id"]).index("k5-b16-s1")] for k, v in columns.items()}
        self.assertEqual(row["status"], "completed")
        self.assertEqual(row["tbptt.k1"], 5)
        self.assertEqual(row["train.batch"], 16)
        floor = 1 + 1 / 5 + 16 / 1000 + 1 / 1000
        self.assertAlmostEqual(row["final_valid_loss"], floor + math.exp(-5) + 0.05)
        self.assertAlmostEqual(row["best_valid_loss"], floor + math.exp(-4))
        self.assertEqual(row["updates"], 50)
        statuses = dict(zip(columns["run_id"], columns["status"]))
        self.assertEqual(statuses["failed-run"], "failed")
        self.assertEqual(statuses["killed-run"], "incomplete")


if __name__ == "__main__":
    TOOL = sys.argv.pop(1)
    unittest.main()
