"""The event pipeline: a bounded queue drained by one background thread.

API for the runtime::

    from sqreen import _reporter, _events

    _reporter.start(config)     # dict or object; keys below; start again to reconfigure
    _reporter.report(event)     # any dict, usually from sqreen._events; never blocks, never raises
    _reporter.flush(timeout)    # wait until what was reported so far is written (True if it was)
    _reporter.stop(timeout)     # flush (bounded by timeout) and stop; also runs at exit
    _reporter.add_budget_overrun(n=1) / _reporter.add_agent_time(seconds)   # for the metrics event

``report`` is a cheap no-op until ``start``. ``start`` only records the
config: the thread starts, and the sink opens, with the first event (so
that gevent can still monkey-patch after start-up); counters that grew
while nothing was reported are sent by ``stop``. Config keys (missing ones take
the default): ``events_file`` ("sqreen-events.jsonl" in the working
directory at start, "-" for stderr; used when ``url`` is empty), ``url``
(the user's HTTP backend), ``token`` (sent as ``X-Sqreen-Token``),
``app_name``, ``queue_size`` (10000), ``flush_timeout`` (2.0 s, the bound
on the flush at exit and on ``stop``), ``metrics_interval`` (60 s).
Optional: ``http_connect_timeout``, ``http_read_timeout``, ``http_max_retries``,
``http_batch_size``. The metrics event's ``callback_errors`` sums the
``sqreen._log`` counters whose key starts with ``CALLBACK_ERRORS`` (the
prefix the instrumentation's hook points count callback failures under).

Why this shape: the application thread only appends to a deque under a
lock held for that append (dropping the oldest event, and counting it,
when the queue is full); redaction, serialisation and I/O all happen on the
daemon thread. Events lost to overflow or to a failing sink are counted
and reported in a ``metrics`` event, which is retried until a sink takes
it. After a fork (``os.register_at_fork`` where it exists, and a pid check
on every call everywhere) the child gets a fresh queue, lock and thread,
never touching the parent's, which may have been held by the parent's
reporter thread at the moment of the fork.
"""
import atexit
import collections
import json
import os
import threading
import time

import six

from sqreen import _events, _log, _redact
from sqreen._sink_file import FileSink
from sqreen._sink_http import HttpSink

#: Prefix of the ``_log`` counters of failed callbacks (see
#: ``sqreen.instrumentation._hookpoint.ERROR_COUNTER``; not imported from
#: there, so that reporting never loads the instrumentation).
CALLBACK_ERRORS = "instrumentation.callback_error"
#: The ``_log`` counter of interruptible callbacks skipped once a request spent
#: its time budget (``sqreen.instrumentation._budget.SKIP_COUNTER``).
BUDGET_SKIPS = "instrumentation.budget_skip"

_monotonic = getattr(time, "monotonic", time.time)

DEFAULTS = {
    "events_file": "sqreen-events.jsonl",
    "url": None,
    "token": None,
    "app_name": None,
    "queue_size": 10000,
    "flush_timeout": 2.0,
    "metrics_interval": 60.0,
    "http_connect_timeout": 3.05,
    "http_read_timeout": 10.0,
    "http_max_retries": 3,
    "http_batch_size": 500,
}
_NUMBERS = {
    "queue_size": (int, 1),
    "flush_timeout": (float, 0.0),
    "metrics_interval": (float, 0.001),
    "http_connect_timeout": (float, 0.001),
    "http_read_timeout": (float, 0.001),
    "http_max_retries": (int, 0),
    "http_batch_size": (int, 1),
}

_state = None
_start_lock = threading.Lock()
_hooks_installed = []


class _State(object):
    """Everything one process's reporter owns; replaced wholesale after a fork."""

    def __init__(self, config):
        self.config = config
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.queue = collections.deque()
        self.maxsize = config["queue_size"]
        self.dropped = 0  # overflow drops not yet seen by the thread
        self.overruns = 0
        self.agent_time = 0.0
        self.waiters = []
        self.wake = threading.Event()
        self.interrupt = threading.Event()
        self.stopping = False
        self.deadline = None
        self.thread = None
        self.sink = None
        self.error_base = {}  # sqreen._log counters already reported (or the parent's)
        self.fork_base = None  # the counters at the last fork, taken in the parent


def read_config(config):
    """A complete config dict from a dict, an object with attributes, or None."""
    out = dict(DEFAULTS)
    for key in DEFAULTS:
        if isinstance(config, dict):
            value = config.get(key)
        else:
            value = getattr(config, key, None)
        if value is not None:
            out[key] = value
    for key, (kind, low) in _NUMBERS.items():
        try:
            out[key] = max(low, kind(out[key]))
        except (TypeError, ValueError):
            _log.log_once("reporter.config." + key, "sqreen: bad %s %r, using %r",
                          key, out[key], DEFAULTS[key])
            out[key] = DEFAULTS[key]
    path = out["events_file"] or DEFAULTS["events_file"]
    out["events_file"] = path if path == "-" else os.path.abspath(path)
    return out


