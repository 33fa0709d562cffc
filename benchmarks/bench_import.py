"""What the import hook costs: whole-process import time, and one declined lookup.

1. Whole processes (``python -c CODE``, repository on ``PYTHONPATH``): the
   time to ``import django``, and to import jinja2, sqlite3, json, email and
   http.client, bare and with the engine installed and callbacks registered
   for django, jinja2, pymongo, psycopg2, MySQLdb and sqlite3. The variants
   run interleaved (one of each per round, order shuffled) so that drift in
   machine load hits them alike; the median of each is reported with the
   ratio to the bare run (goal: at most 1.02), for wall time and for the
   child's CPU time (steadier when the machine is busy). A third variant only imports
   the engine, to split its own import cost from what interception adds.
2. In process, with pyperf (run in a child ``pyperf`` runner): the cost of
   one lookup the finder declines (``find_spec`` on an unwatched name),
   next to a minimal finder that checks a set and returns None, and wrapt's
   post-import finder, which takes a lock on every import (goal: at most
   0.2 us for ours).

    python benchmarks/bench_import.py [--runs 41] [--python PATH] [--fast] [--in-process-only]

Packages that are not installed are skipped with a message.
"""
from __future__ import print_function

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_clock = getattr(time, "perf_counter", time.time)

HOOKED = ["django", "jinja2", "pymongo", "psycopg2", "MySQLdb", "sqlite3"]
SETS = [["django"], ["jinja2", "sqlite3", "json", "email", "http.client"]]
ENGINE = (
    "import sqreen.importhook as ih\n"
    "ih.install()\n"
    "for _name in %r:\n"
    "    ih.register(_name, lambda module: None)\n" % (HOOKED,)
)
ENGINE_IMPORT_ONLY = "import sqreen.importhook\n"


def child_env():
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHON")))
    env["PYTHONPATH"] = ROOT
    return env


def installed(python, names):
    """The subset of ``names`` that ``python`` can import."""
    code = (
        "import importlib.util, json, sys\n"
        "print(json.dumps([n for n in sys.argv[1:] if importlib.util.find_spec(n.split('.')[0])]))\n"
    )
    out = subprocess.check_output([python, "-c", code] + list(names), env=child_env())
    return json.loads(out.decode())


