import json
import os
import threading
import time

import pytest

from sqreen import _events, _log, _reporter
from tests.helpers import run_python


class FakeSink(object):
    """A sink the test steers: it can hold the reporter thread, or fail."""

    def __init__(self):
        self.lines = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail = False
        self.closed = False

    def send(self, lines, budget=None):
        self.entered.set()
        self.release.wait(30)
        if self.fail:
            return 0
        self.lines.extend(lines)
        return len(lines)

    def close(self):
        self.closed = True

    def events(self, kind=None):
        out = [json.loads(line.decode("ascii")) for line in self.lines]
        return [e for e in out if kind is None or e["kind"] == kind]


@pytest.fixture(autouse=True)
def clean():
    _reporter.stop(5)
    _log.reset()
    yield
    _reporter.stop(5)
    _log.reset()
    _events.set_app_name(None)


def start_with_fake(**config):
    config.setdefault("flush_timeout", 10)
    assert _reporter.start(config)
    sink = _reporter._state.sink = FakeSink()
    return sink


def test_report_is_a_no_op_until_started():
    assert _reporter.report(_events.track_event("x")) is False
    assert _reporter.flush(0.1) is False
    assert not _reporter.is_started()


def test_events_reach_the_sink_and_stop_flushes():
    sink = start_with_fake()
    for i in range(20):
        assert _reporter.report(_events.track_event("t", properties={"i": i}))
    assert _reporter.flush(10)
    assert [e["properties"]["i"] for e in sink.events("track")] == list(range(20))
    _reporter.report(_events.track_event("last"))
    assert _reporter.stop(10)
    assert sink.events("track")[-1]["name"] == "last" and sink.closed
    assert _reporter.report(_events.track_event("after")) is False


def test_file_sink_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    _reporter.start({"app_name": "shop"})
    _reporter.report(_events.track_event("t"))
    monkeypatch.chdir("/")  # the path was fixed at start
    assert _reporter.stop(10)
    event = json.loads((tmp_path / "sqreen-events.jsonl").read_text().splitlines()[0])
    assert event["name"] == "t" and event["app_name"] == "shop"


def test_full_queue_drops_the_oldest_and_counts_every_drop():
    sink = start_with_fake(queue_size=10)
    sink.release.clear()
    _reporter.report(_events.track_event("t", properties={"i": -1}))
    assert sink.entered.wait(10)  # the thread is now held inside the sink
    for i in range(25):
        assert _reporter.report(_events.track_event("t", properties={"i": i}))  # never blocks
    sink.release.set()
    assert _reporter.flush(10, metrics=True)
    assert [e["properties"]["i"] for e in sink.events("track")] == [-1] + list(range(15, 25))
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["dropped"] == 15
    assert metrics["counts"]["events"] == {"track": 11}


def test_drops_while_the_sink_fails_are_reported_once_it_works_again():
    sink = start_with_fake()
    sink.fail = True
    for _ in range(3):
        _reporter.report(_events.track_event("lost"))
    assert _reporter.flush(10, metrics=True)  # the metrics event fails too, its counts are kept
    assert sink.lines == []
    sink.fail = False
    _reporter.report(_events.track_event("kept"))
    assert _reporter.flush(10)  # no metrics asked: recovery alone emits it
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["dropped"] == 3
    assert metrics["counts"]["events"] == {"track": 4}
    assert [e["name"] for e in sink.events("track")] == ["kept"]


def test_metrics_counts_errors_overruns_and_agent_time():
    sink = start_with_fake()
    _log.log_once("instrumentation.callback_error:sqli", "boom")
    _log.log_once("instrumentation.callback_error:sqli", "boom")
    _log.log_once("importhook.x", "other")
    _reporter.add_budget_overrun()
    _reporter.add_budget_overrun(2)
    _reporter.add_agent_time(0.0025)
    assert _reporter.flush(10, metrics=True)
    (metrics,) = sink.events("metrics")
    counts = metrics["counts"]
    assert counts["errors"] == {"instrumentation.callback_error:sqli": 2, "importhook.x": 1}
    assert counts["callback_errors"] == 2 and counts["budget_overruns"] == 3
    assert metrics["agent_time_ms"] == 2.5
    # The next period starts from zero.
    _log.log_once("instrumentation.callback_error:sqli", "boom")
    assert _reporter.flush(10, metrics=True)
    assert sink.events("metrics")[1]["counts"]["errors"] == {"instrumentation.callback_error:sqli": 1}


