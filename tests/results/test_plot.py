#!/usr/bin/python3
"""plot.py on files written by the C++ library: every figure of a full sweep is a non-empty PNG,
and missing data (no train rows, a run file gone) skips figures instead of failing.

usage: test_plot.py RESULTS_TOOL PLOT_PY
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = PLOT = None
FIGURES = ["loss_curves.png", "final_valid_heatmap.png", "throughput_memory.png", "fidelity.png"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def plot(*args):
    return subprocess.run(["/usr/bin/python3", PLOT, *args], capture_output=True, text=True)


class Plot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "results")

    def tearDown(self):
        self.tmp.cleanup()

    def assert_pngs(self, folder, names):
        for name in names:
            path = os.path.join(folder, name)
            self.assertTrue(os.path.exists(path), path)
            with open(path, "rb") as f:
                head = f.read(8)
            self.assertEqual(head, PNG_MAGIC, path)
            self.assertGreater(os.path.getsize(path), 5000, f"{path} looks empty")

    def test_full_sweep_gives_every_figure(self):
        subprocess.run([TOOL, "sweep", self.out], check=True)
        figures = os.path.join(self.tmp.name, "figures")
        result = plot(os.path.join(self.out, "synthetic.h5"), "--out", figures)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("skipped", result.stdout)
        self.assert_pngs(figures, FIGURES)

    def test_heatmap_of_any_metric_over_any_two_keys_with_panels(self):
        subprocess.run([TOOL, "sweep", self.out], check=True)
        figures = os.path.join(self.tmp.name, "figures")
        result = plot(os.path.join(self.out, "synthetic.h5"), "--out", figures, "--rows", "tbptt.k1",
                      "--cols", "train.batch", "--metric", "accuracy", "--facet", "seed")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("skipped final valid loss heatmap", result.stdout)
        self.assert_pngs(figures, ["final_valid_heatmap.png", "fidelity.png"])  # --facet splits both
        still = plot(os.path.join(self.out, "synthetic.h5"), "--out", figures, "--rows", "model.hidden")
        self.assertIn("skipped final valid loss heatmap: model.hidden does not vary", still.stdout)
        bad = plot(os.path.join(self.out, "synthetic.h5"), "--metric", "speed")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("invalid choice", bad.stderr)

    def test_loss_curves_against_tokens_updates_or_wall_time(self):
        subprocess.run([TOOL, "sweep", self.out], check=True)
        images = {}
        for axis in ("tokens", "update", "wall_time"):
            figures = os.path.join(self.tmp.name, axis)
            result = plot(os.path.join(self.out, "synthetic.h5"), "--out", figures, "--x", axis)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assert_pngs(figures, ["loss_curves.png"])
            with open(os.path.join(figures, "loss_curves.png"), "rb") as f:
                images[axis] = f.read()
        self.assertEqual(len(set(images.values())), 3, "--x did not change the loss curves' axis")
        bad = plot(os.path.join(self.out, "synthetic.h5"), "--x", "epoch")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("invalid choice", bad.stderr)

    def test_default_folder_is_next_to_the_index(self):
        subprocess.run([TOOL, "sweep", self.out], check=True)
        result = plot(os.path.join(self.out, "synthetic.h5"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_pngs(os.path.join(self.out, "synthetic-plots"), FIGURES)

    def test_a_missing_run_file_is_noted_and_the_rest_plotted(self):
        subprocess.run([TOOL, "sweep", self.out], check=True)
        os.remove(os.path.join(self.out, "synthetic", "runs", "k5-b16-s1.h5"))
        figures = os.path.join(self.tmp.name, "figures")
        result = plot(os.path.join(self.out, "synthetic.h5"), "--out", figures)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("k5-b16-s1", result.stdout)
        self.assert_pngs(figures, FIGURES)

    def test_a_run_without_rows_skips_every_figure_and_says_why(self):
        path = subprocess.run([TOOL, "model", self.out, "gru"], check=True, capture_output=True,
                              text=True).stdout.strip()
        figures = os.path.join(self.tmp.name, "figures")
        result = plot(path, "--out", figures)
        self.assertEqual(result.returncode, 0, result.stderr)
        for reason in ["skipped loss curves: no run has train rows",
                       "skipped final valid loss heatmap: the truncation",
                       "skipped gradient fidelity: no run recorded fidelity/"]:
            self.assertIn(reason, result.stdout)
        self.assertEqual(os.listdir(figures), [])

    def test_a_missing_file_is_a_usage_error(self):
        result = plot(os.path.join(self.tmp.name, "nope.h5"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("no such file", result.stderr)


if __name__ == "__main__":
    TOOL, PLOT = sys.argv.pop(1), sys.argv.pop(1)
    unittest.main()
