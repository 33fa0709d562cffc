"""Fixtures of the WSGI layer's tests: a running agent faked in-process, a WSGI call driven like a server."""
import io
import sys
import wsgiref.util

import pytest

from sqreen import _config, _log, _reporter, _request, _runtime
from sqreen.instrumentation import _budget


class Agent(object):
    """The agent as the middleware sees it: running, with a configuration, its events collected."""

    def __init__(self, monkeypatch, cwd):
        self.events = []
        self.cwd = cwd
        self.config = None
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(_reporter, "report", self.events.append)
        self.configure()

    def configure(self, **settings):
        """Run with these settings (``mode="block"``, ``ip_blocklist="10.0.0.0/8"``...)."""
        env = dict(("SQREEN_" + key.upper(), value) for key, value in settings.items())
        self.config = _config.load(env, cwd=self.cwd)
        assert not self.config.errors, self.config.errors
        self._monkeypatch.setitem(_runtime._state, "status", _runtime.RUNNING)
        self._monkeypatch.setitem(_runtime._state, "config", self.config)
        return self.config

    def attacks(self):
        return [event for event in self.events if event["kind"] == "attack"]


@pytest.fixture(autouse=True)
def clean_state():
    """No request, no budget and no error counted before or after a test."""
    _log.reset()
    _request.deactivate()
    _budget.stop()
    yield
    _request.deactivate()
    _budget.stop()


@pytest.fixture
def agent(monkeypatch, tmpdir):
    return Agent(monkeypatch, str(tmpdir))


def make_environ(path="/", method="GET", query="", body=None, headers=None, remote_addr="127.0.0.1",
                 content_type=None, length=True):
    """A WSGI environ as a server builds it (``headers`` by their HTTP names)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "REMOTE_ADDR": remote_addr}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(body or b"")
    if body is not None and length:
        environ["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


class Served(object):
    """What a server saw of one call: every start_response call, the body, the exception if any."""

    def __init__(self):
        self.starts = []
        self.chunks = []
        self.error = None
        self.headers_sent = False

    @property
    def status(self):
        return self.starts[-1][0]

    @property
    def headers(self):
        return dict(self.starts[-1][1])

    @property
    def body(self):
        return b"".join(self.chunks)

    def start_response(self, status, headers, exc_info=None):
        if self.starts and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        if exc_info is not None and self.headers_sent:
            six_reraise(exc_info)
        self.starts.append((status, list(headers), exc_info is not None))
        return self.write

    def write(self, data):
        self.headers_sent = True
        self.chunks.append(data)


def six_reraise(exc_info):
    import six

    six.reraise(*exc_info)


def serve(app, environ, stop_after=None):
    """Call ``app`` as a server does (iterate, then close), reading at most ``stop_after`` chunks."""
    served = Served()
    result = None
    try:
        result = app(environ, served.start_response)
        for index, chunk in enumerate(result):
            if chunk:
                served.headers_sent = True
            served.chunks.append(chunk)
            if stop_after is not None and index + 1 >= stop_after:
                break
    except Exception:
        served.error = sys.exc_info()[1]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return served


def in_request(agent, func, query="", mode="monitor", body=None):
    """Serve one request through the middleware in ``mode``; ``func(request)`` is the app.

    ``query`` is the query string; a JSON-serialisable ``body`` makes it a POST
    of that JSON. Returns (served, [what func returned]).
    """
    import json

    from sqreen import wsgi

    agent.configure(mode=mode)
    results = []

    def app(environ, start_response):
        results.append(func(wsgi.current_request()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    data = json.dumps(body).encode("utf-8") if body is not None else None
    environ = make_environ("/", method="POST" if data else "GET", query=query, body=data,
                           content_type="application/json" if data else None)
    return serve(wsgi.middleware(app), environ), results
