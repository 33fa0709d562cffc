"""Cost of the hooked ``open()`` (the path traversal sink): outside a request, and inside one.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_path_sinks.py --fast

Each row opens and closes the same small file:

* ``bare``: the original ``open``, taken before the patch (the baseline);
* ``hooked, no request``: the builtin ``open`` as the agent patches it
  (``sqreen.integrations.files``), no request current: goal, not
  measurably slower than ``bare``;
* ``hooked, request miss``: a request with 10 inputs is current, none
  occurs in the path (goal: under 5 microseconds added);
* ``hooked, request hit``: one input is ``../secret.txt`` and the path
  climbs out with it (monitor mode, no agent running: the event is built
  once, later calls find the input already reported).

The table at the end gives microseconds per call (the mean, and the
minimum of pyperf's values, steadier when other processes share the
machine) and what each row adds to ``bare``, all measured in the same run.
"""
import atexit
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402
import six  # noqa: E402

from sqreen import _request  # noqa: E402
from sqreen.integrations import files  # noqa: E402
from sqreen.protections._path_traversal import check_path  # noqa: E402

BARE_OPEN = six.moves.builtins.open
DIRECTORY = tempfile.mkdtemp(prefix="sqreen-bench-path-")
atexit.register(shutil.rmtree, DIRECTORY, True)
BASE = os.path.join(DIRECTORY, "public")
os.mkdir(BASE)
for _name in (os.path.join(BASE, "report.pdf"), os.path.join(DIRECTORY, "secret.txt")):
    with BARE_OPEN(_name, "wb") as _f:
        _f.write(b"x" * 100)

QUERY = ("page=2&sort=created_at&q=blue+shoes&comment=Looks+great%2C+thanks&session=3f9a0c2e7d"
         "&lang=en-US&ref=newsletter&id=12345&color=navy&name=")
CASES = [
    ("bare", BARE_OPEN, None, "report.pdf"),
    ("hooked, no request", None, None, "report.pdf"),
    ("hooked, request miss", None, "report-2024.pdf", "report.pdf"),
    ("hooked, request hit", None, "../secret.txt", "../secret.txt"),
]


def make_timer(opener, value, name):
    path = BASE + "/" + name

    def timer(loops):
        open_ = opener or six.moves.builtins.open  # the patched builtin
        if value is not None:
            _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/files",
                                                "QUERY_STRING": QUERY + value}))
            assert len(_request.current().inputs()) == 10
        try:
            if (check_path(path, _request.current_inputs()) is not None) != (value == "../secret.txt"):
                raise SystemExit("%s: unexpected verdict" % name)
            clock = pyperf.perf_counter
            start = clock()
            for _ in range(loops):
                open_(path, "rb").close()
            return clock() - start
        finally:
            _request.deactivate()

    return timer


def main():
    runner = pyperf.Runner()
    files.patch(os)
    benches = []
    for label, opener, value, name in CASES:
        benches.append((label, runner.bench_time_func(label, make_timer(opener, value, name))))
    if not runner.args.worker:
        means = dict((label, bench.mean() * 1e6) for label, bench in benches if bench)
        mins = dict((label, min(bench.get_values()) * 1e6) for label, bench in benches if bench)
        if "bare" not in means:
            return
        print()
        print("Python %s, open()+close() of a 100-byte file, microseconds per call (10 request inputs);"
              % sys.version.split()[0])
        print("the minimum of the runs is the steadier figure on a busy machine")
        print("%-22s %8s %8s %8s %8s %8s" % ("case", "mean", "added", "ratio", "min", "added"))
        for label, _, _, _ in CASES:
            if label in means:
                mean, least = means[label], mins[label]
                print("%-22s %8.3f %8.3f %8.3f %8.3f %8.3f" % (
                    label, mean, mean - means["bare"], mean / means["bare"], least, least - mins["bare"]))


if __name__ == "__main__":
    main()
