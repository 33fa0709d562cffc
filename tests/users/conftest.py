"""Fixtures of the user-monitoring tests: the in-process agent of ``tests.web``, the SDK state cleared."""
import pytest

from sqreen import _auth, _log, _request, _users
from tests.web.conftest import Agent, make_environ  # noqa: F401  (make_environ: for the tests)


@pytest.fixture(autouse=True)
def clean_users():
    """No blocked user, counter, current request nor logged error carried from one test to the next."""
    _reset()
    yield
    _reset()


def _reset():
    _users.unblock_all()
    _auth.use_guard(None, None)
    _log.reset()
    _request.deactivate()


@pytest.fixture
def agent(monkeypatch, tmpdir):
    return Agent(monkeypatch, str(tmpdir))
