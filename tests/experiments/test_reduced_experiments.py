"""The shipped experiments' expected outcomes, in reduced form (experiments issue: items 1-3 run in CI).

* seed_keras_lm (1 epoch): nothing is learnable, so the loss starts and ends within 0.1 of ln 5000.
* seed_pytorch_regression (1 epoch): the targets are unit-variance noise; the best MSE is 1.
* quickstart (k1 in {4, 16}, batch 32, one epoch): a truncation at or below the lag of 8 stays at
  chance (ln 8); k1 = 16 learns the recall.
"""
import math
import os
import unittest

import h5py
import numpy as np

from tbptt_cli import SOURCE_DIR, TempDirTest, attrs, column, mpi_command, run, run_files

EXPERIMENTS = os.path.join(SOURCE_DIR, "experiments")


class ReducedExperiments(TempDirTest):
    def run_experiment(self, name, np_, *sets):
        args = ["run", os.path.join(EXPERIMENTS, name + ".yaml"), "--out", self.path("out")]
        for s in sets:
            args += ["--set", s]
        self.assertSucceeded(run(mpi_command(np_, *args), cwd=SOURCE_DIR))
        return run_files(self.path("out"), name)

    def test_seed_keras_lm_stays_at_ln_vocab(self):
        (path,) = self.run_experiment("seed_keras_lm", 1, "train.epochs=1").values()
        loss = column(path, "train/loss")
        self.assertEqual(len(loss), 31 + 1, "20000 steps / 32 rows = 625 per row: 31 windows of 20 and one of 5")
        ln_v = math.log(5000)
        self.assertLess(abs(loss[0] - ln_v), 0.1)
        self.assertLess(abs(loss[-1] - ln_v), 0.1)
        self.assertLess(abs(column(path, "eval/loss")[-1] - ln_v), 0.1)

    def test_seed_pytorch_regression_reaches_the_noise_floor(self):
        (path,) = self.run_experiment("seed_pytorch_regression", 1, "train.epochs=1").values()
        self.assertEqual(attrs(path)["model.output"], "last_step")
        mse = column(path, "eval/mse")[-1]
        self.assertGreater(mse, 0.9)
        self.assertLess(mse, 1.1)

    def test_quickstart_learns_only_beyond_the_lag(self):
        files = self.run_experiment("quickstart", 2, "sweep={grid: {tbptt.k1: [4, 16]}}", "train.batch=32",
                                    "train.epochs=1")
        by_k = {attrs(p)["tbptt.k1"]: column(p, "eval/loss")[-1] for p in files.values()}
        self.assertEqual(sorted(by_k), [4, 16])
        self.assertLess(abs(by_k[4] - math.log(8)), 0.02, "k = 4 < lag must stay at chance")
        self.assertLess(by_k[16], 0.5 * math.log(8), "k = 16 > lag must learn the recall")


if __name__ == "__main__":
    unittest.main()