def test_a_failing_hook_callback_is_counted_in_the_metrics():
    import types

    from sqreen.instrumentation import hook

    owner = types.ModuleType("app_module")
    owner.target = lambda x: x * 2

    def broken_pre(instance, args, kwargs):
        raise ValueError("bug in a protection")

    sink = start_with_fake()
    handle = hook((owner, "target"), pre=broken_pre)
    try:
        assert owner.target(21) == 42 and owner.target(1) == 2  # the app's call goes on
    finally:
        handle.remove()
    assert _reporter.flush(10, metrics=True)
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["callback_errors"] == 2


def test_skipped_interruptible_callbacks_count_as_budget_overruns():
    import types

    from sqreen.instrumentation import budget, hook

    owner = types.ModuleType("app_module")
    owner.target = lambda x: x

    def slow_pre(instance, args, kwargs):
        import time
        time.sleep(0.01)

    sink = start_with_fake()
    handle = hook((owner, "target"), pre=slow_pre, interruptible=True)
    budget.start(1)  # a request with a 1 ms budget
    try:
        for _ in range(3):
            owner.target(1)  # the first call spends the budget, the next two are skipped
    finally:
        budget.stop()
        handle.remove()
    assert _reporter.flush(10, metrics=True)
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["budget_overruns"] == 2


def test_no_metrics_event_when_nothing_happened():
    sink = start_with_fake()
    assert _reporter.flush(10, metrics=True)
    assert _reporter.stop(10)
    assert sink.lines == []


def test_metrics_event_is_periodic():
    sink = start_with_fake(metrics_interval=0.05)
    _reporter.report(_events.track_event("t"))
    deadline = time.time() + 20
    while not sink.events("metrics") and time.time() < deadline:
        time.sleep(0.01)
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["events"] == {"track": 1}
    time.sleep(0.3)  # several intervals in which nothing happens
    assert len(sink.events("metrics")) == 1


def test_unserialisable_events_are_logged_counted_and_survived():
    sink = start_with_fake()
    _reporter.report({"kind": "track", "obj": object(), "data": b"\xff", "set": {1}})
    _reporter.report({"kind": "track", "bad_keys": {(1, 2): "tuple keys cannot be JSON"}})
    _reporter.report(None)
    _reporter.report(_events.track_event("fine"))
    assert _reporter.flush(10, metrics=True)
    first, fine = sink.events("track")
    assert first["obj"].startswith("<object object") and first["set"] == [1]
    assert fine["name"] == "fine"
    counts = sink.events("metrics")[0]["counts"]
    assert counts["dropped"] == 2
    assert counts["errors"]["reporter.serialize"] == 2
    assert counts["errors"]["reporter.encode"] == 1
    assert counts["errors"]["reporter.not_a_dict"] == 1


def test_a_raising_sink_is_survived():
    sink = start_with_fake()

    def explode(lines, budget=None):
        raise RuntimeError("sink bug")

    sink.send = explode
    _reporter.report(_events.track_event("t"))
    assert _reporter.flush(10)
    assert _log.counters()["reporter.sink"] >= 1


def test_stop_is_bounded_when_the_sink_hangs():
    sink = start_with_fake()
    sink.release.clear()
    _reporter.report(_events.track_event("t"))
    assert sink.entered.wait(10)
    assert _reporter.stop(0.2) is False  # gave up waiting, did not hang
    assert _log.counters()["reporter.stop.timeout"] == 1
    sink.release.set()


def test_config_from_an_object_and_bad_values():
    class Config(object):
        queue_size = "bogus"
        metrics_interval = 5
        app_name = "obj"

    cfg = _reporter.read_config(Config())
    assert cfg["queue_size"] == _reporter.DEFAULTS["queue_size"]
    assert cfg["metrics_interval"] == 5.0 and cfg["app_name"] == "obj"
    assert cfg["flush_timeout"] == 2.0
    assert _log.counters()["reporter.config.queue_size"] == 1