def run_once(python, code, env):
    """(wall seconds, CPU seconds) of one ``python -c code``.

    The child's CPU time (user + system, from ``os.wait4``) moves much less
    than wall time when other work shares the machine.
    """
    start = _clock()
    proc = subprocess.Popen([python, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = _clock() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    proc.returncode = status
    if status != 0:
        raise SystemExit("%r failed:\n%s%s" % (code, out.decode(), err.decode()))
    return elapsed, usage.ru_utime + usage.ru_stime


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def whole_process(python, runs):
    """Rows (label, wall|cpu, bare ms, engine-import-only ms, engine ms, ratio) per import set."""
    env = child_env()
    rows = []
    for names in SETS:
        present = installed(python, names)
        missing = [n for n in names if n not in present]
        if missing:
            print("skip: %s not installed for %s" % (", ".join(missing), python))
        if not present:
            continue
        imports = "import %s\n" % ", ".join(present)
        variants = {
            "bare": imports,
            "engine imported": ENGINE_IMPORT_ONLY + imports,
            "engine": ENGINE + imports,
        }
        times = dict((name, ([], [])) for name in variants)
        order = list(variants)
        for round_no in range(runs + 2):
            random.shuffle(order)
            for name in order:
                wall, cpu = run_once(python, variants[name], env)
                if round_no >= 2:  # the first rounds warm the OS caches and .pyc files
                    times[name][0].append(wall)
                    times[name][1].append(cpu)
        label = "import " + ", ".join(present)
        for kind, index in (("wall", 0), ("cpu", 1)):
            bare, only, engine = (median(times[k][index]) for k in ("bare", "engine imported", "engine"))
            rows.append((label, kind, bare * 1e3, only * 1e3, engine * 1e3, engine / bare))
    return rows


# --- in process (pyperf child) --------------------------------------------------------------

def _time_find(loops, find_spec, name):
    rng = range(loops)
    start = _clock()
    for _ in rng:
        find_spec(name, None)
    return _clock() - start


def _time_empty(loops):
    rng = range(loops)
    start = _clock()
    for _ in rng:
        pass
    return _clock() - start


class MinimalFinder(object):
    """The least a delegating finder can do for a name it does not watch."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        raise AssertionError("not measured")


def pyperf_child():
    import pyperf

    sys.path.insert(0, ROOT)
    import sqreen.importhook as ih
    from sqreen.importhook._finder import Finder

    runner = pyperf.Runner(program_args=(os.path.abspath(__file__), "--pyperf-child"))
    runner.argparser.set_defaults(quiet=True)
    for name in HOOKED:
        ih.register(name, lambda module: None)
    name = "unwatched.module"
    ours = Finder()
    runner.bench_time_func("empty loop (subtracted below)", _time_empty)
    runner.bench_time_func("sqreen finder, declined", _time_find, ours.find_spec, name)
    runner.bench_time_func("minimal finder, declined", _time_find, MinimalFinder(HOOKED).find_spec, name)
    try:
        import wrapt
        from wrapt.importer import ImportHookFinder
    except ImportError:
        print("skip: wrapt not installed")
    else:
        for hooked in HOOKED:
            wrapt.register_post_import_hook(lambda module: None, hooked)
        wrapt_find = ImportHookFinder().find_spec
        runner.bench_time_func("wrapt post-import finder, declined", _time_find, wrapt_find, name)
    ih.register_transformer("myapp", lambda tree, name, filename: tree, "1")
    label = "sqreen finder, declined, a transformer registered"
    runner.bench_time_func(label, _time_find, ours.find_spec, name)


READ_SUITE = (
    "import pyperf, json, sys\n"
    "suite = pyperf.BenchmarkSuite.load(sys.argv[1])\n"
    "print(json.dumps([(b.get_name(), b.mean(), b.stdev()) for b in suite]))\n"
)


def in_process(python, fast):
    """Rows (label, mean us, stdev us) from a pyperf child run, loop overhead subtracted."""
    probe = subprocess.call([python, "-c", "import pyperf"], env=child_env(), stderr=subprocess.PIPE)
    if probe != 0:
        print("skip: pyperf not installed for %s" % python)
        return []
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    os.remove(out)
    try:
        cmd = [python, os.path.abspath(__file__), "--pyperf-child", "-o", out, "--quiet"]
        if fast:
            cmd.append("--fast")
        subprocess.check_call(cmd, env=child_env())
        data = json.loads(subprocess.check_output([python, "-c", READ_SUITE, out], env=child_env()).decode())
    finally:
        if os.path.exists(out):
            os.remove(out)
    empty = [mean for name, mean, _ in data if name.startswith("empty loop")][0]
    rows = [(name, mean, stdev) for name, mean, stdev in data if not name.startswith("empty")]
    return [(name, (mean - empty) * 1e6, stdev * 1e6) for name, mean, stdev in rows]


def main():
    if "--pyperf-child" in sys.argv:
        sys.argv.remove("--pyperf-child")
        return pyperf_child()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=41, help="interleaved rounds per import set")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument("--fast", action="store_true", help="fewer pyperf runs (rougher figures)")
    parser.add_argument("--in-process-only", action="store_true", help="skip the whole-process timings")
    args = parser.parse_args()
    print("python: %s" % args.python)
    rows = [] if args.in_process_only else whole_process(args.python, args.runs)
    if rows:
        print("\nWhole process, median of %d interleaved runs (ms)" % args.runs)
        print("(cpu: the child's user + system time, steadier than wall time on a busy machine)")
        print("%-50s %5s %9s %12s %9s %7s" % ("imports", "time", "bare", "+ import ih", "+ engine", "ratio"))
        for label, kind, bare, only, engine, ratio in rows:
            print("%-50s %5s %9.1f %12.1f %9.1f %7.3f" % (label, kind, bare, only, engine, ratio))
    perf = in_process(args.python, args.fast)
    if perf:
        print("\nOne declined lookup, in process (pyperf mean, loop overhead subtracted)")
        print("%-55s %10s %10s" % ("finder", "us", "stdev us"))
        for label, mean, stdev in perf:
            print("%-55s %10.3f %10.3f" % (label, mean, stdev))


if __name__ == "__main__":
    main()
