"""The agent's compiled parts, built in place: the benchmarks run the agent from this tree."""
from __future__ import print_function

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_inplace():
    """``setup.py build_ext --inplace`` (nothing to do when up to date); says so when it cannot build."""
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0 or "not built" in output:
        print("note: the agent's compiled parts could not be built; its Python versions are measured\n"
              + output, file=sys.stderr)
