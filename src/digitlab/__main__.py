"""`python -m digitlab [--verbose] <command>`: TensorFlow's C++ log lines are kept off stderr
unless --verbose comes first (or is the command's own, as `notebooks --verbose`)."""

import os
import sys

from digitlab import tflog
from digitlab.cli import main

argv = sys.argv[1:]
verbose = "--verbose" in argv
if argv[:1] == ["--verbose"]:
    argv = argv[1:]
if not verbose:
    os.environ.update(tflog.QUIET_ENV)
    tflog.quiet_stderr()
sys.exit(main(argv))
