"""The agent's logger, and the "log once, count always" rule for its own errors.

An error inside the agent must never reach the host application: it is
caught where it happens, logged the first time it happens for a given key
(so a broken callback on a hot path does not flood the app's logs), and
counted every time so that metrics can report it.
"""
import logging
import os
import threading

logger = logging.getLogger("sqreen")

_lock = threading.Lock()
_seen = set()
_counts = {}
_pid = os.getpid()


def _after_fork():
    """Give a forked child its own lock: another thread may have held ours."""
    global _lock, _pid
    _lock = threading.Lock()
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _checked_lock():
    """The lock, replaced first if this process was forked (Python < 3.7)."""
    if _pid != os.getpid():
        _after_fork()
    return _lock


def count(key, n=1):
    """Add ``n`` to the error counter ``key`` (thread-safe)."""
    with _checked_lock():
        _counts[key] = _counts.get(key, 0) + n


def log_once(key, message, *args, **kwargs):
    """Count ``key``; log ``message`` at warning level only the first time.

    ``exc_info=True`` attaches the exception being handled. Never raises.
    Returns True when the message was logged.
    """
    level = kwargs.pop("level", logging.WARNING)
    exc_info = kwargs.pop("exc_info", False)
    with _checked_lock():
        _counts[key] = _counts.get(key, 0) + 1
        first = key not in _seen
        if first:
            _seen.add(key)
    if first:
        try:
            logger.log(level, message, *args, exc_info=exc_info)
        except Exception:  # a broken logging handler must not break the app
            pass
    return first


def counters():
    """A snapshot of the error counters."""
    with _checked_lock():
        return dict(_counts)


def reset():
    """Forget what was logged and counted (for tests and after fork)."""
    with _checked_lock():
        _seen.clear()
        _counts.clear()
