"""Shared pieces of the end-to-end tests: run the real `tbptt` binary (under mpirun for `run`) on
an experiment the test writes into a fresh folder, and a small generated UTF-8 corpus.

CTest passes the binary, the MPI launcher and the source tree through the environment
(tests/harness/e2e/CMakeLists.txt); the ranks run one OpenMP thread each.
"""
import os
import random
import shutil
import subprocess
import tempfile
import textwrap
import unittest

TBPTT = os.environ["TBPTT"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
MPIEXEC_NUMPROC_FLAG = os.environ.get("MPIEXEC_NUMPROC_FLAG", "-np")
SOURCE_DIR = os.environ["TBPTT_SOURCE_DIR"]
PYTHON = "/usr/bin/python3"
MPI_FLAGS = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]


def command(*args, check=True, env=None):
    """Runs a command; returns its stdout. With check, a non-zero exit fails with both streams."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})))
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))}: exit {result.returncode}\n"
                             f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")
    return result.stdout


def tbptt_run(ranks, experiment, out, *extra):
    """`mpirun -np RANKS tbptt run EXPERIMENT --out OUT ...`, which must succeed."""
    return command(MPIEXEC, MPIEXEC_NUMPROC_FLAG, ranks, *MPI_FLAGS, TBPTT, "run", experiment, "--out", out, *extra)


def run_files(out, experiment):
    """Paths of an experiment's finished run files, by run id."""
    runs = os.path.join(out, experiment, "runs")
    return {name[:-3]: os.path.join(runs, name) for name in sorted(os.listdir(runs)) if name.endswith(".h5")}


def write_corpus(path, words=900, seed=1):
    """A few KB of UTF-8 text in short lines, with non-ASCII letters (ü, ï, é, ß and a CJK word)."""
    vocabulary = ["the", "cat", "sat", "on", "a", "mat", "über", "naïve", "café", "straße", "日本",
                  "dog", "ran", "to", "tree", "and", "back"]
    rng = random.Random(seed)
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(vocabulary))
        if len(line) >= rng.randint(4, 10):
            lines.append(" ".join(line))
            line = []
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines + [" ".join(line)]) + "\n")


class FolderTest(unittest.TestCase):
    """A test class with one fresh folder for all its tests (setUpClass trains once)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tbptt-e2e-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def path(cls, *parts):
        return os.path.join(cls.dir, *parts)

    @classmethod
    def write(cls, name, text):
        path = cls.path(name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path
