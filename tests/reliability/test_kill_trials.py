"""Reliability 4: SIGKILL mpirun at ten moments of a sweep, resume each time; nothing is lost.

Each trial starts the sweep (--resume after the first), waits for its moment and SIGKILLs mpirun
alone: its ranks must die with it (PR_SET_PDEATHSIG). The moments:

  training      a random instant while runs train (a timer)
  flush         mid-write of a run file's next image (.h5.part.tmp torn in half)
  publish       an image written and synced, not yet renamed over the .h5.part
  checkpoint    mid-write of a checkpoint file (.ckpt/*.tmp)
  between_runs  just after a run was published as .h5, before the next one starts
  index         mid-write of the index (<name>.h5.tmp), in the rebuild a --resume starts with

The exact moments come from an LD_PRELOAD hook (fault_at.c) that freezes a rank at the chosen
write or rename; the test then kills mpirun. The order is random, from a printed seed
(TBPTT_KILL_SEED=n repeats it), and contains each of training, flush, between_runs and index.

After every kill: every .h5, .h5.part and the index open with h5py (every dataset read) and
h5dump. At the end: one resume finishes the sweep; every run is complete exactly once (train rows
1..N, evaluations at the planned updates, one file per run, the index lists each once), no
partial, lock or temporary file is left, and a run that was complete was never run again (same
start_time, same file).
"""
import glob
import os
import random
import signal
import subprocess
import time
import unittest

import h5py

from tbptt_cli import TempDirTest, attrs, mpi_command, start

# A run trains for about 2 s on a 2-core machine (0.15 ms a step): long enough that no trial's moment
# (at most a timer of 1 s, eight flushes, four checkpoints or one run's end) can finish the sweep.
STEPS, EVERY_EVAL = 12000, 4000
EXPERIMENT = f"""\
    name: trials
    data: {{source: delayed_recall, lag: 3, length: 400000, valid_length: 500}}
    model: {{cell: lstm, hidden: 32, embedding: 8}}
    tbptt: {{k1: 8}}
    train: {{batch: 8, steps: {STEPS}}}
    eval: {{every: {EVERY_EVAL}}}
    checkpoint: {{every: 200}}
    results: {{flush_seconds: 0.05}}
    sweep:
      grid: {{parallel.ranks_per_run: [1, 2]}}
      seeds: [1, 2, 3, 4]
    """
RUNS = 8
TRIALS = 10
FAULT_LIBRARY = os.environ["TBPTT_FAULT_LIBRARY"]


def freeze_spec(moment, rng):
    """TBPTT_FREEZE_AT for a moment (None: a timer instead)."""
    return {
        "training": None,
        "flush": f"write:*.h5.part.tmp:{rng.randint(1, 8)}",
        "publish": f"rename-before:*.h5.part.tmp:{rng.randint(1, 8)}",
        "checkpoint": f"write:*.ckpt/*.tmp:{rng.randint(1, 4)}",
        "between_runs": "rename-after:*.h5.part:1",
        "index": "write:*/trials.h5.tmp:1",
    }[moment]


