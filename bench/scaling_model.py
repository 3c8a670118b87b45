#!/usr/bin/python3
"""Data-parallel scaling model for tbptt, from what `make bench` measured on one node.

Every update ends with one allreduce of the flat gradient buffer (n bytes, f32) that nothing
overlaps: the update takes t_compute + t_allreduce. Weak scaling (each node keeps its batch of B
rows, the global batch grows with P), ring allreduce over P nodes (Thakur et al. 2005):

    t_allreduce(P) = 2 (P - 1) alpha + 2 (P - 1) / P * n / beta

alpha is the per-message latency, beta the link bandwidth in bytes/s. Efficiency is
t_compute / (t_compute + t_allreduce(P)). t_compute is the one-node update time measured by
make bench (the node's thread count), n is the workload's parameter count x 4 bytes.

  bench/scaling_model.py build/bench_results.json [--threads 2]
"""
import argparse
import json

NETWORKS = [  # name, bandwidth in bits/s, per-message latency in s
    ("25 Gb/s Ethernet (alpha 10 us)", 25e9, 10e-6),
    ("100 Gb/s InfiniBand (alpha 2 us)", 100e9, 2e-6),
]
NODES = [2, 8, 64, 512]


def ring_allreduce(P, nbytes, bits_per_s, alpha):
    return 2 * (P - 1) * alpha + 2 * (P - 1) / P * nbytes / (bits_per_s / 8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="bench_results.json written by make bench")
    ap.add_argument("--threads", type=int, default=2, help="threads of the one-node measurement to use")
    args = ap.parse_args()
    with open(args.results) as f:
        r = json.load(f)
    for w, dp in r["data_parallel"].items():
        rows = [x for x in r["rows"] if x["workload"] == w and x["precision"] == "f32" and x["threads"] == args.threads]
        if not rows:
            continue
        t_compute = 1 / rows[0]["updates_per_s"]
        nbytes = dp["gradient_MB"] * 1e6
        print(f"{w}: gradient {nbytes / 1e6:.2f} MB per update, compute {1e3 * t_compute:.1f} ms per update "
              f"({args.threads} threads, one node)")
        print(f"  measured, 2 ranks x 1 thread on one node: speedup {dp['speedup']:.2f}x over 1 rank, the gradient sum "
              f"{100 * dp['allreduce_share']:.1f}% of the update (shared-memory step); MPI_Allreduce of the "
              f"gradient alone {dp['allreduce_ms']:.2f} ms")
        for name, bw, alpha in NETWORKS:
            cells = []
            for P in NODES:
                t = ring_allreduce(P, nbytes, bw, alpha)
                cells.append(f"P={P}: {1e3 * t:.2f} ms, {100 * t_compute / (t_compute + t):.0f}%")
            print(f"  {name}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
