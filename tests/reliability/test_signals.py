"""Reliability 7: SIGTERM (what SLURM sends at the time limit) and SIGINT (Ctrl-C) make every
group finish its current update, checkpoint, mark its run `interrupted`, close the files and exit
non-zero; --resume continues the interrupted runs from there.

Open MPI 4.1's mpirun, signalled itself, sends its ranks SIGCONT at once, SIGTERM one
odls_base_sigkill_timeout later (1 s by default) and SIGKILL after another ~2 s: the ranks have
those ~2 s to wind down (export OMPI_MCA_odls_base_sigkill_timeout=10 for ~20 s). srun, and
SLURM's time limit under sbatch, signal the ranks directly. Both are tested, and a signal that
reaches one rank of a two-rank run only, which must stop the whole group rather than let the
others start new runs.
"""
import glob
import os
import signal
import subprocess
import time
import unittest

import h5py

from tbptt_cli import TempDirTest, attrs, mpi_command, run, run_files, start

# A run trains for about 4 s (0.15 ms a step): mpirun forwards SIGTERM 1 s after its own signal, and
# a run that ends inside that second would be completed, not interrupted.
RUNS, STEPS = 4, 25000
EXPERIMENT = f"""\
    name: sig
    data: {{source: delayed_recall, lag: 3, length: 400000, valid_length: 500}}
    model: {{cell: lstm, hidden: 32, embedding: 8}}
    tbptt: {{k1: 8}}
    train: {{batch: 8, steps: {STEPS}}}
    checkpoint: {{every: 500}}
    results: {{flush_seconds: 0.2}}
    parallel: {{ranks_per_run: RANKS}}
    sweep:
      seeds: [1, 2, 3, 4]
    """


def world_ranks(mpirun_pid):
    """{world rank: pid} of the processes mpirun started."""
    ranks = {}
    for pid in subprocess.run(["pgrep", "-P", str(mpirun_pid)], capture_output=True, text=True).stdout.split():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        if b"OMPI_COMM_WORLD_RANK" in env:
            ranks[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(pid)
    return ranks


class Signals(TempDirTest):
    def interrupt(self, ranks_per_run, send):
        """Runs the sweep, lets `send(mpirun_pid, {rank: pid})` signal it mid-training, checks the
        files it leaves; returns (experiment, out, {run id: train/wall_time before resuming})."""
        exp = self.write_experiment("sig", EXPERIMENT.replace("RANKS", str(ranks_per_run)))
        out = self.path("out")
        runs_dir = os.path.join(out, "sig", "runs")
        job = start(mpi_command(2, "run", exp, "--out", out))
        running = 2 // ranks_per_run
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every group is past its first checkpoint
            ckpts = glob.glob(runs_dir + "/*.ckpt/*.h5")
            if len({os.path.dirname(c) for c in ckpts}) >= running:
                break
            self.assertIsNone(job.poll(), "the sweep ended before it could be signalled")
            time.sleep(0.05)
        ranks = world_ranks(job.pid)
        self.assertEqual(sorted(ranks), [0, 1])
        before = set(os.listdir(runs_dir))
        send(job.pid, ranks)
        try:
            stdout, stderr = job.communicate(timeout=60)  # a liveness bound, not a timing claim
        except subprocess.TimeoutExpired:
            job.kill()
            self.fail("the job did not exit after the signal: " + "".join(job.communicate()))
        everything = stdout + stderr
        self.assertNotEqual(job.returncode, 0, everything)
        self.assertIn("tbptt: interrupted: continue with the same command and --resume", stdout)
        self.assertNotIn("exited on signal", everything, "a rank was killed instead of finishing")

        names = os.listdir(runs_dir)
        self.assertEqual([n for n in names if n.endswith((".part", ".lock", ".tmp"))], [], "files left open")
        files = run_files(out, "sig")
        started = {n.split(".")[0] for n in before if not n.endswith(".ckpt")}
        self.assertEqual(set(files), started, "a run started after the signal")
        statuses = {rid: attrs(p)["status"] for rid, p in files.items()}
        self.assertEqual(sum(s == "interrupted" for s in statuses.values()), running, statuses)
        self.assertLessEqual(set(statuses.values()), {"completed", "interrupted"})
        wall = {}
        for rid, path in files.items():
            a = attrs(path)
            if a["status"] != "interrupted":
                continue
            self.assertEqual(a["error"], "interrupted by a signal")
            with h5py.File(path, "r") as f:
                updates = f["train/update"][()]
                self.assertEqual(updates.tolist(), list(range(1, len(updates) + 1)))
                self.assertEqual(a["updates"], len(updates))
                self.assertIn(f"{len(updates):010d}", f["checkpoint"], "no checkpoint at the last update")
                wall[rid] = f["train/wall_time"][()]
        return exp, out, wall

    def resume(self, exp, out, wall):
        """--resume completes every run; the interrupted ones continue (their rows are kept)."""
        result = run(mpi_command(2, "run", exp, "--out", out, "--resume"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        files = run_files(out, "sig")
        self.assertEqual(len(files), RUNS)
        for rid, path in files.items():
            self.assertEqual(attrs(path)["status"], "completed", rid)
            with h5py.File(path, "r") as f:
                self.assertEqual(f["train/update"][()].tolist(), list(range(1, STEPS + 1)))
                if rid in wall:  # timings differ run to run: equal ones were kept, not recomputed
                    self.assertEqual(f["train/wall_time"][: len(wall[rid])].tolist(), wall[rid].tolist())

    def test_sigterm_to_mpirun(self):
        self.resume(*self.interrupt(1, lambda mpirun, ranks: os.kill(mpirun, signal.SIGTERM)))

    def test_sigint_to_mpirun(self):
        self.interrupt(1, lambda mpirun, ranks: os.kill(mpirun, signal.SIGINT))

    def test_sigterm_to_every_rank_as_srun_does(self):
        def send(mpirun, ranks):
            for pid in ranks.values():
                os.kill(pid, signal.SIGTERM)
        self.resume(*self.interrupt(1, send))

    def test_sigterm_to_one_rank_of_a_two_rank_run(self):
        self.interrupt(2, lambda mpirun, ranks: os.kill(ranks[1], signal.SIGTERM))


if __name__ == "__main__":
    unittest.main()
