"""Benchmark: seconds to load and verify the full MNIST dataset (decompress, check, hash).

Run: .venv/bin/python benchmarks/load_speed.py   (reads $DIGITLAB_MNIST_DIR or the cache)
"""

import statistics
import time

from digitlab.mnist.data import load_mnist

repeats = 5


def main() -> None:
    load_mnist()  # warm the file cache, so the numbers measure our code, not the disk
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        load_mnist()
        seconds.append(time.perf_counter() - start)
    print(f"load_mnist (70,000 images, 4 files verified by SHA-256), {repeats} runs:")
    print(f"  median {statistics.median(seconds):.3f} s, best {min(seconds):.3f} s, "
          f"worst {max(seconds):.3f} s")


if __name__ == "__main__":
    main()
