import logging
import os

import pytest

from sqreen import _log
from tests.helpers import run_python


@pytest.fixture(autouse=True)
def clean_counters():
    _log.reset()
    yield
    _log.reset()


def test_logs_the_first_time_and_counts_every_time(caplog):
    caplog.set_level(logging.WARNING, logger="sqreen")
    assert _log.log_once("k", "broken %s", "callback") is True
    assert _log.log_once("k", "broken %s", "callback") is False
    _log.count("k", 3)
    assert [r.getMessage() for r in caplog.records] == ["broken callback"]
    assert _log.counters() == {"k": 5}


def test_a_broken_logging_handler_does_not_raise():
    class Broken(logging.Handler):
        def emit(self, record):
            raise RuntimeError("handler bug")

        def handleError(self, record):
            raise RuntimeError("handler bug")

    handler = Broken()
    _log.logger.addHandler(handler)
    try:
        assert _log.log_once("k2", "message with a bad %d format", "not a number") is True
    finally:
        _log.logger.removeHandler(handler)
    assert _log.counters() == {"k2": 1}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_while_another_thread_holds_the_lock_does_not_deadlock_the_child():
    _, out, _ = run_python(
        """
        import os, sys, threading
        from sqreen import _log
        held, release = threading.Event(), threading.Event()

        def hold():
            with _log._lock:
                held.set()
                release.wait()

        t = threading.Thread(target=hold)
        t.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            _log.log_once("child", "from the child")
            os._exit(0 if _log.counters() == {"child": 1} else 3)
        release.set()
        t.join()
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(str(status))
        sys.stdout.flush()
        """,
        timeout=30,
    )
    assert out == "0"