def start(config=None):
    """Start (or restart with a new config) the reporter of this process."""
    global _state
    try:
        cfg = read_config(config)
        stop()
        with _start_lock:
            _install_hooks()
            _events.set_app_name(cfg["app_name"])
            _state = _State(cfg)
        return True
    except Exception:
        _log.log_once("reporter.start", "sqreen: cannot start the event reporter", exc_info=True)
        return False


def is_started():
    return _current() is not None


def report(event):
    """Queue ``event`` for the background thread; O(1), never blocks on I/O."""
    try:
        st = _state
        if st is None:
            return False
        if st.pid != os.getpid():
            st = _after_fork()
            if st is None:
                return False
        with st.lock:
            queue = st.queue
            if len(queue) >= st.maxsize:
                queue.popleft()
                st.dropped += 1
            queue.append(event)
        if st.thread is None:
            _ensure_thread(st)
        if not st.wake.is_set():
            st.wake.set()
        return True
    except Exception:
        _log.log_once("reporter.report", "sqreen: cannot queue an event", exc_info=True)
        return False


def add_budget_overrun(n=1):
    """Count ``n`` times a protection ran over its time budget."""
    st = _current()
    if st is not None:
        with st.lock:
            st.overruns += n
        if st.thread is None:
            _ensure_thread(st)


def add_agent_time(seconds):
    """Add ``seconds`` spent in agent code on the application's threads."""
    st = _current()
    if st is not None:
        with st.lock:
            st.agent_time += seconds
        if st.thread is None:
            _ensure_thread(st)


def flush(timeout=None, metrics=False):
    """Wait until all events reported before this call are handed to the sink.

    With ``metrics``, also emit the metrics event now if anything happened.
    Returns False on timeout or when not started.
    """
    st = _current()
    if st is None:
        return False
    done = threading.Event()
    with st.lock:
        st.waiters.append((done, metrics))
    _ensure_thread(st)
    st.wake.set()
    done.wait(st.config["flush_timeout"] if timeout is None else timeout)
    return done.is_set()


def stop(timeout=None):
    """Flush what is queued (waiting at most ``timeout`` seconds) and stop.

    Returns True when everything was handed to the sink in time.
    """
    global _state
    with _start_lock:
        st, _state = _state, None
    if st is None or st.pid != os.getpid():
        return True
    if timeout is None:
        timeout = st.config["flush_timeout"]
    st.deadline = _monotonic() + timeout
    with st.lock:
        st.stopping = True
    st.interrupt.set()
    st.wake.set()
    thread = st.thread
    if thread is None or thread.ident is None:
        # No thread ever ran (nothing reported, or it could not start): do
        # its last round here, so counters and queued events still go out.
        _run(st)
        return True
    if thread is threading.current_thread():
        return True
    thread.join(timeout)
    if thread.is_alive():
        _log.log_once("reporter.stop.timeout", "sqreen: events not flushed within %.1fs at stop", timeout)
        return False
    return True


def _current():
    st = _state
    if st is not None and st.pid != os.getpid():
        st = _after_fork()
    return st


def _after_fork():
    """In a forked child: replace the parent's state by a fresh one.

    Nothing of the old state is locked or joined: its lock may have been
    held by the parent's reporter thread, which does not exist here.
    """
    global _state
    old = _state
    if old is None or old.pid == os.getpid():
        return old
    fresh = _State(old.config)
    fresh.error_base = old.fork_base if old.fork_base is not None else dict(old.error_base)
    _state = fresh
    _start_lock_reset()
    if old.sink is not None:
        try:
            old.sink.abandon()
        except Exception:
            pass
    return fresh


def _start_lock_reset():
    global _start_lock
    _start_lock = threading.Lock()


def _install_hooks():
    if _hooks_installed:
        return
    _hooks_installed.append(True)
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork)


def _before_fork():
    st = _state
    if st is not None:
        try:
            st.fork_base = _log.counters()
        except Exception:
            pass


def _at_exit():
    try:
        stop()
    except Exception:
        pass


def _ensure_thread(st):
    with st.lock:
        if st.thread is not None:
            return
        thread = st.thread = threading.Thread(target=_run, args=(st,), name="sqreen-reporter")
        thread.daemon = True
    thread.start()


class _Budget(object):
    """What the sink may spend: interruptible sleeps, and a deadline once stopping."""

    def __init__(self, st):
        self._st = st

    def remaining(self):
        deadline = self._st.deadline
        return None if deadline is None else deadline - _monotonic()

    def sleep(self, seconds):
        if self._st.deadline is None:
            self._st.interrupt.wait(seconds)
        else:
            time.sleep(max(0.0, min(seconds, self.remaining())))


class _Stats(object):
    """Metrics accumulated on the reporter thread until a sink takes them."""

    def __init__(self):
        self.since = time.time()
        self.events = collections.Counter()
        self.dropped = 0
        self.errors = collections.Counter()
        self.overruns = 0
        self.agent_time = 0.0
        self.failing = False

    def happened(self):
        return bool(self.events or self.dropped or self.errors or self.overruns or self.agent_time)


