#!/usr/bin/python3
"""`make bench`: tbptt against PyTorch on this machine, in one invocation.

1. The machine's peaks: oneDNN sgemm 2048^3 (and bf16 matmul) at each thread count.
2. Each workload of bench/workloads.h at each thread count, tbptt (f32, bf16) and PyTorch (f32)
   measured alternately, --reps times, each repetition beside a fresh peak; medians side by side.
   The f32 update also with its LSTM on oneDNN's RNN primitive (update/<w>/f32_rnn_primitive)
   instead of tbptt's GEMM cell, in the same repetition: what the GEMM cell gains.
3. Data parallelism: bench_allreduce on 1 rank and on 2 ranks (1 thread each), alternately, beside
   the node's scaling (the sgemm peak kernel on 2 ranks at once over 1 rank alone).

Timings taken while other processes run are rough: the load average is printed with the table.
Everything measured is also written to <build>/bench_results.json.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["seed_lm", "seed_regressor", "char_lm"]


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out[out.index("{"):])  # mpirun may print a banner first


def gbench(binary, filt, threads, extra=(), mpi_ranks=0):
    """Benchmark entries (name -> dict) of one Google Benchmark run."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [binary, "--benchmark_filter=" + filt, "--benchmark_format=json", *extra]
    if mpi_ranks:
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-np", str(mpi_ranks)] + cmd
    return {b["name"]: b for b in run_json(cmd, env)["benchmarks"] if b.get("run_type") != "aggregate"}


