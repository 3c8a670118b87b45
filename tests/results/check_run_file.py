#!/usr/bin/python3
"""Reads a run file the way a researcher would, all of it: visits every object and reads every
dataset, then follows every checkpoint/<update> link and reads everything in the checkpoint file.
Exits 0 if all of that works, 1 with the reason otherwise. The crash tests run it on the .part
files that killed writers leave.

usage: check_run_file.py RUN_FILE
"""
import sys

import h5py


def read_everything(group):
    """Reads every dataset below `group`; returns how many there were."""
    count = 0

    def read(_name, obj):
        nonlocal count
        if isinstance(obj, h5py.Dataset):
            obj[()]
            count += 1
        # returning None: visititems stops at the first callback that returns anything else

    group.visititems(read)
    return count


def check(path):
    with h5py.File(path, "r") as f:
        read_everything(f)
        for table in ("train", "eval", "fidelity"):
            if table in f:
                lengths = {len(column) for column in f[table].values()}
                if len(lengths) > 1:
                    return f"{table}/ columns differ in length: {sorted(lengths)}"
        for name in f.get("checkpoint", {}):
            link = f["checkpoint"].get(name, getlink=True)
            if not isinstance(link, h5py.ExternalLink):
                return f"checkpoint/{name} is not an external link"
            checkpoint = f["checkpoint"][name]
            if checkpoint.attrs["update"] != int(name):
                return f"checkpoint/{name} holds update {checkpoint.attrs['update']}"
            if read_everything(checkpoint) == 0:
                return f"checkpoint/{name} holds no tensor"
    return None


if __name__ == "__main__":
    try:
        problem = check(sys.argv[1])
    except Exception as error:  # anything h5py raises is a finding, reported as such
        problem = f"{type(error).__name__}: {error}"
    if problem:
        print(f"check_run_file.py: {sys.argv[1]}: {problem}", file=sys.stderr)
    sys.exit(1 if problem else 0)
