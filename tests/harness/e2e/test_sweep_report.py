"""Acceptance (analysis): `tbptt report` and results/plot.py on a real sweep that `tbptt run`
trained under mpirun: 4 runs (truncation x batch) on 2 ranks. Every run id and its status is in
the table, the grouped table, the CSV (which the csv module parses, with full-precision numbers
equal to the run files') and the Markdown; plot.py writes non-empty PNGs.
"""
import csv
import io
import os
import unittest

import h5py

from e2e import PYTHON, SOURCE_DIR, TBPTT, FolderTest, command, run_files, tbptt_run

EXPERIMENT = """\
    name: sweep4
    seed: 2
    data: {source: delayed_recall, alphabet: 4, lag: 3, length: 4000, valid_length: 400}
    model: {cell: gru, hidden: 8, embedding: 4}
    train: {steps: 30, optimizer: {name: adam, lr: 0.02}}
    eval: {every: 10, batch: 4}
    sweep:
      grid: {tbptt.k1: [2, 6], train.batch: [4, 8]}
    """


def sections(csv_text):
    """{section title: list of row dicts} of `report --format csv` (each under a '# Title' line)."""
    found, title, lines = {}, None, []
    for line in csv_text.splitlines() + ["# end"]:
        if line.startswith("# "):
            if title is not None and lines:
                found[title] = list(csv.DictReader(io.StringIO("\n".join(lines))))
            title, lines = line[2:], []
        elif line.strip():
            lines.append(line)
    return found


class SweepReport(FolderTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        experiment = cls.write("sweep4.yaml", EXPERIMENT)
        tbptt_run(2, experiment, cls.path("out"))
        cls.index = cls.path("out", "sweep4.h5")
        cls.runs = run_files(cls.path("out"), "sweep4")
        cls.status, cls.k1, cls.final_valid = {}, {}, {}
        for run_id, path in cls.runs.items():
            with h5py.File(path, "r") as f:
                cls.status[run_id] = f.attrs["status"]
                cls.k1[run_id] = int(f.attrs["tbptt.k1"])
                valid = f["eval/split"][()] == 1
                cls.final_valid[run_id] = float(f["eval/loss"][()][valid][-1])

    def test_the_sweep_trained_four_runs(self):
        self.assertEqual(len(self.runs), 4)
        self.assertEqual(set(self.status.values()), {"completed"})
        self.assertEqual(sorted(self.k1.values()), [2, 2, 6, 6])

    def test_table_lists_every_run_with_its_status(self):
        out = command(TBPTT, "report", self.index)
        self.assertIn("4 runs (4 completed)", out)
        for run_id, status in self.status.items():
            line = next((l for l in out.splitlines() if l.startswith(run_id)), "")
            self.assertIn(status, line.split(), f"{run_id} in\n{out}")

    def test_grouped_by_k1(self):
        out = command(TBPTT, "report", self.index, "--by", "k1")
        self.assertIn("Groups by [tbptt.k1]", out)
        groups = [l.split() for l in out.split("Groups by")[1].split("\n\n")[0].splitlines()[2:]]
        self.assertEqual(sorted((int(g[0]), int(g[1]), int(g[2])) for g in groups), [(2, 2, 2), (6, 2, 2)])
        for run_id in self.runs:
            self.assertIn(run_id, out)

    def test_csv_parses_and_has_every_run_in_full_precision(self):
        found = sections(command(TBPTT, "report", self.index, "--format", "csv"))
        self.assertIn("Runs (by final valid loss)", found)
        rows = {row["run_id"]: row for row in found["Runs (by final valid loss)"]}
        self.assertEqual(set(rows), set(self.runs))
        for run_id, row in rows.items():
            self.assertEqual(row["status"], self.status[run_id])
            self.assertEqual(int(row["tbptt.k1"]), self.k1[run_id])
            self.assertAlmostEqual(float(row["final_valid_loss"]), self.final_valid[run_id], places=12)
        losses = [float(row["final_valid_loss"]) for row in found["Runs (by final valid loss)"]]
        self.assertEqual(losses, sorted(losses))

    def test_markdown_has_a_row_per_run(self):
        out = command(TBPTT, "report", self.index, "--format", "markdown")
        for run_id, status in self.status.items():
            cells = next((l for l in out.splitlines() if l.startswith(f"| {run_id} |")), "").split("|")
            self.assertIn(f" {status} ", cells, f"{run_id} in\n{out}")

    def test_plot_writes_non_empty_pngs(self):
        plots = self.path("plots")
        command(PYTHON, os.path.join(SOURCE_DIR, "results", "plot.py"), self.index, "--out", plots)
        for name in ("loss_curves.png", "final_valid_heatmap.png", "throughput_memory.png"):
            with self.subTest(figure=name):
                with open(os.path.join(plots, name), "rb") as f:
                    data = f.read()
                self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"), name)
                self.assertGreater(len(data), 10000, name)


if __name__ == "__main__":
    unittest.main()