def entry(results, prefix):
    for name, b in results.items():
        if name.startswith(prefix):
            return b
    raise KeyError(prefix)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args()
    engine_bin = os.path.join(args.build, "bench", "bench_engine")
    allreduce_bin = os.path.join(args.build, "bench", "bench_allreduce")
    peer = os.path.join(HERE, "pytorch_peer.py")
    threads = [int(t) for t in args.threads.split(",")]
    workloads = args.workloads.split(",")
    results = {"load_start": load(), "peaks": {}, "rows": [], "data_parallel": {}}
    print(f"load average at start: {results['load_start']}", flush=True)

    # 1. Peaks.
    for t in threads:
        r = gbench(engine_bin, "^peak/", t, ["--benchmark_repetitions=%d" % args.reps])
        peaks = {k: med([b["GFLOP/s"] for n, b in r.items() if n.startswith("peak/" + k)])
                 for k in ("sgemm", "bf16_matmul")}
        results["peaks"][t] = peaks
        print(f"peak at {t} thread(s): sgemm {peaks['sgemm']:.0f} GFLOP/s, bf16 matmul {peaks['bf16_matmul']:.0f} GFLOP/s",
              flush=True)
    has_bf16 = not math.isnan(results["peaks"][threads[0]]["bf16_matmul"])  # bench_engine skips bf16 without AVX512-BF16

    # 2. Workloads, alternating tbptt f32, tbptt bf16 and PyTorch within each repetition.
    min_time = "--benchmark_min_time=%g" % args.seconds
    for w in workloads:
        for t in threads:
            runs = {"f32": [], "bf16": [], "torch": [], "peak": [], "primitive": []}
            for _ in range(args.reps):
                # The peaks again, beside this repetition: the machine's speed drifts by 10% over
                # minutes, so % of peak pairs each measurement with the peak taken next to it.
                runs["peak"].append(gbench(engine_bin, "^peak/", t))
                for p in (["f32", "bf16"] if has_bf16 else ["f32"]):
                    runs[p].append(entry(gbench(engine_bin, f"^update/{w}/{p}/", t, [min_time]), "update/"))
                runs["primitive"].append(
                    entry(gbench(engine_bin, f"^update/{w}/f32_rnn_primitive/", t, [min_time]), "update/"))
                env = dict(os.environ)
                out = subprocess.run([sys.executable, peer, "--workload", w, "--threads", str(t),
                                      "--seconds", str(args.seconds)], env=env, check=True,
                                     stdout=subprocess.PIPE, text=True).stdout
                runs["torch"].append(json.loads(out))
            torch_tps = med([r["tokens_per_s"] for r in runs["torch"]])
            for p in ("f32", "bf16"):
                if not runs[p]:
                    continue
                peak = "peak/" + ("sgemm" if p == "f32" else "bf16_matmul")
                row = {"workload": w, "precision": p, "threads": t,
                       "tokens_per_s": med([b["tokens/s"] for b in runs[p]]),
                       "updates_per_s": med([b["updates/s"] for b in runs[p]]),
                       "gflops": med([b["GFLOP/s"] for b in runs[p]]),
                       "torch_tokens_per_s": torch_tps, "torch_blas": runs["torch"][0]["blas"],
                       "parts_ms": {k: med([b[k] for b in runs[p]]) for k in ("fwd_ms", "bwd_ms", "opt_ms")}}
                row["ratio"] = row["tokens_per_s"] / torch_tps
                row["pct_peak"] = 100 * med([b["GFLOP/s"] / entry(pk, peak)["GFLOP/s"] for b, pk in zip(runs[p], runs["peak"])])
                row["peak_gflops"] = med([entry(pk, peak)["GFLOP/s"] for pk in runs["peak"]])
                if p == "f32":  # per repetition, GEMM cell over RNN primitive, then the median
                    row["primitive_tokens_per_s"] = med([b["tokens/s"] for b in runs["primitive"]])
                    row["vs_primitive"] = med([a["tokens/s"] / b["tokens/s"] for a, b in zip(runs[p], runs["primitive"])])
                results["rows"].append(row)
                print(f"  {w} {p} {t}T: {row['tokens_per_s']:.0f} tokens/s vs PyTorch {torch_tps:.0f} "
                      f"({row['ratio']:.2f}x), {row['gflops']:.0f} GFLOP/s = {row['pct_peak']:.0f}% of peak", flush=True)

    # 3. Data parallel: 1 rank x 1 thread vs 2 ranks x 1 thread, same global batch.
    dp = {1: [], 2: []}
    for _ in range(args.reps):
        for ranks in (1, 2):
            dp[ranks].append(gbench(allreduce_bin, ".", 1, mpi_ranks=ranks))
    # The node's scaling, a reference for the speedup: the sgemm peak kernel on 2 ranks at once over
    # 1 rank alone (per pair of runs, then the median). Not a ceiling: that kernel streams 50 MB and
    # competes for memory bandwidth more than the workloads do.
    node = med([entry(b, "peak/sgemm_2048_every_rank")["GFLOP/s"] / entry(a, "peak/sgemm_2048_every_rank")["GFLOP/s"]
                   for a, b in zip(dp[1], dp[2])])
    results["node_sgemm_scaling"] = node
    for w in workloads:
        one = med([entry(r, "data_parallel/" + w)["tokens/s"] for r in dp[1]])
        two = med([entry(r, "data_parallel/" + w)["tokens/s"] for r in dp[2]])
        share = med([entry(r, "data_parallel/" + w)["allreduce_share"] for r in dp[2]])
        ar_ms = med([entry(r, "allreduce/" + w)["real_time"] for r in dp[2]])
        mb = entry(dp[2][0], "allreduce/" + w)["MB"]
        # The same with the LSTM on oneDNN's RNN primitive: the GEMM cell's gain differs at B and B/2.
        prim1 = [entry(r, "data_parallel_rnn_primitive/" + w)["tokens/s"] for r in dp[1]]
        prim2 = [entry(r, "data_parallel_rnn_primitive/" + w)["tokens/s"] for r in dp[2]]
        results["data_parallel"][w] = {"one_rank_tokens_per_s": one, "two_rank_tokens_per_s": two,
                                       "speedup": two / one, "vs_node": two / one / node,
                                       "allreduce_share": share,
                                       "allreduce_ms": ar_ms, "gradient_MB": mb,
                                       "rnn_primitive_one_rank_tokens_per_s": med(prim1),
                                       "rnn_primitive_two_rank_tokens_per_s": med(prim2),
                                       "rnn_primitive_speedup": med(prim2) / med(prim1)}
    results["load_end"] = load()

    # The table.
    print()
    print(f"tbptt vs PyTorch {runs['torch'][0].get('torch', '')} (medians of {args.reps}; "
          f"load average {results['load_start']} at start, {results['load_end']} at end)")
    print(f"PyTorch BLAS: {results['rows'][0]['torch_blas']}")
    print(f"{'config':<16}{'prec':<6}{'thr':>4}{'tbptt tok/s':>13}{'PyTorch tok/s':>15}{'ratio':>7}"
          f"{'GFLOP/s':>9}{'% peak':>8}{'vs RNN':>8}  {'fwd/bwd/opt ms':>16}")
    for r in results["rows"]:
        parts = "/".join(f"{r['parts_ms'][k]:.1f}" for k in ("fwd_ms", "bwd_ms", "opt_ms"))
        vs = f"{r['vs_primitive']:.2f}x" if "vs_primitive" in r else "-"
        print(f"{r['workload']:<16}{r['precision']:<6}{r['threads']:>4}{r['tokens_per_s']:>13.0f}"
              f"{r['torch_tokens_per_s']:>15.0f}{r['ratio']:>7.2f}{r['gflops']:>9.0f}{r['pct_peak']:>7.0f}%{vs:>8}  {parts:>16}")
    print("% peak: median over the repetitions of GFLOP/s over the peak measured in the same repetition (sgemm 2048^3\n"
          "for f32 rows, bf16 matmul 2048^3 for bf16 rows, same thread count). vs RNN: median over the repetitions\n"
          "of tokens/s over the same update with its LSTM on oneDNN's RNN primitive (update/<w>/f32_rnn_primitive)\n"
          "instead of tbptt's GEMM cell, measured beside it. The peaks at the start:")
    for t, p in results["peaks"].items():
        print(f"  {t} thread(s): sgemm {p['sgemm']:.0f} GFLOP/s, bf16 matmul {p['bf16_matmul']:.0f} GFLOP/s")
    one = results["peaks"].get(1, {}).get("sgemm", 0)
    for t, p in results["peaks"].items():
        if t > 1 and p["sgemm"] < 0.8 * t * one:
            print(f"WARNING: sgemm at {t} threads reached {p['sgemm'] / one:.1f}x its 1-thread peak: other processes "
                  f"held cores, and the {t}-thread rows are not meaningful. Re-run when the machine is idle.")
    print()
    # "grad sum": share of the 2-rank update in the gradient sum as `tbptt run` does it; "AR ms": an
    # MPI_Allreduce of the gradient alone (what the scaling model's network term replaces); "on RNN":
    # the same 1x1 / 2x1 / speedup with the LSTM on oneDNN's RNN primitive instead of the GEMM cell;
    # "vs node": the speedup over the node's scaling of the sgemm peak kernel.
    print(f"node scaling: sgemm 2048^3 on 2 ranks x 1 thread at once makes {node:.2f}x the GFLOP/s of 1 rank")
    print(f"{'data parallel':<16}{'1x1 tok/s':>11}{'2x1 tok/s':>11}{'speedup':>9}{'vs node':>9}{'grad sum':>11}{'grad MB':>9}"
          f"{'AR ms':>8}   on RNN: {'1x1':>9}{'2x1':>9}{'speedup':>9}")
    for w, d in results["data_parallel"].items():
        print(f"{w:<16}{d['one_rank_tokens_per_s']:>11.0f}{d['two_rank_tokens_per_s']:>11.0f}{d['speedup']:>9.2f}"
              f"{d['vs_node']:>9.2f}{100 * d['allreduce_share']:>10.1f}%{d['gradient_MB']:>9.2f}{d['allreduce_ms']:>8.2f}           "
              f"{d['rnn_primitive_one_rank_tokens_per_s']:>9.0f}{d['rnn_primitive_two_rank_tokens_per_s']:>9.0f}"
              f"{d['rnn_primitive_speedup']:>9.2f}")
    path = os.path.join(args.build, "bench_results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    if max(threads) in results["peaks"]:
        print()
        subprocess.run([sys.executable, os.path.join(HERE, "scaling_model.py"), path, "--threads", str(max(threads))], check=True)


if __name__ == "__main__":
    main()
