"""Acceptance (harness 3): SIGKILL the whole job (mpirun and its ranks) in the middle of a sweep,
then run the same command with --resume: every run ends complete, the runs that had finished are
not run again (their files are untouched), and no file is unreadable (h5py and h5dump)."""
import os
import subprocess
import time
import unittest

import h5py

from tbptt_cli import TempDirTest, attrs, kill_job, mpi_command, run, run_files, start

EXPERIMENT = """\
    name: killme
    data: {source: delayed_recall, lag: 3, length: 400000, valid_length: 1000}
    model: {cell: lstm, hidden: 32, embedding: 8}
    tbptt: {k1: 8}
    train: {batch: 8, steps: 400}
    checkpoint: {every: 50}
    results: {flush_seconds: 0.2}
    sweep:
      seeds: [1, 2, 3, 4, 5, 6, 7, 8]
    """


class KillResume(TempDirTest):
    def test_resume_after_sigkill_completes_everything_once(self):
        exp = self.write_experiment("killme", EXPERIMENT)
        out = self.path("out")
        runs_dir = os.path.join(out, "killme", "runs")
        job = start(mpi_command(2, "run", exp, "--out", out))
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until some runs finished and others are under way
            names = os.listdir(runs_dir) if os.path.isdir(runs_dir) else []
            if sum(n.endswith(".h5") for n in names) >= 2 and any(n.endswith(".part") for n in names):
                break
            time.sleep(0.05)
        kill_job(job)
        before = run_files(out, "killme")
        self.assertGreaterEqual(len(before), 2, "the sweep was killed before two runs finished")
        self.assertLess(len(before), 8, "the sweep finished before it could be killed")
        stamps = {rid: (os.stat(p).st_mtime_ns, attrs(p)["start_time"]) for rid, p in before.items()}

        result = run(mpi_command(2, "run", exp, "--out", out, "--resume"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"{len(before)} of 8 runs already done", result.stdout)
        after = run_files(out, "killme")
        self.assertEqual(len(after), 8)
        self.assertFalse([n for n in os.listdir(runs_dir) if n.endswith(".part")], "no partial file is left")
        for rid, path in after.items():
            a = attrs(path)
            self.assertEqual(a["status"], "completed", rid)
            self.assertEqual(a["updates"], 400, rid)
            with h5py.File(path, "r") as f:
                self.assertEqual(len(f["train/update"]), 400, rid)
                self.assertEqual(list(f["train/update"][()]), list(range(1, 401)), rid)
            self.assertEqual(subprocess.run(["h5dump", "-H", path], capture_output=True).returncode, 0, path)
            if rid in stamps:
                self.assertEqual((os.stat(path).st_mtime_ns, a["start_time"]), stamps[rid], f"{rid} was run again")
        with h5py.File(os.path.join(out, "killme.h5"), "r") as index:
            statuses = [s.decode() if isinstance(s, bytes) else s for s in index["summary/status"][()]]
            self.assertEqual(statuses, ["completed"] * 8)


if __name__ == "__main__":
    unittest.main()
