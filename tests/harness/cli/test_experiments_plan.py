"""Acceptance (harness 5): `tbptt plan` accepts every experiment shipped in experiments/, and its
cost column (which orders runs and drives the ETA) counts each update's fixed cost."""
import glob
import os
import re
import unittest

from tbptt_cli import SOURCE_DIR, TBPTT, TempDirTest, run


class ShippedExperiments(TempDirTest):
    def test_every_experiment_plans(self):
        files = sorted(glob.glob(os.path.join(SOURCE_DIR, "experiments", "*.yaml")))
        self.assertIn("quickstart.yaml", [os.path.basename(f) for f in files])
        # Corpora users fetch themselves (tinyshakespeare) are not here: plan must then name the
        # setting to change, and plan with a stand-in corpus given on the command line.
        stand_in = self.path("corpus.txt")
        with open(stand_in, "w", encoding="utf-8") as f:
            f.write("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 400)
        for path in files:
            with self.subTest(experiment=os.path.basename(path)):
                result = run([TBPTT, "plan", path], cwd=SOURCE_DIR)
                if result.returncode == 2 and "data.path" in result.stderr and "not found" in result.stderr:
                    self.assertRegex(result.stderr, os.path.basename(path) + r":\d+:\d+: data.path = ")
                    result = run([TBPTT, "plan", path, "--set", "data.path=" + stand_in], cwd=SOURCE_DIR)
                self.assertSucceeded(result)
                self.assertRegex(result.stdout, r"\d+ runs?\n")


class PlannedCost(TempDirTest):
    def test_short_windows_cost_more_than_their_flops(self):
        # Same tokens, same GEMM FLOPs per token: k1 = 1 makes 64 times the updates of k1 = 64, and
        # each update has a fixed cost, so it must be planned as the dearer run (cost 1.000).
        path = self.write_experiment("cost", """\
            name: cost
            data: {source: delayed_recall, alphabet: 4, lag: 2, length: 20000}
            model: {cell: lstm, hidden: 16, embedding: 4}
            tbptt: {seq_len: 64}
            train: {batch: 4, tokens: 8192}
            sweep: {grid: {tbptt.k1: [1, 64]}}
            """)
        result = run([TBPTT, "plan", path])
        self.assertSucceeded(result)
        costs = {int(m.group(2)): float(m.group(1))
                 for m in re.finditer(r"\s(\d\.\d{3})\s+k1=(\d+)", result.stdout)}
        self.assertEqual(set(costs), {1, 64}, result.stdout)
        self.assertEqual(costs[1], 1.0)
        self.assertLess(costs[64], 0.9)


if __name__ == "__main__":
    unittest.main()
