"""Shared helpers for the CLI tests: run the real `tbptt` binary (under mpirun when asked) on
experiments written by the test into a fresh temporary folder, and read the results with h5py.

CTest passes the binary and the MPI launcher through the environment (tests/harness/CMakeLists.txt).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import unittest
from unittest import mock

import h5py

TBPTT = os.environ["TBPTT"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
MPI_FLAGS = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]
SOURCE_DIR = os.environ["TBPTT_SOURCE_DIR"]


def mpi_command(np, *args):
    return [MPIEXEC, "-np", str(np), *MPI_FLAGS, TBPTT, *map(str, args)]


def run(cmd, env=None, timeout=300, cwd=None):
    """Runs a command to completion; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd)


def start(cmd, env=None, cwd=None):
    """Starts a command in its own process group (so the whole job can be killed)."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, cwd=cwd,
                            start_new_session=True)


def kill_job(process):
    """SIGKILL to mpirun and everything it started."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def malformed_cases(folder):
    """(file, line, column, message fragment) rows of a malformed-input corpus's cases.tsv."""
    with open(os.path.join(folder, "cases.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, row, col, fragment = line.rstrip("\n").split("\t")
                yield name, int(row), int(col), fragment


class TempDirTest(unittest.TestCase):
    """A test with its own folder, removed afterwards."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tbptt-cli-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        # Open MPI's shared-memory transport keeps a file per rank in /dev/shm and removes it in
        # MPI_Finalize, which a rank the test kills never reaches: the test's jobs keep theirs in a
        # folder of their own (still in RAM), removed with the test.
        shm = tempfile.mkdtemp(prefix="tbptt-cli-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.addCleanup(shutil.rmtree, shm, ignore_errors=True)
        backing = mock.patch.dict(os.environ, {"OMPI_MCA_btl_vader_backing_directory": shm})
        backing.start()
        self.addCleanup(backing.stop)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_experiment(self, name, text):
        path = self.path(name + ".yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def assertSucceeded(self, result, status=0):
        self.assertEqual(result.returncode, status,
                         f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


def run_files(out_dir, experiment):
    """{run_id: path} of the finished run files of an experiment."""
    runs = os.path.join(out_dir, experiment, "runs")
    return {f[:-3]: os.path.join(runs, f) for f in sorted(os.listdir(runs)) if f.endswith(".h5")}


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def column(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]
