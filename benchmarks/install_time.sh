#!/usr/bin/env bash
# Benchmark: how long a fresh clone takes to install, from an empty venv with nothing cached:
# the lock through uv (`make install`) against the old `pip install -r requirements.txt`.
# Run: bash benchmarks/install_time.sh | tee benchmarks/results/install_time.txt
# Needs the package registry; takes about 5 minutes on a 2-core CPU; works in a temporary folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=$(command -v python3.11 || command -v python3)
echo "commit $(git -C "$repo" rev-parse HEAD), $(nproc) CPUs, $("$python" --version)"
echo "caches off: UV_NO_CACHE=1 PIP_NO_CACHE_DIR=1"
export UV_NO_CACHE=1 PIP_NO_CACHE_DIR=1

seconds() {  # seconds a command takes, its output discarded
    local start=$SECONDS
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
    echo $((SECONDS - start))
}

git clone -q "$repo" "$work/lock"
echo "make install (requirements.lock through uv): $(seconds make -C "$work/lock" install PYTHON="$python") s"
git clone -q "$repo" "$work/pip"
echo "python -m venv + pip install -r requirements.txt: $(seconds bash -c \
    "cd '$work/pip' && '$python' -m venv .venv && .venv/bin/pip install --quiet -r requirements.txt") s"
