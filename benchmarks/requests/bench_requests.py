"""Throughput and latency of small Flask and Django apps under gunicorn, agent off versus on.

Run (the py311 dev venv has Flask, Django and gunicorn; wrk from ``apt-get install -y wrk``)::

    /root/.cache/sqreen-venvs/py311/bin/python benchmarks/requests/bench_requests.py
    ... bench_requests.py --trials 5 --duration 5 --frameworks flask --endpoints hello --client python

Not run by CI: it takes about 4 minutes with the defaults and wants an otherwise idle machine.

Each app (``app_flask.py``, ``app_django.py``) has two endpoints: ``hello``
(a constant string) and ``query`` (one SELECT on a sqlite3 file, ten rows
rendered by a small template). For each framework two gunicorn servers (one
sync worker each, 127.0.0.1) run side by side: one plain (agent off), one
under ``sqreen-start`` in monitor mode with events to a temporary file and
every integration active (agent on; the driver checks through ``/agent``
that the agent runs and sees the requests). The servers are pinned to CPU 0
and the load generator to CPU 1 when the machine has two. After a warm-up,
each trial runs both sides, off then on, on then off in the next (ABBA);
each run is ``wrk`` with
``--connections`` connections for ``--duration`` seconds (or, when wrk is
missing, a small threaded Python client, which is slower and says so). The
table gives the median requests per second of each side, their ratio, the
median of each trial's own ratio ("paired", steadier when the machine's
speed wanders), and the median p50 and p99 latencies. The goals: at most 5% fewer requests per
second on ``query`` and 10% on ``hello`` (the exit status is 1 when one is
missed).

``--together`` loads both servers at once in each trial (one wrk each,
both on CPU 1; the two workers share CPU 0, which the scheduler splits
evenly between them): a machine whose speed wanders from second to second
(a shared virtual machine) then slows both sides alike, and each trial's
on/off ratio (the "paired" column) is the ratio of their costs per request.
The absolute figures are about half of a one-at-a-time run's.

Wall-clock throughput swings widely on a machine shared with other work, so
the table also gives the worker's CPU time per request (user + system, read
from ``/proc/<worker pid>/stat`` around each trial) and the capacity ratio
it implies (CPU off / CPU on): the figure to trust when the trials of one
side disagree with each other.
"""
from __future__ import print_function

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import _db  # noqa: E402
from _build import build_inplace  # noqa: E402

