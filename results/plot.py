#!/usr/bin/python3
"""Figures of a tbptt sweep, ready for a paper.

usage: plot.py RESULTS.h5 [--out DIR] [--x tokens|update|wall_time] [--rows K --cols K --metric M --facet K]

RESULTS.h5 is a sweep index (<out_dir>/<experiment>.h5) or a single run file. Writes PNGs to DIR
(default: <RESULTS>-plots next to the file):

  loss_curves.png          train and valid loss against tokens, one line per run, coloured by
                           truncation (tbptt.k1, and tbptt.k2 when it differs); --x update or
                           --x wall_time (minutes) changes the axis, e.g. for a fixed time budget
  final_valid_heatmap.png  mean final valid loss over (truncation, train.batch), when both vary;
                           --rows / --cols / --metric / --facet choose any two swept keys, any
                           final valid metric (loss, accuracy, bits_per_token, perplexity, mse)
                           and one panel per value of a third key, e.g. the memory-horizon probe:
                           --rows data.lag --cols tbptt.k1 --metric accuracy --facet tbptt.carry_state
  throughput_memory.png    tokens/s and peak memory against truncation, one line per batch size
  fidelity.png             gradient fidelity (cosine, relative error) against truncation, when
                           the runs recorded fidelity/; --facet KEY gives one column per value
                           (e.g. --facet model.cell)

A figure whose data is missing is skipped with a message saying why; the others are still made.
The file layout is described in results/README.md.
"""
import argparse
import math
import os
import sys
from collections import defaultdict

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import EngFormatter, NullLocator  # noqa: E402

DPI = 200
TRUNCATION_KEYS = ("tbptt.k1", "tbptt.k2")
# Loss-curve axes: train/ column -> (label, factor applied to it).
X_AXES = {"tokens": ("tokens (all ranks)", 1.0), "update": ("update", 1.0), "wall_time": ("wall time (minutes)", 1 / 60)}


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def scalar(value):
    """An HDF5 attribute as a plain Python value (numpy scalars become int / float / str)."""
    value = text(value)
    return value.item() if isinstance(value, np.generic) else value


def read_table(group):
    """A group of equal-length columns as {name: array}, cut to the shortest column."""
    if group is None:
        return {}
    columns = {name: group[name][()] for name in group if isinstance(group[name], h5py.Dataset)}
    if not columns:
        return {}
    n = min(len(c) for c in columns.values())
    return {name: c[:n] for name, c in columns.items()}


def read_run(root, run_id, status=None):
    """One run (a file's root group, or an index's followed link) as a dict."""
    attrs = {name: scalar(root.attrs[name]) for name in root.attrs if name != "swept"}
    fidelity = root["fidelity"] if "fidelity" in root else None
    labels = []
    if fidelity is not None and "group" in fidelity:
        labels = [text(x) for x in fidelity["group"].attrs.get("labels", [])]
    return {
        "run_id": run_id,
        "status": status or attrs.get("status", "unknown"),
        "attrs": attrs,
        "train": read_table(root["train"] if "train" in root else None),
        "eval": read_table(root["eval"] if "eval" in root else None),
        "fidelity": read_table(fidelity),
        "fidelity_labels": labels,
        "peak_rss_bytes": attrs.get("peak_rss_bytes", math.nan),
    }


def load(path):
    """All readable runs of an index (following its links), or the one run of a run file."""
    runs = []
    with h5py.File(path, "r") as f:
        if "summary" not in f:
            if "train" not in f:
                raise SystemExit(f"plot.py: {path} is neither a tbptt index nor a run file")
            return [read_run(f, text(f.attrs.get("run_id", os.path.basename(path))))]
        summary = f["summary"]
        ids = [text(x) for x in summary["run_id"][()]]
        statuses = [text(x) for x in summary["status"][()]]
        for run_id, status in zip(ids, statuses):
            if run_id not in f["runs"]:
                print(f"note: run {run_id} ({status}) has no file to read")
                continue
            try:
                runs.append(read_run(f["runs"][run_id], run_id, status))
            except (KeyError, OSError) as error:  # a link whose file moved or is being written
                print(f"note: run {run_id} ({status}) could not be read: {error}")
    return runs