def test_start_again_reconfigures():
    first = start_with_fake()
    _reporter.report(_events.track_event("one"))
    second = start_with_fake(app_name="again")
    _reporter.report(_events.track_event("two"))
    assert _reporter.flush(10)
    assert [e["name"] for e in first.events("track")] == ["one"] and first.closed
    assert [(e["name"], e["app_name"]) for e in second.events()] == [("two", "again")]


def test_report_never_raises():
    start_with_fake()
    _reporter._state.queue = None  # sabotage
    assert _reporter.report(_events.track_event("t")) is False
    assert _log.counters()["reporter.report"] == 1


def test_exit_flushes_what_is_queued(tmp_path):
    path = str(tmp_path / "e.jsonl")
    run_python(
        """
        import os
        from sqreen import _reporter, _events
        _reporter.start({"events_file": os.environ["EVENTS"]})
        for i in range(500):
            _reporter.report(_events.track_event("t", properties={"i": i}))
        """,
        env={"EVENTS": path},
    )
    with open(path) as f:
        events = [json.loads(line) for line in f]
    indices = [e["properties"]["i"] for e in events if e["kind"] == "track"]
    assert indices == list(range(500))


def test_start_is_lazy_and_loads_no_network_module():
    """gevent may monkey-patch after start: no thread, no socket until the first event."""
    _, out, _ = run_python(
        """
        import sys, threading
        from sqreen import _reporter, _events
        _reporter.start({"events_file": "/dev/null"})
        before = (threading.active_count(), "socket" in sys.modules)
        _reporter.report(_events.track_event("t"))
        _reporter.flush(10)
        print("%s %s %s" % (before + (threading.active_count(),)))
        """
    )
    assert out.strip() == "1 False 2"


def test_stop_reports_counted_errors_even_if_nothing_was_reported():
    sink = start_with_fake()
    _log.log_once("instrumentation.callback_error:x", "boom")
    assert _reporter._state.thread is None
    assert _reporter.stop(10)
    (metrics,) = sink.events("metrics")
    assert metrics["counts"]["errors"] == {"instrumentation.callback_error:x": 1}
    assert metrics["counts"]["callback_errors"] == 1


@pytest.mark.xfail(
    not hasattr(os, "register_at_fork"), strict=True,
    reason="without os.register_at_fork (2.7, 3.6) a child's error baseline is what its parent last "
    "reported: errors the parent counted since its last metrics event are reported by the child too",
)
def test_a_forked_child_does_not_report_its_parents_errors_again(tmp_path):
    path = str(tmp_path / "e.jsonl")
    run_python(
        """
        import os
        from sqreen import _reporter, _events, _log
        _reporter.start({"events_file": os.environ["EVENTS"]})
        _log.log_once("instrumentation.callback_error:parent", "boom")
        pid = os.fork()
        if pid == 0:
            _log.log_once("instrumentation.callback_error:child", "boom")
            _reporter.report(_events.track_event("child"))
            os._exit(0 if _reporter.stop(20) else 3)
        assert os.waitpid(pid, 0)[1] == 0
        """,
        env={"EVENTS": path},
    )
    with open(path) as f:
        metrics = [json.loads(line) for line in f if '"metrics"' in line]
    assert len(metrics) == 2
    child, parent = sorted(
        metrics, key=lambda m: "instrumentation.callback_error:child" not in m["counts"]["errors"]
    )
    assert child["counts"]["errors"] == {"instrumentation.callback_error:child": 1}
    assert parent["counts"]["errors"] == {"instrumentation.callback_error:parent": 1}


def test_stop_flushes_itself_when_the_thread_could_not_start(monkeypatch):
    sink = start_with_fake()

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert _reporter.report(_events.track_event("queued")) is False  # queued, but no thread
    assert _log.counters()["reporter.report"] == 1
    monkeypatch.undo()
    assert _reporter.stop(10)
    assert [e["name"] for e in sink.events("track")] == ["queued"]
