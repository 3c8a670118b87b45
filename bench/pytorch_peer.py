#!/usr/bin/python3
"""The PyTorch peer of `make bench`: the three workloads of bench/workloads.h, built and trained
exactly as tbptt does (same model, same synthetic data shapes, same TBPTT loop: the state carried
and detached between windows, reset at sequence starts; Adam; clipping where tbptt clips), timed
the same way (wall clock per update, after warm-up).

PyTorch at its best on this machine: Debian's python3-torch runs its GEMMs in whatever libblas.so.3
the loader finds. The reference BLAS is ~20x slower than OpenBLAS, and OpenBLAS is only at its best
as its OpenMP build (libopenblas0-openmp) with the core type the CPU really is (this machine's
environment says OPENBLAS_CORETYPE=Haswell, which halves it on an AVX-512 CPU). And PyTorch's CPU
allocator hands every large tensor back to the OS (glibc's mmap threshold), so each update faults
its pages in again: keeping freed memory in the heap (what jemalloc or tcmalloc would do) doubles
its seed-LM throughput here. All of these are read at start-up, so this script re-executes itself
once with LD_LIBRARY_PATH, OPENBLAS_CORETYPE and glibc's MALLOC_MMAP_THRESHOLD_ /
MALLOC_TRIM_THRESHOLD_ set, and reports the BLAS it actually loaded.

  bench/pytorch_peer.py --workload seed_lm --threads 1 --seconds 2
  -> one JSON line: tokens_per_s, updates_per_s, updates, seconds, threads, blas, coretype
"""
import argparse
import json
import os
import re
import sys
import time

OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

# name: (vocab, embedding, input, hidden, layers, outputs, last_step_head, T, B, seq_len, lr, clip)
WORKLOADS = {
    "seed_lm": dict(vocab=5000, embedding=128, input=0, hidden=256, layers=1, outputs=5000,
                    last_step=False, T=20, B=32, seq_len=0, lr=1e-3, clip=0.0),
    "seed_regressor": dict(vocab=0, embedding=0, input=10, hidden=32, layers=1, outputs=1,
                           last_step=True, T=20, B=16, seq_len=100, lr=1e-3, clip=0.0),
    "char_lm": dict(vocab=65, embedding=64, input=0, hidden=512, layers=2, outputs=65,
                    last_step=False, T=100, B=64, seq_len=0, lr=2e-3, clip=1.0),
}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def ensure_best_blas():
    """Re-exec once with OpenBLAS's OpenMP build first on the library path and the right core type."""
    if os.environ.get("TBPTT_PEER_ENV") == "1":
        return
    env = dict(os.environ, TBPTT_PEER_ENV="1")
    if os.path.isdir(OPENBLAS_OPENMP):
        env["LD_LIBRARY_PATH"] = ":".join(p for p in [OPENBLAS_OPENMP, env.get("LD_LIBRARY_PATH", "")] if p)
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= cpu_flags():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 31))
    env.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 32))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def loaded_blas():
    with open("/proc/self/maps") as f:
        libs = set(re.findall(r"(/\S*lib(?:open)?blas\S*\.so\S*)", f.read()))
    return ",".join(sorted(libs)) or "none found"


def build(w, torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(w["vocab"], w["embedding"]) if w["vocab"] else None
            width = w["embedding"] if w["vocab"] else w["input"]
            self.rnn = nn.LSTM(width, w["hidden"], num_layers=w["layers"])  # time-major, as tbptt
            self.head = nn.Linear(w["hidden"], w["outputs"])

        def forward(self, x, state):
            if self.embedding is not None:
                x = self.embedding(x)
            y, state = self.rnn(x, state)
            if w["last_step"]:
                y = y[-1]
            return self.head(y), state

    return Net()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0, help="time at least this long (and 3 updates)")
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    ensure_best_blas()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    w = WORKLOADS[args.workload]
    T, B = w["T"], w["B"]
    net = build(w, torch)
    opt = torch.optim.Adam(net.parameters(), lr=w["lr"])
    if w["vocab"]:
        x = torch.randint(0, w["vocab"], (T, B))
        y = torch.randint(0, w["outputs"], (T, B))
        loss_fn = lambda out: torch.nn.functional.cross_entropy(out.reshape(-1, w["outputs"]), y.reshape(-1))
    else:
        x = torch.randn(T, B, w["input"])
        y = torch.randn(B, w["outputs"]) if w["last_step"] else torch.randn(T, B, w["outputs"])
        loss_fn = lambda out: torch.nn.functional.mse_loss(out, y)
    zeros = tuple(torch.zeros(w["layers"], B, w["hidden"]) for _ in range(2))
    windows_per_sequence = w["seq_len"] // T if w["seq_len"] else 0
    state = zeros
    step = 0

    def update():
        nonlocal state, step
        if windows_per_sequence and step % windows_per_sequence == 0:
            state = zeros
        else:
            state = tuple(s.detach() for s in state)  # carried, no gradient across windows
        out, state = net(x, state)
        loss = loss_fn(out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if w["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), w["clip"])
        opt.step()
        step += 1

    for _ in range(args.warmup):
        update()
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < args.seconds:
        update()
        n += 1
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "workload": args.workload, "threads": torch.get_num_threads(), "updates": n, "seconds": seconds,
        "updates_per_s": n / seconds, "tokens_per_s": n * T * B / seconds, "torch": torch.__version__,
        "blas": loaded_blas(), "coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_", ""),
    }))


if __name__ == "__main__":
    main()