def truncation_key(runs):
    """tbptt.k1 if it varies over the runs, else tbptt.k2 if that does, else None."""
    for key in TRUNCATION_KEYS:
        if len({r["attrs"].get(key) for r in runs if key in r["attrs"]}) >= 2:
            return key
    return None


def truncation_label(run):
    k1, k2 = run["attrs"].get("tbptt.k1"), run["attrs"].get("tbptt.k2")
    if k1 is None:
        return "run " + run["run_id"]
    return f"k1={k1}" if k2 in (None, k1) else f"k1={k1}, k2={k2}"


def truncation_sort_key(run):
    return (run["attrs"].get("tbptt.k1", math.inf), run["attrs"].get("tbptt.k2", math.inf))


def valid_rows(run):
    """The eval rows of split valid (code 1 in eval/split, see its `labels` attribute)."""
    ev = run["eval"]
    if not ev or "split" not in ev:
        return {}
    keep = ev["split"] == 1
    return {name: column[keep] for name, column in ev.items()}


def smooth(values, points):
    """Moving average over about 1/50 of the curve, so noisy train losses stay readable."""
    width = max(1, len(values) // points)
    if width == 1:
        return values
    kernel = np.ones(width) / width
    return np.convolve(values, kernel, mode="valid")


def final_valid(run, metric="loss"):
    rows = valid_rows(run)
    return rows[metric][-1] if rows and metric in rows and len(rows[metric]) else math.nan


def truncation_axis(ax, values, key):
    """A log axis with a tick at each truncation value that was run (5, 20, 100 ...)."""
    ax.set_xscale("log")
    ticks = sorted(set(values))
    ax.set_xticks(ticks, [str(v) for v in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(key)
    ax.grid(alpha=0.3)


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


def plot_loss_curves(runs, out_dir, x_key="tokens"):
    runs = [r for r in runs if r["train"] and len(r["train"].get("loss", []))]
    if not runs:
        return "no run has train rows"
    runs = [r for r in runs if x_key in r["train"]]
    if not runs:
        return f"no run has train/{x_key}"
    x_label, x_factor = X_AXES[x_key]
    labels = sorted({truncation_label(r) for r in runs},
                    key=lambda label: min(truncation_sort_key(r) for r in runs
                                          if truncation_label(r) == label))
    colours = dict(zip(labels, plt.cm.viridis(np.linspace(0, 0.9, len(labels)))))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True, layout="constrained")
    for run in sorted(runs, key=truncation_sort_key):
        # Runs that did not complete are drawn faintly: their curves stop early.
        style = dict(color=colours[truncation_label(run)], lw=1.2,
                     alpha=0.9 if run["status"] == "completed" else 0.35)
        train = run["train"]
        x = train[x_key] * x_factor
        y = smooth(train["loss"], 50)
        left.plot(x[len(x) - len(y):], y, **style)
        valid = valid_rows(run)
        if valid and len(valid["loss"]):
            # Valid rows carry the update; place them at that update's x (token count, time).
            at = np.interp(valid["update"], train["update"], x)
            right.plot(at, valid["loss"], marker="o", ms=2.5, **style)
    left.set_title("train loss (moving average)")
    right.set_title("valid loss")
    for ax in (left, right):
        ax.set_xlabel(x_label)
        ax.xaxis.set_major_formatter(EngFormatter())
        ax.grid(alpha=0.3)
    left.set_ylabel("loss")
    handles = [Line2D([], [], color=colours[label], lw=1.5) for label in labels]
    left.legend(handles, labels, title="truncation", fontsize=8, title_fontsize=8)
    save(fig, out_dir, "loss_curves.png")
    return None


def grouped_mean(runs, keys, value):
    """{tuple of key values: mean of value(run) over completed runs with a finite value}."""
    cells = defaultdict(list)
    for run in runs:
        if run["status"] != "completed" or any(k not in run["attrs"] for k in keys):
            continue
        v = value(run)
        if v is not None and math.isfinite(v):
            cells[tuple(run["attrs"][k] for k in keys)].append(v)
    return {key: float(np.mean(vs)) for key, vs in cells.items()}


def plot_heatmap(runs, out_dir, rows_key="train.batch", cols_key=None, metric="loss", facet=None):
    cols_key = cols_key or truncation_key(runs)
    if cols_key is None:
        return "the truncation (tbptt.k1 / tbptt.k2) does not vary"
    for key in (rows_key, cols_key):
        if len({r["attrs"].get(key) for r in runs} - {None}) < 2:
            return f"{key} does not vary"
    panels = sorted({r["attrs"].get(facet) for r in runs} - {None}, key=str) if facet else [None]
    if not panels:
        return f"no run has {facet}"
    cells = grouped_mean(runs, (rows_key, cols_key) + ((facet,) if facet else ()), lambda r: final_valid(r, metric))
    if not cells:
        return f"no completed run has a final valid {metric}"
    cols = sorted({key[1] for key in cells})
    rows = sorted({key[0] for key in cells})
    values = [v for v in cells.values()]
    low, high = min(values), max(values)
    fig, axes = plt.subplots(1, len(panels), figsize=(len(panels) * (2.2 + 0.9 * len(cols)), 1.4 + 0.6 * len(rows)),
                             layout="constrained", squeeze=False)
    for ax, panel in zip(axes[0], panels):
        grid = np.full((len(rows), len(cols)), np.nan)
        for key, v in cells.items():
            if facet is None or key[2] == panel:
                grid[rows.index(key[0]), cols.index(key[1])] = v
        better_high = metric == "accuracy"
        image = ax.imshow(grid, cmap="viridis" if better_high else "viridis_r", aspect="auto", origin="lower",
                          vmin=low, vmax=high)
        for i in range(len(rows)):
            for j in range(len(cols)):
                if np.isfinite(grid[i, j]):
                    dark = (grid[i, j] < (low + high) / 2) if better_high else (grid[i, j] > (low + high) / 2)
                    ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")
        ax.set_xticks(range(len(cols)), [str(v) for v in cols])
        ax.set_yticks(range(len(rows)), [str(v) for v in rows])
        ax.set_xlabel(cols_key)
        ax.set_ylabel(rows_key)
        if facet:
            ax.set_title(f"{facet} = {panel}", fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), label=metric)
    fig.suptitle(f"final valid {metric} (mean over seeds)", fontsize=10)
    save(fig, out_dir, "final_valid_heatmap.png")
    return None


def median_tokens_per_s(run):
    rates = run["train"].get("tokens_per_s") if run["train"] else None
    if rates is None or not np.isfinite(rates).any():
        return None
    return float(np.nanmedian(rates))


def lines_by_batch(ax, runs, k, value, scale=1.0):
    """One line per batch size (or one line) of mean value(run) against truncation."""
    batches = sorted({r["attrs"].get("train.batch") for r in runs} - {None}) or [None]
    drawn = False
    for batch in batches:
        subset = [r for r in runs if batch is None or r["attrs"].get("train.batch") == batch]
        cells = grouped_mean(subset, (k,), value)
        if not cells:
            continue
        xs = sorted(cells)
        ax.plot([x[0] for x in xs], [cells[x] * scale for x in xs], marker="o",
                label=f"batch {batch}" if batch is not None else None)
        drawn = True
    truncation_axis(ax, [r["attrs"][k] for r in runs if k in r["attrs"]], k)
    return drawn


def plot_throughput_memory(runs, out_dir):
    k = truncation_key(runs)
    if k is None:
        return "the truncation (tbptt.k1 / tbptt.k2) does not vary"
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    has_rate = lines_by_batch(left, runs, k, median_tokens_per_s)
    has_memory = lines_by_batch(right, runs, k, lambda r: float(r["peak_rss_bytes"]), 1 / 2**20)
    if not has_rate and not has_memory:
        plt.close(fig)
        return "no completed run recorded tokens/s or peak memory"
    left.set_ylabel("tokens / s (median over updates)")
    left.set_title("throughput")
    right.set_ylabel("peak RSS (MiB)")
    right.set_title("memory")
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    save(fig, out_dir, "throughput_memory.png")
    return None


def plot_fidelity(runs, out_dir, facet=None):
    runs = [r for r in runs if r["fidelity"] and len(r["fidelity"].get("cosine", []))]
    if not runs:
        return "no run recorded fidelity/ (the gradient-fidelity probe was off)"
    k = truncation_key(runs) or "tbptt.k2"
    # panel (facet value) -> (group name, horizon) -> {k: [(cosine, rel_error) per run]}
    series = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for run in runs:
        if k not in run["attrs"]:
            continue
        panel = run["attrs"].get(facet) if facet else None
        fid, labels = run["fidelity"], run["fidelity_labels"]
        for code in np.unique(fid["group"]):
            for horizon in np.unique(fid["horizon"]):
                rows = (fid["group"] == code) & (fid["horizon"] == horizon)
                name = labels[code] if 0 <= code < len(labels) else f"group {code}"
                series[panel][(name, int(horizon))][run["attrs"][k]].append(
                    (np.nanmean(fid["cosine"][rows]), np.nanmean(fid["rel_error"][rows])))
    if not series:
        return f"the runs with fidelity rows have no {k}"
    panels = sorted(series, key=str)
    fig, axes = plt.subplots(2, len(panels), figsize=(1 + 3.6 * len(panels), 6), layout="constrained",
                             squeeze=False, sharey="row")
    for column, panel in enumerate(panels):
        top, bottom = axes[0][column], axes[1][column]
        all_ks = set()
        for (name, horizon), by_k in sorted(series[panel].items()):
            ks = sorted(by_k)
            all_ks.update(ks)
            label = f"{name}, horizon {horizon}"
            top.plot(ks, [np.mean([c for c, _ in by_k[x]]) for x in ks], marker="o", label=label)
            bottom.plot(ks, [np.mean([e for _, e in by_k[x]]) for x in ks], marker="o", label=label)
        for ax in (top, bottom):
            truncation_axis(ax, all_ks, k)
        if facet:
            top.set_title(f"{facet} = {panel}", fontsize=9)
    axes[0][0].set_ylabel("cosine(truncated, long-horizon gradient)")
    axes[1][0].set_ylabel("relative error")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("gradient fidelity (mean over probed updates and seeds)", fontsize=10)
    save(fig, out_dir, "fidelity.png")
    return None


def figures(args):
    """Every figure: its name, its function and the options the command line gives it."""
    return [
        ("loss curves", plot_loss_curves, dict(x_key=args.x)),
        ("final valid loss heatmap", plot_heatmap,
         dict(rows_key=args.rows, cols_key=args.cols, metric=args.metric, facet=args.facet)),
        ("throughput and memory", plot_throughput_memory, {}),
        ("gradient fidelity", plot_fidelity, dict(facet=args.facet)),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="sweep index <experiment>.h5, or one run file")
    parser.add_argument("--out", help="folder for the PNGs (default: <results>-plots)")
    parser.add_argument("--rows", default="train.batch", help="heatmap rows: a swept key (default train.batch)")
    parser.add_argument("--cols", help="heatmap columns: a swept key (default the truncation, tbptt.k1 or k2)")
    parser.add_argument("--metric", default="loss", choices=["loss", "accuracy", "bits_per_token", "perplexity", "mse"],
                        help="final valid metric of the heatmap (default loss)")
    parser.add_argument("--x", default="tokens", choices=list(X_AXES),
                        help="x axis of the loss curves (default tokens; wall_time in minutes)")
    parser.add_argument("--facet", help="one panel per value of this key (heatmap and fidelity), e.g. model.cell")
    args = parser.parse_args(argv)
    if not os.path.exists(args.results):
        parser.error(f"{args.results}: no such file")
    out_dir = args.out or os.path.splitext(args.results)[0] + "-plots"
    os.makedirs(out_dir, exist_ok=True)
    runs = load(args.results)
    print(f"{len(runs)} runs read from {args.results}")
    for name, figure, options in figures(args):
        reason = figure(runs, out_dir, **options)
        if reason:
            print(f"skipped {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
