"""Cost of the user-monitoring SDK calls, against an empty function call measured in the same run.

Run (pyperf installed)::

    python benchmarks/bench_users.py --fast

Rows: a Python function taking the same arguments and doing nothing (the
baseline); ``sqreen.auth_track`` and ``sqreen.track`` while the agent is
not running (what an app pays for calling the SDK with the agent off); and,
with the agent running in block mode and a request current,
``auth_track(False, ...)`` (auth event queued, IP and identifier counted),
``auth_track(True, ...)`` (event queued, request tied to the user, the
blocklist checked) and ``track`` with 3 properties. Events go to a reporter
writing to ``os.devnull``; the thresholds are out of reach, so no IP is flagged.
The table gives microseconds per call and the ratio to the baseline.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

import sqreen  # noqa: E402
from sqreen import _config, _reporter, _request, _runtime  # noqa: E402

PROPS = {"sku": "A1", "qty": 2, "via": "web"}


def nothing(success, **identifiers):
    return None


def _running():
    cfg = _config.load({"SQREEN_MODE": "block", "SQREEN_ATO_MAX_FAILURES_PER_IP": "1000000000",
                        "SQREEN_ATO_MAX_FAILURES_PER_USER": "1000000000",
                        "SQREEN_USER_BLOCKLIST": "username=mallory"}, cwd="/")
    _runtime._state.update(status=_runtime.RUNNING, config=cfg)
    _reporter.start({"events_file": os.devnull, "queue_size": 100000})
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/login", "REMOTE_ADDR": "198.51.100.1",
               "HTTP_USER_AGENT": "bench/1", "wsgi.input": None}
    _request.activate(_request.Request(environ))


def _stopped():
    _runtime._state.update(status=_runtime.STOPPED, config=None)


CASES = [
    ("empty function (baseline)", _stopped, lambda: nothing(True, username="bob")),
    ("auth_track, agent off", _stopped, lambda: sqreen.auth_track(True, username="bob")),
    ("track, agent off", _stopped, lambda: sqreen.track("order", properties=PROPS)),
    ("auth_track failure, running", _running, lambda: sqreen.auth_track(False, username="bob")),
    ("auth_track success, running", _running, lambda: sqreen.auth_track(True, username="bob")),
    ("track, running", _running, lambda: sqreen.track("order", properties=PROPS)),
]


def make_timer(setup, call):
    def timer(loops):
        setup()
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            call()
        return pyperf.perf_counter() - t0

    return timer


def main():
    runner = pyperf.Runner()
    rows = [(name, runner.bench_time_func(name, make_timer(setup, call))) for name, setup, call in CASES]
    if runner.args.worker:
        return
    base = rows[0][1].mean() if rows[0][1] else None
    print("\n%-32s %12s %10s" % ("case", "us per call", "x baseline"))
    for name, bench in rows:
        if bench is not None and base:
            print("%-32s %12.3f %10.1f" % (name, bench.mean() * 1e6, bench.mean() / base))


if __name__ == "__main__":
    main()
