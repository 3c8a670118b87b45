"""Acceptance (harness 1): the same run on 2 ranks and on 1 rank (same global batch) gives loss
curves equal within 1e-5 relative for 50 updates, both ways of averaging the gradients:
ranks on one node share the parameters and each steps its shard (harness/shared_step.h), and
with TBPTT_SHARED_STEP=0 they MPI_Allreduce the gradient and step replicas, whose parameters
stay bitwise identical (checked after every update: TBPTT_CHECK_REPLICAS=1)."""
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
    def sweep(self, out, shared_step):
        """The 1-rank and 2-rank runs of EXPERIMENT: {ranks: run file}."""
        exp = self.write_experiment("dp", EXPERIMENT)
        env = {"TBPTT_CHECK_REPLICAS": "1", "TBPTT_SHARED_STEP": "1" if shared_step else "0"}
        result = run(mpi_command(2, "run", exp, "--out", self.path(out)), env=env)
        self.assertSucceeded(result)
        by_ranks = {attrs(p)["ranks"]: p for p in run_files(self.path(out), "dp").values()}
        self.assertEqual(sorted(by_ranks), [1, 2])
        for path in by_ranks.values():
            a = attrs(path)
            self.assertEqual(a["status"], "completed")
            self.assertEqual(a["replica_checks"], 50, "parameters were not compared after every update")
        self.assertEqual(attrs(by_ranks[1])["gradient_reduction"], "none")
        self.assertEqual(attrs(by_ranks[2])["gradient_reduction"], "shared_memory" if shared_step else "allreduce")
        return by_ranks

    def assert_reproduces_one_rank(self, by_ranks):
        one, two = (column(by_ranks[r], "train/loss") for r in (1, 2))
        self.assertEqual(len(one), 50)
        np.testing.assert_allclose(two, one, rtol=1e-5, atol=0)
        # The loss really moves: equal curves are not two flat lines.
        self.assertLess(one[-1], one[0] - 0.05)
        np.testing.assert_allclose(column(by_ranks[2], "eval/loss"), column(by_ranks[1], "eval/loss"), rtol=1e-5)

    def test_two_ranks_sharing_the_parameters_reproduce_one_rank(self):
        self.assert_reproduces_one_rank(self.sweep("shared", shared_step=True))

    def test_two_ranks_allreducing_the_gradient_reproduce_one_rank(self):
        self.assert_reproduces_one_rank(self.sweep("allreduce", shared_step=False))

    def test_without_shared_memory_the_ranks_fall_back_to_the_allreduce(self):
        # Rank 0 cannot reserve the segment (a memory limit), or rank 1 cannot open it: the run
        # says so once, naming the rank and its reason, and trains with MPI_Allreduce, with the
        # same losses.
        exp = self.write_experiment("dp", EXPERIMENT.replace("[1, 2]", "[2]"))
        losses = []
        for rank, why in (("0", ("rank 0: ", "KiB of shared memory: No space left on device")),
                          ("1", ("rank 1: /proc/", "Permission denied"))):
            out = self.path("out" + rank)
            result = run(mpi_command(2, "run", exp, "--out", out), env={"TBPTT_FAULT_NO_SHM": rank})
            self.assertSucceeded(result)
            self.assertEqual(result.stderr.count("no shared memory for the data-parallel step"), 1, result.stderr)
            for fragment in why:
                self.assertIn(fragment, result.stderr)
            self.assertIn("MPI_Allreduce instead", result.stderr)
            (path,) = run_files(out, "dp").values()
            self.assertEqual(attrs(path)["status"], "completed")
            self.assertEqual(attrs(path)["gradient_reduction"], "allreduce")
            losses.append(column(path, "train/loss"))
        np.testing.assert_array_equal(losses[0], losses[1])

    def test_both_ways_of_averaging_agree(self):
        # The same sums (a + b) and the same step per element: the loss curves agree to the last
        # bits the gradient norm's order of summation (clipping is on) can change.
        shared, allreduce = self.sweep("shared", True)[2], self.sweep("allreduce", False)[2]
        np.testing.assert_allclose(column(shared, "train/loss"), column(allreduce, "train/loss"), rtol=1e-6, atol=0)
        np.testing.assert_allclose(column(shared, "train/grad_norm"), column(allreduce, "train/grad_norm"), rtol=1e-6)


if __name__ == "__main__":
    unittest.main()
