"""TensorFlow's C++ log lines, told apart from everything else a program writes.

TF_CPP_MIN_LOG_LEVEL=2 (`QUIET_ENV`) stops most of them; the few written before absl's logging
starts ignore it, so output is filtered too: by the notebook runner for the cells' stderr, by
`quiet_stderr` for the CLI's own, and by `python -m digitlab.tflog` (input to output, less those
lines) for the benchmarks `make` runs.
"""

import atexit
import os
import re
import sys
import threading
from typing import TextIO

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}
# `I0000 00:00:1796151057.541179   16449 port.cc:153] oneDNN ...`, absl's notice before its
# logging is set up, and the second line of the CPU-instructions notice.
LOG_LINE = re.compile(r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] "
                      r"|WARNING: All log messages before absl::InitializeLog\(\)"
                      r"|To enable the following instructions: ")


class TensorFlowLogFilter:
    """A stream that passes text on to `out`, less TensorFlow's C++ log lines."""

    def __init__(self, out: TextIO):
        self.out = out

    def write(self, text: str) -> None:
        lines = text.splitlines(keepends=True)
        self.out.write("".join(line for line in lines if not LOG_LINE.match(line)))

    def flush(self) -> None:
        self.out.flush()


def quiet_stderr() -> None:
    """From now on, this process's stderr (file descriptor 2, so TensorFlow's C++ writes too)
    goes through a pipe to a thread that passes on all but TensorFlow's log lines."""
    original = os.dup(2)
    reader, writer = os.pipe()
    os.dup2(writer, 2)
    os.close(writer)

    def copy() -> None:
        with os.fdopen(reader, errors="replace") as lines, \
                os.fdopen(original, "w", closefd=False) as out:
            for line in lines:
                if not LOG_LINE.match(line):
                    out.write(line)
                    out.flush()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()

    def finish() -> None:  # at exit: end the pipe, let the thread write what is left
        sys.stderr.flush()
        os.dup2(original, 2)
        thread.join(timeout=5)

    atexit.register(finish)


def main() -> None:
    """Copy standard input to standard output line by line, less TensorFlow's log lines."""
    out = TensorFlowLogFilter(sys.stdout)
    for line in sys.stdin:
        out.write(line)
        out.flush()


if __name__ == "__main__":
    main()
