"""Reliability 7: SIGTERM (what SLURM sends at the time limit) and SIGINT (Ctrl-C) make every
group finish its current update, checkpoint, mark its run `interrupted`, close the files and exit
non-zero; --resume continues the interrupted runs from there.

Open MPI 4.1's mpirun, signalled itself, sends its ranks SIGCONT at once, SIGTERM one
odls_base_sigkill_timeout later (1 s by default) and SIGKILL after another ~2 s: the ranks have
those ~2 s to wind down (export OMPI_MCA_odls_base_sigkill_timeout=10 for ~20 s). srun, and
SLURM's time limit under sbatch, signal the ranks directly. Both are tested, and a signal that
reaches one rank of a two-rank run only, which must stop the whole group rather than let the
others start new runs.

No thread of a rank may take the signals asynchronously: oneDNN 2.6's JIT GEMM kernels point rsp
into the heap, so a signal frame pushed mid-GEMM corrupts it (about one interrupt in fifteen under
load aborted in H5Fclose before tbptt took them with sigwait). Every thread blocks them; tested.
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
        self.assertIn("tbptt: interrupted: continue with the same command and --resume", stdout, everything)
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

    def test_every_thread_of_a_rank_blocks_the_stop_signals(self):
        exp = self.write_experiment("sig", EXPERIMENT.replace("RANKS", "1"))
        runs_dir = os.path.join(self.path("out"), "sig", "runs")
        job = start(mpi_command(2, "run", exp, "--out", self.path("out")))
        deadline = time.monotonic() + 120
        while not glob.glob(runs_dir + "/*.ckpt/*.h5") and time.monotonic() < deadline:  # training, MPI up
            self.assertIsNone(job.poll(), "the sweep ended before its threads could be inspected")
            time.sleep(0.05)
        ranks = world_ranks(job.pid)
        self.assertEqual(sorted(ranks), [0, 1])
        stop = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
        takers = {}  # rank -> its threads that do not block the stop signals: (tid, system call)
        for rank, pid in ranks.items():
            threads = os.listdir(f"/proc/{pid}/task")
            self.assertGreater(len(threads), 2, "expected MPI's threads and the signal thread beside main")
            for tid in threads:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    blocked = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
                if blocked & stop != stop:
                    with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                        takers.setdefault(rank, []).append((tid, f.read().split()[0]))
        os.kill(job.pid, signal.SIGTERM)
        job.communicate(timeout=60)
        # One thread per rank takes them: the one waiting in sigwait, which unblocks them only while
        # it waits in rt_sigtimedwait (system call 128 on x86-64). No other may take them mid-GEMM.
        self.assertEqual(sorted(takers), [0, 1], takers)
        for rank, threads in takers.items():
            self.assertEqual([call for _, call in threads], ["128"], f"rank {rank}: {threads}")

    def test_sigterm_to_one_rank_of_a_two_rank_run(self):
        self.interrupt(2, lambda mpirun, ranks: os.kill(ranks[1], signal.SIGTERM))


if __name__ == "__main__":
    unittest.main()