def children(pid):
    """Pids whose parent is pid (the ranks mpirun started)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class KillTrials(TempDirTest):
    def setUp(self):
        super().setUp()
        self.exp = self.write_experiment("trials", EXPERIMENT)
        self.out = self.path("out")
        self.runs_dir = os.path.join(self.out, "trials", "runs")
        self.first_seen = {}  # run id -> (start_time, inode, mtime) when its .h5 first appeared

    def plan(self, rng):
        moments = ["training", "flush", "between_runs", "index"]
        moments += [rng.choice(["training", "flush", "publish", "checkpoint", "between_runs", "index"])
                    for _ in range(TRIALS - len(moments))]
        rng.shuffle(moments)
        # The first attempt has no index to rebuild (that happens on --resume): move "index" later.
        if moments[0] == "index":
            swap = next(i for i, m in enumerate(moments) if m != "index")
            moments[0], moments[swap] = moments[swap], moments[0]
        return moments

    def attempt(self, trial, moment, rng):
        args = ["run", self.exp, "--out", self.out] + (["--resume"] if trial > 0 else [])
        marker = self.path(f"frozen-{trial}")
        env = {}
        spec = freeze_spec(moment, rng)
        if spec:
            env = {"LD_PRELOAD": FAULT_LIBRARY, "TBPTT_FREEZE_AT": spec, "TBPTT_FREEZE_MARKER": marker,
                   # an ASan build wants its runtime first; the hook has none and needs none
                   "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        job = start(mpi_command(2, *args), env=env)
        deadline = time.monotonic() + 120
        started = time.time()
        while time.monotonic() < deadline and job.poll() is None:
            if spec and os.path.exists(marker) and os.path.getsize(marker) > 0:
                break
            if not spec and any(os.path.getmtime(p) >= started for p in glob.glob(self.runs_dir + "/*.h5.part")):
                time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the middle of training
                break
            time.sleep(0.01)
        ranks = children(job.pid)
        finished = job.poll() is not None
        if not finished:  # not reaped yet, so the pid is still mpirun's (at worst a zombie)
            os.kill(job.pid, signal.SIGKILL)
        stdout, stderr = job.communicate()
        self.assertFalse(finished, f"trial {trial} ({moment}, {spec}): the job ended before its moment\n{stdout}{stderr}")
        self.assertTrue(ranks, "mpirun had no ranks")
        deadline = time.monotonic() + 30
        while any(alive(p) for p in ranks) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse([p for p in ranks if alive(p)], f"trial {trial}: ranks outlived mpirun")
        if not spec:
            return "timer"
        with open(marker) as f:
            return f.read().strip()

    def check_files(self, trial):
        """Every file a reader may open opens, and every dataset reads."""
        paths = glob.glob(self.runs_dir + "/*.h5") + glob.glob(self.runs_dir + "/*.h5.part")
        paths += glob.glob(self.runs_dir + "/*.ckpt/*.h5")
        index = os.path.join(self.out, "trials.h5")
        if os.path.exists(index):
            paths.append(index)
        for path in paths:
            with h5py.File(path, "r") as f:
                f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
            dump = subprocess.run(["h5dump", "-H", path], capture_output=True, text=True)
            self.assertEqual(dump.returncode, 0, f"trial {trial}: h5dump {path}: {dump.stderr[-500:]}")
        for path in glob.glob(self.runs_dir + "/*.h5"):
            run_id = os.path.basename(path)[:-3]
            stat = os.stat(path)
            stamp = (attrs(path)["start_time"], stat.st_ino, stat.st_mtime_ns)
            self.assertEqual(self.first_seen.setdefault(run_id, stamp), stamp, f"trial {trial}: {run_id} was run again")

    def test_ten_kills_then_one_resume_lose_nothing(self):
        seed = int(os.environ.get("TBPTT_KILL_SEED", random.SystemRandom().randrange(1 << 30)))
        print(f"kill trials: seed {seed} (TBPTT_KILL_SEED={seed} repeats this order)", flush=True)
        rng = random.Random(seed)
        for trial, moment in enumerate(self.plan(rng)):
            where = self.attempt(trial, moment, rng)
            done = len(glob.glob(self.runs_dir + "/*.h5"))
            print(f"trial {trial}: killed at {moment}: {where}; {done} of {RUNS} runs complete", flush=True)
            self.check_files(trial)
        self.assertLess(len(self.first_seen), RUNS, "the trials finished the sweep: make the runs longer")

        result = subprocess.run(mpi_command(2, "run", self.exp, "--out", self.out, "--resume"), capture_output=True,
                                text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.check_files("final")
        left = sorted(os.path.relpath(p, self.runs_dir) for p in glob.glob(self.runs_dir + "/**/*", recursive=True)
                      if p.endswith((".part", ".lock", ".tmp")))
        self.assertEqual(left, [], "partial, lock or temporary files are left")
        runs = sorted(glob.glob(self.runs_dir + "/*.h5"))
        self.assertEqual(len(runs), RUNS)
        for path in runs:
            a = attrs(path)
            self.assertEqual(a["status"], "completed", path)
            with h5py.File(path, "r") as f:
                self.assertEqual(f["train/update"][()].tolist(), list(range(1, STEPS + 1)), path)
                valid = f["eval/split"][()] == 1
                self.assertEqual(f["eval/update"][()][valid].tolist(), list(range(EVERY_EVAL, STEPS + 1, EVERY_EVAL)), path)
        with h5py.File(os.path.join(self.out, "trials.h5"), "r") as index:
            ids = [s.decode() for s in index["summary/run_id"][()]]
            statuses = [s.decode() for s in index["summary/status"][()]]
        self.assertEqual(sorted(ids), sorted(os.path.basename(p)[:-3] for p in runs))
        self.assertEqual(statuses, ["completed"] * RUNS)


if __name__ == "__main__":
    unittest.main()
