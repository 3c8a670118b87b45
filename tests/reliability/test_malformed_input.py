"""Reliability 1: malformed input beyond the corpus that tests/harness/cli/test_bad_input.py walks.

* tests/bad_input/at_plan/: experiments the config layer accepts but `plan` and `run` refuse once
  they look at data files (missing data.path / valid_path / test_path, a directory, an empty or
  too small corpus, a missing Brown cache) or at the engine's 32-bit limits (k1 = 2^32 + 5 used to
  train silently with k1 = 5);
* experiment files that are not files: a 100 MB line, a FIFO, /dev/zero, /proc/self/mem (an I/O
  error even for root), a file only root may read (read by an unprivileged user), a directory;
* --set arguments and flags, and results files that are not HDF5.
Every one exits with status 2, a short message naming the place, and writes nothing.
"""
import os
import pwd
import shutil
import subprocess
import time
import unittest

from tbptt_cli import SOURCE_DIR, TBPTT, TempDirTest, malformed_cases, mpi_command, run

AT_PLAN = os.path.join(SOURCE_DIR, "tests", "bad_input", "at_plan")
GOOD = """\
    name: good
    data: {source: delayed_recall, length: 2000, valid_length: 200}
    model: {hidden: 8}
    train: {batch: 4, steps: 3}
    """
MAX_MESSAGE = 400  # bytes of stderr: one line naming the place, never an echo of the input


