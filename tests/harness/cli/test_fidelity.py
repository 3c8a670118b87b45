"""The gradient-fidelity probe computes exactly the long-horizon gradient it claims.

With a learning rate of 1e-30 the weights never change, so the state the network carries is a
function of the data alone. Then the probe's long gradient in a run with k2 = 4 (horizon rounded
to h' = 12) must equal the ordinary truncated gradient of a run with k2 = 12 at the same updates:
that only holds if the long window, its initial state from the ring (window n - 2's), and the sum
over ranks are right. And a run whose truncation already spans the horizon has fidelity 1."""
import unittest

import h5py
import numpy as np

from tbptt_cli import TempDirTest, attrs, mpi_command, run, run_files

EXPERIMENT = """\
    name: fid
    data: {source: delayed_recall, lag: 6, length: 8000, valid_length: 400}
    model: {cell: gru, layers: 2, hidden: 16, embedding: 8}
    tbptt: {k1: 4, k2: 4}
    train: {batch: 4, steps: 60, optimizer: {name: sgd, lr: 1.0e-30}}
    fidelity: {every: 10, horizon: 10}
    sweep:
      grid: {parallel.ranks_per_run: [1, 2]}
      zip: {tbptt.k2: [4, 12], fidelity.horizon: [10, 13]}
    """

# Sequences of 8 steps and k2 = 8: every window already reaches back to its sequence start, so
# no horizon can see further: fidelity must be exactly 1.
SPANNING = """\
    name: span
    data: {source: delayed_recall, lag: 3, length: 8000, valid_length: 400}
    model: {cell: lstm, hidden: 16, embedding: 8}
    tbptt: {k1: 4, k2: 8, seq_len: 8}
    train: {batch: 4, steps: 40}
    fidelity: {every: 5, horizon: 20}
    """


def fidelity(path):
    with h5py.File(path, "r") as f:
        g = f["fidelity"]
        return {k: g[k][()] for k in ("update", "horizon", "group", "cosine", "rel_error", "norm_truncated", "norm_long")}


class FidelityProbe(TempDirTest):
    def test_long_gradient_is_the_gradient_of_a_longer_truncation(self):
        exp = self.write_experiment("fid", EXPERIMENT)
        self.assertSucceeded(run(mpi_command(2, "run", exp, "--out", self.path("out"))))
        runs = {(attrs(p)["tbptt.k2"], attrs(p)["ranks"]): fidelity(p) for p in run_files(self.path("out"), "fid").values()}
        self.assertEqual(len(runs), 4)
        short, long_ = runs[(4, 1)], runs[(12, 1)]
        self.assertEqual(list(short["horizon"][:1]), [12], "horizon 10 rounds up to k2 + j*k1 = 12")
        np.testing.assert_array_equal(short["update"], long_["update"])
        self.assertEqual(len(short["update"]), 6 * 5, "6 probes x 5 groups: all, embedding, rnn.l0, rnn.l1, head")
        # The probe's long gradient in the k2=4 run is the k2=12 run's own truncated gradient.
        np.testing.assert_allclose(short["norm_long"], long_["norm_truncated"], rtol=1e-4)
        # ... and truncating at 4 really differs from 12 on a lag-6 task (the test can fail).
        self.assertLess(np.min(short["cosine"]), 0.999)
        # Two ranks sum the same gradients.
        for k2 in (4, 12):
            for key in ("cosine", "norm_long", "norm_truncated"):
                np.testing.assert_allclose(runs[(k2, 2)][key], runs[(k2, 1)][key], rtol=1e-4, err_msg=f"k2={k2} {key}")

    def test_truncation_reaching_the_sequence_start_has_fidelity_one(self):
        exp = self.write_experiment("span", SPANNING)
        self.assertSucceeded(run(mpi_command(1, "run", exp, "--out", self.path("out"))))
        (path,) = run_files(self.path("out"), "span").values()
        f = fidelity(path)
        self.assertEqual(len(f["update"]), 8 * 4)
        np.testing.assert_allclose(f["cosine"], 1.0, atol=1e-6)
        np.testing.assert_allclose(f["rel_error"], 0.0, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
