"""What starting the agent adds to a process: wall time and peak memory, as whole processes.

Each variant is a fresh interpreter (``python -c CODE``) with the repository on
``PYTHONPATH``; variants run interleaved (one of each per round, order shuffled)
so that drift in machine load hits them alike. Reported per variant: the
median wall time, median CPU time (user + system, less sensitive to a loaded
machine) and median peak RSS, and each one's difference from the bare
interpreter. Peak RSS is the child's own ``VmHWM`` (read from /proc as its
last act, the same for every variant): the rusage of a forked child also
counts the parent's memory from before ``exec``. Elsewhere than Linux it
falls back to ``os.wait4``'s rusage.

    python benchmarks/bench_startup.py [--runs 60] [--python PATH] [--max-ms 50 --max-mb 10]

With ``--max-ms`` / ``--max-mb`` it exits 1 when ``import sqreen; sqreen.start()``
adds more than that.
"""
from __future__ import print_function

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_clock = getattr(time, "perf_counter", time.time)

BARE = "bare interpreter"
START = "import sqreen; sqreen.start()"

VARIANTS = [
    (BARE, "pass", {}),
    ("import sqreen", "import sqreen", {}),
    (START, START, {}),
    ("start() with SQREEN_DISABLE=1", START, {"SQREEN_DISABLE": "1"}),
]


HWM = os.path.exists("/proc/self/status")
# Appended to every variant: print this process's peak RSS in kB.
PRINT_HWM = ("\nimport sys\n"
             "sys.stdout.write([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n")


def run_once(python, code, env):
    """(wall seconds, CPU seconds, peak RSS in bytes) of one ``python -c code``."""
    start = _clock()
    proc = subprocess.Popen([python, "-c", code + (PRINT_HWM if HWM else "")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = _clock() - start
    proc.returncode = status
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    if status != 0:
        raise SystemExit("%r failed (status %d):\n%s%s" % (code, status, out.decode(), err.decode()))
    if HWM:
        rss = int(out.decode().split("VmHWM:")[1].split()[0]) * 1024
    else:  # ru_maxrss is in kilobytes on Linux, in bytes on macOS
        rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return elapsed, usage.ru_utime + usage.ru_stime, rss


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def measure(python, runs, workdir):
    base_env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHON")))
    base_env["PYTHONPATH"] = ROOT
    base_env["SQREEN_EVENTS_FILE"] = os.path.join(workdir, "events.jsonl")
    results = dict((name, ([], [], [])) for name, _, _ in VARIANTS)
    for _ in range(2):  # warm the OS caches and .pyc files first
        for name, code, extra in VARIANTS:
            run_once(python, code, dict(base_env, **extra))
    order = list(VARIANTS)
    for _ in range(runs):
        random.shuffle(order)
        for name, code, extra in order:
            for series, value in zip(results[name], run_once(python, code, dict(base_env, **extra))):
                series.append(value)
    return dict((name, tuple(median(series) for series in values)) for name, values in results.items())


def report(python, runs, medians):
    version = subprocess.check_output([python, "-c", "import sys; print(sys.version.split()[0])"])
    print("python %s (%s), %d interleaved runs per variant, medians"
          % (version.decode().strip(), python, runs))
    base_time, base_cpu, base_rss = medians[BARE]
    print("%-30s %8s %8s %6s %8s %8s %8s %8s" % (
        "variant", "wall ms", "+ms", "ratio", "CPU ms", "+ms", "RSS MB", "+MB"))
    for name, _, _ in VARIANTS:
        wall, cpu, rss = medians[name]
        print("%-30s %8.1f %+8.1f %6.2f %8.1f %+8.1f %8.1f %+8.2f" % (
            name, wall * 1e3, (wall - base_time) * 1e3, wall / base_time, cpu * 1e3, (cpu - base_cpu) * 1e3,
            rss / 1e6, (rss - base_rss) / 1e6))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--max-ms", type=float, help="fail when start() adds more wall time than this")
    parser.add_argument("--max-mb", type=float, help="fail when start() adds more peak RSS than this")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="sqreen-bench-")
    medians = measure(args.python, args.runs, workdir)
    report(args.python, args.runs, medians)
    added_ms = (medians[START][0] - medians[BARE][0]) * 1e3
    added_mb = (medians[START][2] - medians[BARE][2]) / 1e6
    failed = (args.max_ms is not None and added_ms > args.max_ms) or \
        (args.max_mb is not None and added_mb > args.max_mb)
    if args.max_ms is not None or args.max_mb is not None:
        print("%s: start() adds %.1f ms, %.2f MB" % ("FAIL" if failed else "OK", added_ms, added_mb))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
