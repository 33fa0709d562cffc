"""Machine instructions per request of the benchmark apps under gunicorn, agent off versus on.

Run (the py311 dev venv has Flask, Django and gunicorn; valgrind from ``apt-get install -y valgrind``)::

    /root/.cache/sqreen-venvs/py311/bin/python benchmarks/requests/bench_instructions.py
    ... bench_instructions.py --frameworks flask --endpoints query --requests 100

The same servers as ``bench_requests.py`` (gunicorn, one sync worker, the
agent in monitor mode with every integration active), each run under
``valgrind --tool=callgrind``. After a warm-up of each endpoint, the
worker's counters are zeroed (``callgrind_control -z``), ``--requests``
GETs are sent one after another and the counters dumped: the instructions
the worker executed for them, divided by their number, are its cost per
request -- HTTP parsing, the app and, when on, the agent. Each window starts
after a full garbage collection (``/agent?gc=1``), so that a full collection
falling into one side's window only does not swamp the difference, and the
agent sends no metrics report during the run (``metrics_interval`` of a
day: under valgrind the default minute passes mid-run).

Why: on a shared machine the throughput and CPU-time figures of
``bench_requests.py`` swing by 10% from run to run, more than the effect
being measured. The number of instructions a request executes barely
moves (the same run twice agrees to 0.1%), so a change to the agent shows
in it. Instructions are not time: a cache miss or a system call costs more
than its count, so the ratio here estimates the capacity ratio, it does
not replace the throughput measurement. Takes 2 to 4 minutes.
"""
from __future__ import print_function

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _db  # noqa: E402
import bench_requests  # noqa: E402


def control(command, pid):
    subprocess.run(["callgrind_control", command, str(pid)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   check=True)


def dumped_total(out_dir, pid, before):
    """The instruction total of the newest dump of ``pid`` that is not in ``before``."""
    names = [n for n in os.listdir(out_dir) if n.startswith("cg.%d." % pid) and n not in before]
    if len(names) != 1:
        raise SystemExit("expected one new callgrind dump for pid %d, found %s" % (pid, names))
    with open(os.path.join(out_dir, names[0])) as f:
        for line in f:
            found = re.match(r"(?:summary|totals):\s*(\d+)", line)
            if found:
                return int(found.group(1)), names[0]
    raise SystemExit("no total in %s" % names[0])


def measure(server, path, requests, warmup, out_dir):
    for _ in range(warmup):
        status, body = bench_requests.get(server.port, path, timeout=120)
        if status != 200:
            raise SystemExit("%s %s: HTTP %s %r" % (server.name, path, status, body[:200]))
    pid = server.worker_pid
    before = set(os.listdir(out_dir))
    # Both sides start from a full collection: else one full collection (tens of thousands of
    # objects) landing in one side's window and not the other's outweighs what is measured.
    bench_requests.get(server.port, "/agent?gc=1", timeout=120)
    control("-z", pid)
    for _ in range(requests):
        bench_requests.get(server.port, path, timeout=120)
    control("-d", pid)
    total, name = dumped_total(out_dir, pid, before)
    print("%s %s: %s" % (server.name, path, name), file=sys.stderr)
    return total / float(requests)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frameworks", default="flask,django")
    parser.add_argument("--endpoints", default="hello,query")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30, help="requests per endpoint before measuring")
    parser.add_argument("--keep", metavar="DIR",
                        help="copy the callgrind dumps there (callgrind_annotate reads them)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    bench_requests.build_inplace()
    tmp = tempfile.mkdtemp(prefix="sqreen-bench-instructions-")
    _db.create(os.path.join(tmp, "bench.sqlite3"))
    out_dir = os.path.join(tmp, "callgrind")
    os.mkdir(out_dir)
    prefix = ["valgrind", "--tool=callgrind", "--trace-children=yes",
              "--callgrind-out-file=" + os.path.join(out_dir, "cg.%p")]
    os.environ["PYTHONHASHSEED"] = "0"  # the same dict layouts on both sides
    rows = []
    try:
        for framework in args.frameworks.split(","):
            per = {}
            for agent in (False, True):
                # No metrics report in a window: under valgrind the 60 s timer fires mid-run, and
                # one report moved the agent's per-request figure by thousands of instructions.
                server = bench_requests.Server(framework, agent, tmp, prefix=prefix,
                                               agent_env={"SQREEN_METRICS_INTERVAL": "86400"})
                try:
                    seen = server.wait_ready(seconds=300)
                    server.worker_pid = seen["pid"]
                    if seen["status"] != ("running" if agent else "not imported"):
                        raise SystemExit("%s: agent probe says %s" % (server.name, seen))
                    for endpoint in args.endpoints.split(","):
                        per[endpoint, agent] = measure(server, "/" + endpoint, args.requests, args.warmup,
                                                       out_dir)
                        print("%-7s %-6s agent %-3s %12.0f instructions per request"
                              % (framework, endpoint, "on" if agent else "off", per[endpoint, agent]),
                              file=sys.stderr)
                finally:
                    server.stop()
            for endpoint in args.endpoints.split(","):
                rows.append((framework, endpoint, per[endpoint, False], per[endpoint, True]))
    finally:
        if args.keep:
            if not os.path.isdir(args.keep):
                os.makedirs(args.keep)
            for name in os.listdir(out_dir):
                if "." in name[len("cg."):]:  # the dumps (cg.<pid>.<n>), not the whole-run files
                    shutil.copy(os.path.join(out_dir, name), os.path.join(args.keep, name))
        shutil.rmtree(tmp, ignore_errors=True)
    print("\ncallgrind, gunicorn 1 sync worker, %d requests per endpoint after %d, Python %s"
          % (args.requests, args.warmup, sys.version.split()[0]))
    fmt = "%-7s %-8s %12s %12s %10s %7s %7s %5s"
    print(fmt % ("app", "endpoint", "instr off", "instr on", "added", "on/off", "off/on", "goal"))
    for framework, endpoint, off, on in rows:
        goal = bench_requests.GOALS[endpoint]
        print(fmt % (framework, endpoint, "%.0f" % off, "%.0f" % on, "%+.0f" % (on - off),
                     "%.3f" % (on / off), "%.3f" % (off / on), "ok" if off / on >= goal else "MISS"))
    print("off/on: the capacity the instructions imply (goal: >= %.2f on hello, >= %.2f on query)"
          % (bench_requests.GOALS["hello"], bench_requests.GOALS["query"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
