"""Import time of a 2,000-line module: untransformed, transformed with a cold cache, with a warm cache.

The transformer is the real one of ``sqreen._callsites``. Every sample is a
fresh interpreter that times only the ``import`` statement; the three cases
are interleaved (in rotating order) so that drift on the machine hits them
alike, and the table gives the median of each and its ratio to the
untransformed import (which uses CPython's own warm ``.pyc``). The one-time
cost of loading the transform engine in a process (``sqreen.importhook._transform``
and what it imports; ``ast`` is loaded only on a cache miss) is timed apart.

Usage: python benchmarks/bench_transform.py [--runs 40] [--python /path/to/python]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = "bench_transform_target"
ENGINE_LOADS = []

CHILD = """
import os, subprocess, sys, time  # what the module imports: not part of its own import time
clock = getattr(time, "perf_counter", time.time)
sys.path.insert(0, %(directory)r)
sys.path.insert(0, %(root)r)
engine = 0.0
if %(transform)r:
    from sqreen import _callsites
    _callsites.enable(prefixes=[%(module)r])
    start = clock()
    import sqreen.importhook._transform  # once per process, whatever the number of modules
    engine = clock() - start
start = clock()
import %(module)s
elapsed = clock() - start
print("%%r %%r" %% (elapsed, engine))
"""


def generate_module(lines=2000):
    """A plausible application module of ``lines`` lines, with a few call sites in it."""
    out = ['"""Generated module for bench_transform."""', "import os", "import subprocess", ""]
    i = 0
    while len(out) + 16 + 4 <= lines:
        out += [
            "",
            "def handler_%d(cursor, user, limit=10):" % i,
            '    """Handler %d."""' % i,
            "    total = 0",
            "    for n in range(limit):",
            "        total += n * %d" % i,
            "    if user:",
            '        cursor.execute("SELECT * FROM t%d WHERE name = \'%%s\'" %% user)' % i
            if i % 10 == 0
            else '        cursor.execute("SELECT * FROM t%d WHERE name = ?", (user,))' % i,
            '    return {"id": %d, "total": total, "name": "h%d"}' % (i, i),
            "",
            "",
            "class Model%d(object):" % i,
            "    table = 'model_%d'" % i,
            "",
            "    def path(self, name):",
            '        return os.path.join("/srv", self.table, name)',
        ]
        i += 1
    out += ["", "", "def run(cmd):", "    return subprocess.call(cmd, shell=False)"]
    while len(out) < lines:
        out.append("# padding")
    return "\n".join(out) + "\n"


def sample(python, directory, transform):
    code = CHILD % {"directory": directory, "root": ROOT, "transform": transform, "module": MODULE}
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.check_output([python, "-c", code], cwd=ROOT, env=env)
    elapsed, engine = out.decode().strip().splitlines()[-1].split()
    if transform:
        ENGINE_LOADS.append(float(engine))
    return float(elapsed)


def drop_our_cache(directory):
    for path in glob.glob(os.path.join(directory, "__pycache__", MODULE + ".*.sqreen-*.pyc")):
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="samples per case (default 40)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="bench_transform_")
    try:
        source = generate_module()
        with open(os.path.join(directory, MODULE + ".py"), "w") as f:
            f.write(source)
        sample(args.python, directory, False)  # CPython's own .pyc, warm from now on
        sample(args.python, directory, True)  # our cache, warm for the "warm" case

        def cold():
            drop_our_cache(directory)
            return sample(args.python, directory, True)

        cases = [
            ("untransformed", lambda: sample(args.python, directory, False)),
            ("transformed, cold cache", cold),
            ("transformed, warm cache", lambda: sample(args.python, directory, True)),
        ]
        times = dict((name, []) for name, _ in cases)
        for i in range(args.runs):
            for name, run in cases[i % 3:] + cases[: i % 3]:  # the cold case leaves the cache warm
                times[name].append(run())
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    version = subprocess.check_output([args.python, "-c", "import sys; print(sys.version.split()[0])"])
    print("Python %s, %d-line module, %d fresh processes per case, median import time"
          % (version.decode().strip(), source.count("\n"), args.runs))
    base = statistics.median(times["untransformed"])
    print("%-26s %12s %10s" % ("case", "median ms", "ratio"))
    for name, _ in cases:
        median = statistics.median(times[name])
        print("%-26s %12.3f %9.2fx" % (name, median * 1000, median / base))
    print("%-26s %12.3f %10s" % ("engine load, once/process", statistics.median(ENGINE_LOADS) * 1000, ""))
    print(json.dumps(dict((name, statistics.median(v)) for name, v in times.items())))


if __name__ == "__main__":
    main()