APPS = {"flask": "app_flask:app", "django": "app_django:application"}
ENDPOINTS = ["hello", "query"]
GOALS = {"hello": 0.90, "query": 0.95}  # lowest acceptable ratio of throughputs, on/off

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def free_port():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def pin(cpu):
    """A preexec function pinning the child to ``cpu`` (nothing when the machine has one CPU)."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid):
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
    except (IOError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def get(port, path, timeout=10):
    """One GET on 127.0.0.1; ``(status, body)``."""
    from http.client import HTTPConnection

    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server(object):
    """gunicorn (one sync worker) serving one framework's app, with the agent or without."""

    def __init__(self, framework, agent, tmp, prefix=(), agent_env=None):
        self.name = "%s, agent %s" % (framework, "on" if agent else "off")
        self.port = free_port()
        self.log_path = os.path.join(tmp, "%s-%s.log" % (framework, "on" if agent else "off"))
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHONPATH")))
        env["BENCH_DB"] = os.path.join(tmp, "bench.sqlite3")
        gunicorn = [sys.executable, "-c", "import sys; from gunicorn.app.wsgiapp import run; sys.exit(run())",
                    "--workers", "1", "--worker-class", "sync", "--bind", "127.0.0.1:%d" % self.port,
                    "--chdir", HERE, "--log-level", "warning", APPS[framework]]
        if agent:
            env.update(PYTHONPATH=ROOT, SQREEN_MODE="monitor",
                       SQREEN_EVENTS_FILE=os.path.join(tmp, "events-%s.jsonl" % framework))
            env.update(agent_env or {})
            cmd = [sys.executable, "-c", "import sys; from sqreen._cli import start_main; "
                   "sys.exit(start_main())"] + gunicorn
        else:
            cmd = gunicorn
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(list(prefix) + cmd, cwd=HERE, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=pin(0), start_new_session=True)

    def wait_ready(self, seconds=30):
        for _ in range(int(seconds * 10)):
            if self.proc.poll() is not None:
                break
            try:
                status, body = get(self.port, "/agent", timeout=2)
                if status == 200:
                    return json.loads(body.decode("utf-8"))
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise SystemExit("%s did not start; see %s" % (self.name, self.log_path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_wrk(wrk, script, port, path, duration, connections):
    cmd = [wrk, "--threads", "1", "--connections", str(connections), "--duration", "%ds" % duration,
           "--timeout", "10s", "--script", script, "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=pin(1),
                         check=True).stdout.decode("utf-8", "replace")
    line = next((line for line in out.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit("unexpected wrk output:\n" + out)
    requests, micros, p50, p99, errors = (int(x) for x in line.split()[1:])
    return {"requests": requests, "rps": requests / (micros / 1e6), "p50": p50 / 1000.0, "p99": p99 / 1000.0,
            "errors": errors}


def run_python_client(port, path, duration, connections):
    """The fallback load generator: ``connections`` threads, each one request after another."""
    from http.client import HTTPConnection

    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {1})
    else:
        before = None
    latencies, errors = [], []
    deadline = time.perf_counter() + duration

    def worker():
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status != 200:
                    errors.append(response.status)
            except OSError as exc:
                errors.append(exc)
            mine.append(time.perf_counter() - started)
        latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if before is not None:
        os.sched_setaffinity(0, before)
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000.0 if latencies else 0.0

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99),
            "errors": len(errors)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frameworks", default="flask,django")
    parser.add_argument("--endpoints", default="hello,query")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per trial")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server and endpoint")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--together", action="store_true",
                        help="load both servers at once in each trial (needs wrk; see the docstring)")
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk") if args.client != "python" else None
    if wrk is None and args.client == "wrk":
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or --client python)")
    if wrk is None and args.together:
        raise SystemExit("--together needs wrk: apt-get install -y wrk")
    if wrk is None and args.client == "auto":
        print("wrk is not installed (apt-get install -y wrk); using the slower Python client",
              file=sys.stderr)
    build_inplace()
    tmp = tempfile.mkdtemp(prefix="sqreen-bench-requests-")
    script = os.path.join(tmp, "report.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    _db.create(os.path.join(tmp, "bench.sqlite3"))

    def load(server, path, duration):
        before = cpu_seconds(server.worker_pid)
        if wrk is not None:
            result = run_wrk(wrk, script, server.port, path, duration, args.connections)
        else:
            result = run_python_client(server.port, path, duration, args.connections)
        after = cpu_seconds(server.worker_pid)
        if before is not None and after is not None and result["requests"]:
            result["cpu_us"] = (after - before) * 1e6 / result["requests"]
        return result

    def load_together(servers, path, duration):
        """Both servers loaded at once (they share one CPU, the scheduler splits it evenly): whatever
        the machine does meanwhile, it does to both."""
        found = {}
        threads = [threading.Thread(target=lambda agent=agent: found.__setitem__(
            agent, load(servers[agent], path, duration))) for agent in (False, True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(found) != 2:
            raise SystemExit("a load run failed (see above)")
        return found

    rows, notes = [], []
    try:
        for framework in args.frameworks.split(","):
            servers = {False: Server(framework, False, tmp), True: Server(framework, True, tmp)}
            try:
                for agent, server in servers.items():
                    seen = server.wait_ready()
                    server.worker_pid = seen.pop("pid")
                    seen.pop("integrations")
                    seen.pop("gc")
                    response = seen.pop("response")
                    if agent:
                        notes.append("%s: response object: %s" % (framework, response))
                    expected = {"status": "running", "request_seen": True} if agent else {
                        "status": "not imported", "request_seen": False}
                    if seen != expected:
                        raise SystemExit("%s: agent probe says %s, expected %s"
                                         % (server.name, seen, expected))
                for endpoint in args.endpoints.split(","):  # the integrations the endpoints bring in
                    get(servers[True].port, "/" + endpoint)
                applied = json.loads(get(servers[True].port, "/agent")[1].decode("utf-8"))["integrations"]
                notes.append("%s: integrations applied with the agent on: %s"
                             % (framework, ", ".join(applied) or "none"))
                for endpoint in args.endpoints.split(","):
                    path = "/" + endpoint
                    for server in servers.values():
                        status, body = get(server.port, path)
                        if status != 200:
                            raise SystemExit("%s %s: HTTP %s %r" % (server.name, path, status, body[:200]))
                        load(server, path, args.warmup)
                    results = {False: [], True: []}
                    for trial in range(args.trials):
                        # off, on, then on, off: a machine that drifts one way over a pair of trials
                        # favours neither side over the run (see the paired ratio).
                        if args.together:
                            trial_results = load_together(servers, path, args.duration)
                        else:
                            trial_results = dict((agent, load(servers[agent], path, args.duration)) for agent
                                                 in ((False, True) if trial % 2 == 0 else (True, False)))
                        for agent, result in sorted(trial_results.items()):
                            results[agent].append(result)
                            print("%-7s %-6s trial %d agent %-3s %8.1f req/s  p50 %6.2f ms  p99 %6.2f ms  "
                                  "CPU %6.1f us/req%s"
                                  % (framework, endpoint, trial + 1, "on" if agent else "off", result["rps"],
                                     result["p50"], result["p99"], result.get("cpu_us", float("nan")),
                                     "  ERRORS %d" % result["errors"] if result["errors"] else ""),
                                  file=sys.stderr)
                    rows.append((framework, endpoint, results))
            finally:
                for server in servers.values():
                    server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows, wrk is not None, args)
    for note in notes:
        print(note)
    return 0 if all(ratio(results) >= GOALS[endpoint] for _, endpoint, results in rows) else 1


def median(results, key):
    values = [result[key] for result in results if key in result]
    return statistics.median(values) if values else float("nan")


def ratio(results):
    return median(results[True], "rps") / median(results[False], "rps")


def paired_ratio(results):
    """The median of the trials' own on/off ratios: each trial's two runs are next to each other in time,
    so a machine whose speed wanders over minutes (other tenants) moves both."""
    return statistics.median([on["rps"] / off["rps"] for off, on in zip(results[False], results[True])])


def print_table(rows, used_wrk, args):
    print("\n%s, gunicorn 1 sync worker, %d trials x %d s, %d connections, %s, Python %s"
          % ("wrk" if used_wrk else "Python client", args.trials, args.duration, args.connections,
             "both servers at once" if args.together else "one server at a time", sys.version.split()[0]))
    head = ("app", "endpoint", "off req/s", "on req/s", "on/off", "goal", "paired", "CPU off", "CPU on",
            "+CPU", "off/on", "goal", "p50 off", "p50 on", "p99 off", "p99 on")
    fmt = "%-7s %-8s %9s %9s %6s %4s %6s  %7s %7s %5s %6s %4s  %7s %7s %7s %7s"
    print(fmt % head)
    for framework, endpoint, results in rows:
        goal = GOALS[endpoint]
        r = ratio(results)
        cpu_off, cpu_on = median(results[False], "cpu_us"), median(results[True], "cpu_us")
        capacity = cpu_off / cpu_on
        print(fmt % (framework, endpoint, "%.1f" % median(results[False], "rps"),
                     "%.1f" % median(results[True], "rps"), "%.3f" % r, "ok" if r >= goal else "MISS",
                     "%.3f" % paired_ratio(results), "%.1f" % cpu_off, "%.1f" % cpu_on,
                     "%.1f" % (cpu_on - cpu_off), "%.3f" % capacity,
                     "ok" if capacity >= goal else "MISS",
                     "%.2f" % median(results[False], "p50"), "%.2f" % median(results[True], "p50"),
                     "%.2f" % median(results[False], "p99"), "%.2f" % median(results[True], "p99")))
    print("medians over the trials; paired: the median of each trial's own on/off; CPU: the worker's "
          "CPU microseconds per request (+CPU: the agent's share); latencies in ms")
    print("goals: on/off (and CPU off/on) >= %.2f on hello, >= %.2f on query"
          % (GOALS["hello"], GOALS["query"]))


if __name__ == "__main__":
    sys.exit(main())