class Refusals(TempDirTest):
    def setUp(self):
        super().setUp()
        self.out = self.path("out")

    def refuse(self, args, *fragments, cwd=None, timeout=60, short=True):
        """Runs tbptt ARGS: exit 2, every fragment on stderr, nothing under self.out."""
        result = run([TBPTT, *map(str, args)], cwd=cwd, timeout=timeout)
        self.assertEqual(result.returncode, 2, result.stdout[-2000:] + result.stderr[-2000:])
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        if short:
            self.assertLess(len(result.stderr.encode()), MAX_MESSAGE, result.stderr[:MAX_MESSAGE])
        self.assertFalse(os.path.exists(self.out), "nothing may be written")
        return result

    def test_at_plan_corpus(self):
        cases = list(malformed_cases(AT_PLAN))
        self.assertGreaterEqual(len(cases), 10)
        yaml_files = sorted(f for f in os.listdir(AT_PLAN) if f.endswith(".yaml"))
        self.assertEqual(sorted({c[0] for c in cases}), yaml_files, "one row per file of at_plan/")
        for name, row, col, fragment in cases:
            for command in ("plan", "run"):
                with self.subTest(file=name, command=command):
                    out = ["--out", self.out] if command == "run" else []
                    self.refuse([command, name, *out], f"tbptt: {name}:{row}:{col}: ", fragment, cwd=AT_PLAN,
                                short=False)

    def test_a_100_megabyte_line_is_refused_fast_with_a_short_message(self):
        path = self.path("huge.yaml")
        with open(path, "w") as f:
            f.write("name: " + "a" * 100_000_000 + "\ndata: {source: copy}\n")
        start = time.monotonic()
        self.refuse(["run", path, "--out", self.out], f"{path}:1:16777217: ", "goes on beyond 16 MiB")
        # Not a timing assertion: a liveness bound 10x above what it takes (parsing it took 27 s).
        self.assertLess(time.monotonic() - start, 20)

    def test_a_fifo_is_refused_instead_of_waiting_for_a_writer(self):
        fifo = self.path("exp.yaml")
        os.mkfifo(fifo)
        for command in ("plan", "run"):
            self.refuse([command, fifo], f"{fifo}: is a named pipe (FIFO), not a regular file", timeout=20)

    def test_an_endless_device_is_refused_instead_of_read_forever(self):
        self.refuse(["plan", "/dev/zero"], "/dev/zero: is a character device, not a regular file", timeout=20)

    def test_an_io_error_is_reported_as_one(self):
        # Readable by permissions, even for root, but read() fails with EIO at offset 0.
        self.refuse(["plan", "/proc/self/mem"], "/proc/self/mem: cannot be read: Input/output error")

    def test_a_file_the_user_may_not_read(self):
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user 'nobody' to run as")
        setpriv = shutil.which("setpriv")
        if not setpriv:
            self.skipTest("setpriv (util-linux) is missing")
        path = self.path("secret.yaml")
        with open(path, "w") as f:
            f.write("name: secret\ndata: {source: copy}\n")
        os.chmod(path, 0)
        os.chmod(self.dir, 0o755)
        drop = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
        result = subprocess.run([*drop, TBPTT, "plan", path], capture_output=True, text=True, timeout=60)
        if "Operation not permitted" in result.stderr and result.returncode != 2:
            self.skipTest("cannot change user here: " + result.stderr.strip())
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"{path}: cannot be read: Permission denied", result.stderr)

    def test_a_directory(self):
        self.refuse(["plan", self.dir], self.dir)

    def test_bad_set_arguments(self):
        exp = self.write_experiment("good", GOOD)
        cases = [
            (["--set", "tbptt..k1=3"], "--set tbptt..k1=3: 'tbptt..k1' is not a dotted key"),
            (["--set", "=3"], "--set =3: '' is not a dotted key"),
            (["--set", "tbptt.k1="], "tbptt.k1 must be an integer >= 1; got nothing (null)"),
            (["--set", "sweep.grid.tbptt.k1=[]"], "must be a non-empty list of values; got an empty list"),
            (["--set", "tbptt.k1=4294967301"], "tbptt.k1 = 4294967301: at most 2147483647"),
            (["--set", "tbptt.k1=&a , -"], "--set tbptt.k1=&a , -: YAML syntax error: unexpected ,"),
            (["--set", "model={hidden: &h 8, embedding: *h}"], "YAML aliases (*name) are not supported"),
            (["--set", "model={hidden: *h}"], "YAML syntax error: the referenced anchor is not defined"),
            (["--set", "data.source=delayed_recall\nmodel.hidden=3"], "--set data.source=delayed_recall\\nmodel.hi"),
            (["--set", "name=" + "x" * 100_000], "... (100005 bytes)"),
            (["--set", "tbptt.k1=5", "--set", "tbptt.k1.x=5"], "tbptt.k1 is 5 (--set tbptt.k1=5), not a map"),
        ]
        for args, fragment in cases:
            with self.subTest(args=[a[:60] for a in args]):
                self.refuse(["run", exp, "--out", self.out, *args], fragment)

    def test_bad_flags(self):
        exp = self.write_experiment("good", GOOD)
        self.refuse(["run", exp, "--out", self.out, "--progress", "sideways"], "--progress: sideways not in")
        self.refuse(["run"], "experiment is required")
        self.refuse(["run", exp, "--out"], "--out")
        self.refuse(["plan", exp, "--set"], "--set")
        self.refuse(["--frobnicate"], "unknown option '--frobnicate'")
        self.refuse(["train", exp], "unknown command 'train'")

    def test_results_files_that_are_not_hdf5(self):
        garbage = self.path("garbage.h5")
        with open(garbage, "w") as f:
            f.write("not HDF5\n")
        for command in ("report", "eval"):
            self.refuse([command, garbage], f"{garbage}: open HDF5 file", short=False)
        self.refuse(["report", "/dev/null"], "/dev/null: open HDF5 file", short=False)
        self.refuse(["report", self.dir], self.dir)

    def test_more_ranks_per_run_than_the_job_has(self):
        exp = self.write_experiment("good", GOOD.rstrip(" ") + "    parallel: {ranks_per_run: 4}\n")
        result = run(mpi_command(2, "run", exp, "--out", self.out))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("needs parallel.ranks_per_run = 4 ranks; this job has 2", result.stderr)
        self.assertFalse(os.path.exists(self.out), "nothing may be written")


if __name__ == "__main__":
    unittest.main()
