"""Helpers for the import-hook tests: module trees on disk, fresh interpreters."""
import os
import sys
import textwrap

import pytest

from tests.helpers import run_python

PY3 = sys.version_info[0] >= 3

PREAMBLE = """from __future__ import print_function
import sys
sys.path.insert(0, %r)
import sqreen.importhook as ih
from sqreen import _log
ih.install()
"""

py3_only = pytest.mark.skipif(not PY3, reason="Python 3 import protocol only")


def make_tree(root, files):
    """Write ``{relative path: source}`` under ``root`` (a str path); return root."""
    root = str(root)
    for rel, source in files.items():
        path = os.path.join(root, *rel.split("/"))
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        with open(path, "w") as f:
            f.write(textwrap.dedent(source))
    return root


def run(code, root=None, install=True, args=(), **kwargs):
    """Run ``code`` in a fresh interpreter after the preamble; return its stdout lines."""
    preamble = PREAMBLE % (str(root) if root else os.getcwd())
    if not install:
        preamble = preamble.replace("ih.install()", "")
    _, out, _ = run_python(preamble + textwrap.dedent(code), args=args, **kwargs)
    return out.strip().splitlines()
