"""What the event pipeline costs the application thread, and what its thread can carry.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_reporter.py --fast

Rows: ``report()`` before ``start`` (the no-op); ``report()`` while the
reporter thread drains to ``/dev/null`` (the enqueue the app pays, GIL
contention included); ``report()`` on a full queue (drop-oldest path; the
sink is held so the queue stays full); building a track event and an attack
event with a request (``sqreen._events``); and, on the reporter's thread,
encoding (redaction + JSON) one attack event and redacting 10 KB of text.
"""
import os
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

from sqreen import _events, _redact, _reporter  # noqa: E402

REQUEST = {
    "method": "POST", "path": "/login", "route": "/login", "client_ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "request_id": "7f3c2a",
    "headers": {"Cookie": "sessionid=abc", "Accept": "text/html", "Authorization": "Bearer x"},
}
EVENT = _events.attack_event("sqli", request=REQUEST, rule="sqli-1", blocked=True, source="body",
                             name="username", value="admin' OR '1'='1", detail={"driver": "sqlite3"})
TEXT = ("user=bob&password=hunter2&note=" + "lorem ipsum 4111 1111 1111 1111 dolor " * 260)[:10240]


def loop_report(loops):
    report, event = _reporter.report, EVENT
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        report(event)
    return pyperf.perf_counter() - t0


def bench_not_started(loops):
    _reporter.stop(0)
    return loop_report(loops)


def bench_draining(loops):
    _reporter.start({"events_file": os.devnull, "queue_size": 100000, "metrics_interval": 3600})
    _reporter.report(EVENT)
    _reporter.flush(10)
    try:
        return loop_report(loops)
    finally:
        _reporter.stop(30)


class HeldSink(object):
    def __init__(self):
        self.release = threading.Event()

    def send(self, lines, budget=None):
        self.release.wait()
        return len(lines)

    def close(self):
        pass


def bench_full_queue(loops):
    _reporter.start({"queue_size": 1000, "metrics_interval": 3600})
    sink = _reporter._state.sink = HeldSink()
    for _ in range(1001):
        _reporter.report(EVENT)  # the thread takes one batch and blocks; the queue fills
    try:
        return loop_report(loops)
    finally:
        sink.release.set()
        _reporter.stop(30)


def timed(func):
    def bench(loops):
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            func()
        return pyperf.perf_counter() - t0
    return bench


def main():
    runner = pyperf.Runner()
    runner.bench_time_func("report, not started", bench_not_started)
    runner.bench_time_func("report, thread draining to /dev/null", bench_draining)
    runner.bench_time_func("report, queue full (drop oldest)", bench_full_queue)
    runner.bench_time_func("build track event", timed(lambda: _events.track_event("t", properties={"a": 1})))
    runner.bench_time_func("build attack event with request", timed(
        lambda: _events.attack_event("sqli", request=REQUEST, source="body", name="q", value="x")))
    runner.bench_time_func("encode attack event (redact + JSON)", timed(lambda: _reporter.encode(EVENT)))
    runner.bench_time_func("redact 10 KB of text", timed(lambda: _redact.redact_text(TEXT)))


if __name__ == "__main__":
    main()