def _run(st):
    try:
        _loop(st)
    except Exception:
        _log.log_once("reporter.thread", "sqreen: the event reporter thread died", exc_info=True)


def _loop(st):
    stats = _Stats()
    budget = _Budget(st)
    interval = st.config["metrics_interval"]
    next_metrics = _monotonic() + interval
    while True:
        st.wake.wait(max(0.0, min(interval, next_metrics - _monotonic())))
        st.wake.clear()
        with st.lock:
            batch, st.queue = st.queue, collections.deque()
            stats.dropped += st.dropped
            st.dropped = 0
            waiters, st.waiters = st.waiters, []
            stopping = st.stopping
        recovered = False
        if batch:
            recovered = _deliver(st, stats, batch, budget)
        now = _monotonic()
        want_metrics = stopping or now >= next_metrics or any(m for _, m in waiters)
        if want_metrics or (recovered and stats.dropped):
            _send_metrics(st, stats, budget)
            if now >= next_metrics:
                next_metrics = now + interval
        for done, _ in waiters:
            done.set()
        if stopping:
            if st.sink is not None:
                st.sink.close()
            return


def _sink(st):
    if st.sink is None:
        cfg = st.config
        if cfg["url"]:
            st.sink = HttpSink(
                cfg["url"], token=cfg["token"], connect_timeout=cfg["http_connect_timeout"],
                read_timeout=cfg["http_read_timeout"], max_retries=cfg["http_max_retries"],
                batch_size=cfg["http_batch_size"],
            )
        else:
            st.sink = FileSink(cfg["events_file"])
    return st.sink


def _deliver(st, stats, batch, budget):
    """Encode and send ``batch``; True when the sink works again after failing."""
    lines = []
    for event in batch:
        if not isinstance(event, dict):
            _log.log_once("reporter.not_a_dict", "sqreen: dropped an event that is not a dict: %r",
                          type(event))
            stats.dropped += 1
            continue
        stats.events[event.get("kind", "unknown")] += 1
        line = encode(event)
        if line is None:
            stats.dropped += 1
        else:
            lines.append(line)
    if not lines:
        return False
    return _send(st, stats, lines, budget)


def _send(st, stats, lines, budget):
    try:
        delivered = _sink(st).send(lines, budget)
    except Exception:
        _log.log_once("reporter.sink", "sqreen: the events sink failed", exc_info=True)
        delivered = 0
    stats.dropped += len(lines) - delivered
    if delivered < len(lines):
        stats.failing = True
        return False
    recovered, stats.failing = stats.failing, False
    return recovered


def encode(event):
    """``event`` (a dict) redacted and serialised as one JSON line (bytes), or None."""
    try:
        if event.get("kind") != "metrics":  # metrics hold only the agent's own numbers
            event = _redact.redact_fields(event, keep=_events.ENVELOPE_KEYS)
        try:
            text = json.dumps(event, separators=(",", ":"))
        except (TypeError, ValueError, UnicodeDecodeError):
            _log.log_once("reporter.serialize", "sqreen: event not JSON-serialisable, sending reprs",
                          exc_info=True)
            text = json.dumps(event, separators=(",", ":"), default=_jsonable)
        if not isinstance(text, bytes):
            text = text.encode("ascii")
        return text + b"\n"
    except Exception:
        _log.log_once("reporter.encode", "sqreen: cannot encode an event, dropped", exc_info=True)
        return None


def _jsonable(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return _redact.redact_text(repr(value)[:_events.MAX_VALUE_CHARS])


def _send_metrics(st, stats, budget):
    """Emit the metrics event if anything happened; keep the counts if it fails."""
    with st.lock:
        overruns, st.overruns = st.overruns, 0
        agent_time, st.agent_time = st.agent_time, 0.0
    stats.overruns += overruns
    stats.agent_time += agent_time
    current = _log.counters()
    for key, value in six.iteritems(current):
        base = st.error_base.get(key, 0)
        delta = value - base if value >= base else value
        if delta:
            stats.errors[key] += delta
    st.error_base = current
    if not stats.happened():
        return
    now = time.time()
    event = _events.metrics_event(
        stats.since, now, events=stats.events, dropped=stats.dropped, errors=stats.errors,
        callback_errors=sum(n for key, n in stats.errors.items() if key.startswith(CALLBACK_ERRORS)),
        budget_overruns=stats.overruns + stats.errors.get(BUDGET_SKIPS, 0),
        agent_time_ms=stats.agent_time * 1000.0,
        app_name=st.config["app_name"],
    )
    line = encode(event)
    if line is None:
        return
    try:
        ok = _sink(st).send([line], budget) == 1
    except Exception:
        _log.log_once("reporter.sink", "sqreen: the events sink failed", exc_info=True)
        ok = False
    if not ok:
        stats.failing = True
    else:
        fresh = _Stats()
        stats.__dict__.update(fresh.__dict__)
        stats.since = now
