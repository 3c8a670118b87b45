"""Acceptance (harness 5): `tbptt plan` accepts every experiment shipped in experiments/."""
import glob
import os
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


if __name__ == "__main__":
    unittest.main()
