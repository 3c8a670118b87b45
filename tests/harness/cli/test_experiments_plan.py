"""Acceptance (harness 5): `tbptt plan` accepts every experiment shipped in experiments/."""
import glob
import os
import unittest

from tbptt_cli import SOURCE_DIR, TBPTT, TempDirTest, run


class ShippedExperiments(TempDirTest):
    def test_every_experiment_plans(self):
        files = sorted(glob.glob(os.path.join(SOURCE_DIR, "experiments", "*.yaml")))
        self.assertIn("quickstart.yaml", [os.path.basename(f) for f in files])
        for path in files:
            with self.subTest(experiment=os.path.basename(path)):
                # Corpora the experiments name by default may be absent here; plan must still
                # parse and validate them, and when data is missing say which setting to change.
                result = run([TBPTT, "plan", path], cwd=SOURCE_DIR)
                self.assertSucceeded(result)
                self.assertRegex(result.stdout, r"\d+ runs?\n")


if __name__ == "__main__":
    unittest.main()
