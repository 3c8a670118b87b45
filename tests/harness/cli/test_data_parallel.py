"""Acceptance (harness 1): the same run on 2 ranks and on 1 rank (same global batch) gives loss
curves equal within 1e-5 relative for 50 updates, and the 2 ranks' parameters stay bitwise
identical (checked after every update: TBPTT_CHECK_REPLICAS=1)."""
import unittest

import numpy as np

from tbptt_cli import TempDirTest, attrs, column, mpi_command, run, run_files

EXPERIMENT = """\
    name: dp
    seed: 3
    data: {source: delayed_recall, lag: 4, length: 20000, valid_length: 2000}
    model: {cell: lstm, layers: 2, hidden: 32, embedding: 8}
    tbptt: {k1: 10, k2: 15}
    train: {batch: 8, steps: 50, optimizer: {name: adam, lr: 0.01}, clip_grad_norm: 1.0}
    eval: {every: 25}
    sweep:
      grid: {parallel.ranks_per_run: [1, 2]}
    """


class DataParallel(TempDirTest):
    def test_two_ranks_reproduce_one_rank(self):
        exp = self.write_experiment("dp", EXPERIMENT)
        result = run(mpi_command(2, "run", exp, "--out", self.path("out")), env={"TBPTT_CHECK_REPLICAS": "1"})
        self.assertSucceeded(result)
        files = run_files(self.path("out"), "dp")
        by_ranks = {attrs(p)["ranks"]: p for p in files.values()}
        self.assertEqual(sorted(by_ranks), [1, 2])
        for path in by_ranks.values():
            a = attrs(path)
            self.assertEqual(a["status"], "completed")
            self.assertEqual(a["replica_checks"], 50, "parameters were not compared after every update")
        one, two = (column(by_ranks[r], "train/loss") for r in (1, 2))
        self.assertEqual(len(one), 50)
        np.testing.assert_allclose(two, one, rtol=1e-5, atol=0)
        # The loss really moves: equal curves are not two flat lines.
        self.assertLess(one[-1], one[0] - 0.05)
        np.testing.assert_allclose(column(by_ranks[2], "eval/loss"), column(by_ranks[1], "eval/loss"), rtol=1e-5)


if __name__ == "__main__":
    unittest.main()
