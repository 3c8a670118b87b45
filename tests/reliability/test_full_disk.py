"""Reliability 6: a full disk ends the sweep with a clear message and exit status 1, no group
starts another run, and every run finished before stays intact; once there is space again,
--resume finishes the sweep without running a finished run again.

The disk fills three ways:
  * for real: a 2 MB tmpfs, mounted in a private mount namespace of this test (needs
    CAP_SYS_ADMIN, which root in a CI container has; skipped otherwise), enlarged to resume;
  * injected ENOSPC (fault_at.c, LD_PRELOAD) from the N-th write under the results folder on:
    deterministic and unprivileged; two N's, one failing a checkpoint file (written by HDF5,
    whose failed close used to crash tbptt at exit) and one a run file's image;
  * injected EFBIG with SIGXFSZ first, which is what a file-size limit (ulimit -f) does. The limit
    itself cannot be used: Open MPI 4.1 (PMIx) needs shared-memory files beyond any small limit,
    fails in MPI_Init and mpirun then hangs. tbptt ignores SIGXFSZ, so the write fails instead.
"""
import ctypes
import glob
import os
import subprocess
import unittest

import h5py

from tbptt_cli import TempDirTest, attrs, mpi_command, run, run_files

RUNS, STEPS = 6, 300
EXPERIMENT = f"""\
    name: disk
    data: {{source: delayed_recall, lag: 3, length: 100000, valid_length: 500}}
    model: {{cell: lstm, hidden: 64, embedding: 8}}
    tbptt: {{k1: 8}}
    train: {{batch: 8, steps: {STEPS}}}
    checkpoint: {{every: 100}}
    results: {{flush_seconds: FLUSH}}
    sweep:
      seeds: [1, 2, 3, 4, 5, 6]
    """
FAULT_LIBRARY = os.environ["TBPTT_FAULT_LIBRARY"]
CLONE_NEWNS = 0x00020000


def mount_private_tmpfs(path, size):
    """Mounts a tmpfs at path, visible to this process and its children only. Raises OSError."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    for command in (["mount", "--make-rprivate", "/"], ["mount", "-t", "tmpfs", "-o", f"size={size}", "tbptt-disk", path]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise OSError(done.returncode, " ".join(command) + ": " + done.stderr.strip())


class FullDisk(TempDirTest):
    def experiment(self, flush):
        return self.write_experiment("disk", EXPERIMENT.replace("FLUSH", str(flush)))

    def check_stopped(self, result, out, cause):
        """The sweep stopped cleanly: returns {run id: stamp} of the runs it finished."""
        everything = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, everything[-4000:])
        self.assertIn(cause, result.stderr)
        self.assertIn("tbptt: stopped: results could not be written under", result.stderr)
        self.assertNotIn("exited on signal", everything, "a rank died instead of reporting")
        finished = run_files(out, "disk")
        partial = glob.glob(os.path.join(out, "disk", "runs", "*.h5.part"))
        self.assertGreaterEqual(len(finished), 1, "no run finished before the disk was full: a weak test")
        self.assertLess(len(finished) + len(partial), RUNS, "the sweep went on starting runs")
        stamps = {}
        for run_id, path in finished.items():
            a = attrs(path)
            self.assertEqual(a["status"], "completed", path)
            with h5py.File(path, "r") as f:
                self.assertEqual(f["train/update"][()].tolist(), list(range(1, STEPS + 1)), path)
                f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
            self.assertEqual(subprocess.run(["h5dump", "-H", path], capture_output=True).returncode, 0, path)
            stamps[run_id] = (a["start_time"], os.stat(path).st_ino, os.stat(path).st_mtime_ns)
        for path in partial:  # the last image that could be written
            with h5py.File(path, "r") as f:
                f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
        return stamps

    def check_resumed(self, exp, out, stamps):
        result = run(mpi_command(2, "run", exp, "--out", out, "--resume"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"{len(stamps)} of {RUNS} runs already done", result.stdout)
        finished = run_files(out, "disk")
        self.assertEqual(len(finished), RUNS)
        for run_id, path in finished.items():
            self.assertEqual(attrs(path)["status"], "completed")
            if run_id in stamps:
                stat = os.stat(path)
                self.assertEqual((attrs(path)["start_time"], stat.st_ino, stat.st_mtime_ns), stamps[run_id],
                                 f"{run_id} was run again")

    def injected(self, spec, flush=1000):
        """One sweep with TBPTT_FAIL_AT=spec ({out} in it is the results folder)."""
        exp, out = self.experiment(flush), self.path("out")
        env = {"LD_PRELOAD": FAULT_LIBRARY, "TBPTT_FAIL_AT": spec.format(out=out),
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        # One rank: with flushes only at checkpoints and the end (flush 1000 s), the N-th write
        # falls at the same place every time.
        return exp, out, run(mpi_command(1, "run", exp, "--out", out), env=env)

    def test_a_real_disk_fills_up(self):
        mount = self.path("disk")
        os.mkdir(mount)
        try:
            mount_private_tmpfs(mount, "2m")
        except OSError as e:
            self.skipTest(f"cannot mount a file system here ({e}); the injected failures cover the code")
        self.addCleanup(subprocess.run, ["umount", "-l", mount], capture_output=True)
        exp, out = self.experiment(0.05), os.path.join(mount, "out")
        stamps = self.check_stopped(run(mpi_command(2, "run", exp, "--out", out)), out, "No space left on device")
        subprocess.run(["mount", "-o", "remount,size=64m", mount], check=True)
        self.check_resumed(exp, out, stamps)

    def test_a_checkpoint_write_fails(self):
        exp, out, result = self.injected("write:{out}/disk/*:150:ENOSPC")
        self.assertIn(".ckpt/", result.stderr)
        self.check_resumed(exp, out, self.check_stopped(result, out, "No space left on device"))

    def test_a_run_image_write_fails(self):
        exp, out, result = self.injected("write:{out}/disk/*:250:ENOSPC")
        self.assertIn(".h5.part.tmp: write: No space left on device", result.stderr)
        self.check_resumed(exp, out, self.check_stopped(result, out, "No space left on device"))

    def test_a_file_size_limit(self):
        exp, out, result = self.injected("write:{out}/disk/*:250:EFBIG")
        self.check_resumed(exp, out, self.check_stopped(result, out, "File too large"))


if __name__ == "__main__":
    unittest.main()
