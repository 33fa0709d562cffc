"""Fixtures of the call-wrapping core's tests: the mechanism under test, clean counters."""
import importlib
import sys

import pytest

from sqreen import _log
from sqreen.instrumentation import _budget

MECHANISMS = ["inject", "wrapper"]

# async syntax: this module does not compile on 2.7, where inject does not
# apply (test_inject.py shows those tests as skipped there).
collect_ignore = ["test_inject_async.py"] if sys.version_info[0] == 2 else []


def _wrappers_missing():
    try:
        importlib.import_module("sqreen.instrumentation._wrappers")
    except ImportError:
        return True
    return False


@pytest.fixture(params=MECHANISMS)
def mechanism(request):
    """Each behavioural test runs once per call-wrapping mechanism."""
    if request.param == "inject" and sys.version_info < (3, 6):
        pytest.skip("inject: not applicable on Python 2.7 (the wrapper mechanism covers it)")
    if request.param == "wrapper" and _wrappers_missing():
        pytest.skip("wrapper: sqreen/instrumentation/_wrappers.py does not exist yet")
    return request.param


@pytest.fixture(autouse=True)
def clean_agent_state():
    """Every test starts with no error counted, no budget open, no flag set."""
    from sqreen.instrumentation._hookpoint import thread_state

    _log.reset()
    _budget.stop()
    thread_state().busy = False
    yield
    _budget.stop()
    thread_state().busy = False
