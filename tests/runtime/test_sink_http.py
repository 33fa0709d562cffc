"""The HTTP sink against real servers started on 127.0.0.1 in the test."""
import gzip
import io
import json
import os
import socket
import ssl
import subprocess
import threading

import pytest
from six.moves import BaseHTTPServer, socketserver

from sqreen import _events, _log, _reporter
from sqreen._sink_http import TOKEN_HEADER, HttpSink, backoff_delay
from tests.helpers import run_python


class Backend(object):
    """A recording HTTP server; ``script`` says how to answer each request in turn.

    An answer is a status code, ("status", headers), "close" (hang up without
    answering) or "hold" (wait until ``release`` is set, then answer 200).
    """

    def __init__(self, script=(), tls_context=None):
        self.script = list(script)
        self.requests = []
        self.release = threading.Event()
        self.held = threading.Event()
        backend = self

        class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict((k.lower(), v) for k, v in self.headers.items())
                backend.requests.append({"path": self.path, "headers": headers, "body": body})
                answer = backend.script.pop(0) if backend.script else 200
                if answer == "close":
                    self.close_connection = True
                    return
                if answer == "hold":
                    backend.held.set()
                    backend.release.wait(30)
                    answer = 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, BaseHTTPServer.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls_context is not None else "http"
        self.url = "%s://127.0.0.1:%d/ingest" % (scheme, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02})
        self.thread.daemon = True
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self, i=0):
        request = self.requests[i]
        assert request["headers"].get("content-encoding") == "gzip"
        raw = gzip.GzipFile(fileobj=io.BytesIO(request["body"])).read()
        return json.loads(raw.decode("utf-8"))["events"]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    _log.reset()
    yield
    _reporter.stop(5)
    _log.reset()


@pytest.fixture
def backend():
    servers = []

    def make(script=(), **kwargs):
        server = Backend(script, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


class Budget(object):
    """Records the backoff sleeps instead of sleeping."""

    def __init__(self):
        self.sleeps = []

    def remaining(self):
        return None

    def sleep(self, seconds):
        self.sleeps.append(seconds)


def lines(n, start=0):
    return [('{"kind":"track","i":%d}\n' % i).encode("ascii") for i in range(start, start + n)]


def test_batches_are_gzipped_json_with_the_token(backend):
    server = backend()
    sink = HttpSink(server.url, token="s3cr3t", batch_size=2)
    assert sink.send(lines(5)) == 5
    assert len(server.requests) == 3
    assert [e["i"] for i in range(3) for e in server.events(i)] == list(range(5))
    headers = server.requests[0]["headers"]
    assert headers[TOKEN_HEADER.lower()] == "s3cr3t"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("sqreen-python/")
    assert server.requests[0]["path"] == "/ingest"
    assert sink.session.verify is True and sink.session.trust_env is True


def test_5xx_429_and_hangups_are_retried_with_jittered_backoff(backend):
    server = backend([500, 503, (429, {"Retry-After": "0"}), "close", 200])
    budget = Budget()
    sink = HttpSink(server.url, max_retries=5, backoff_base=0.5, backoff_cap=30)
    assert sink.send(lines(1), budget) == 1
    assert len(server.requests) == 5
    assert len(budget.sleeps) == 4
    for attempt, delay in enumerate(budget.sleeps):
        assert 0 <= delay <= min(30, 0.5 * 2 ** attempt)
    assert _log.counters()["reporter.http.retry"] == 3


def test_retries_are_bounded(backend):
    server = backend([500] * 10)
    sink = HttpSink(server.url, max_retries=2)
    assert sink.send(lines(3), Budget()) == 0
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 301])
def test_other_answers_are_final(backend, status):
    server = backend([status])
    sink = HttpSink(server.url, max_retries=5)
    assert sink.send(lines(1), Budget()) == 0
    assert len(server.requests) == 1
    assert _log.counters()["reporter.http.rejected"] == 1


def test_a_failed_batch_stops_the_send(backend):
    server = backend([200, 400])
    sink = HttpSink(server.url, batch_size=2)
    assert sink.send(lines(6), Budget()) == 2
    assert len(server.requests) == 2


def test_closed_port_is_retried_then_given_up():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    budget = Budget()
    sink = HttpSink("http://127.0.0.1:%d/ingest" % port, max_retries=2)
    assert sink.send(lines(1), budget) == 0
    assert len(budget.sleeps) == 2
    assert _log.counters()["reporter.http.unreachable"] == 3


def test_slow_backend_times_out_and_is_retried(backend):
    server = backend(["hold", 200])
    budget = Budget()
    sink = HttpSink(server.url, read_timeout=0.2, max_retries=1)
    assert sink.send(lines(1), budget) == 1
    assert len(server.requests) == 2 and len(budget.sleeps) == 1
    assert _log.counters()["reporter.http.unreachable"] == 1


def test_the_budget_deadline_ends_retries(backend):
    server = backend([500] * 10)

    class Spent(Budget):
        def remaining(self):
            return 0.0

    assert HttpSink(server.url, max_retries=5).send(lines(1), Spent()) == 0
    assert server.requests == []


def test_backoff_is_full_jitter_under_a_capped_exponential():
    assert backoff_delay(0, 0.5, 30, rand=lambda: 0.0) == 0.0
    assert [backoff_delay(a, 0.5, 30, rand=lambda: 1.0) for a in range(8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_proxies_from_the_environment_are_honoured(backend, monkeypatch):
    proxy = backend()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    sink = HttpSink("http://events.backend.invalid/ingest")
    assert sink.send(lines(2), Budget()) == 2
    assert proxy.requests[0]["path"] == "http://events.backend.invalid/ingest"
    assert [e["i"] for e in proxy.events()] == [0, 1]


@pytest.fixture
def self_signed(tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.check_call(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", cert],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    context = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
    context.load_cert_chain(cert, key)
    return context


def test_tls_certificates_are_verified(backend, self_signed, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server = backend(tls_context=self_signed)
    assert HttpSink(server.url, max_retries=3).send(lines(1), Budget()) == 0
    assert _log.counters()["reporter.http.tls"] == 1  # not retried


def test_reporter_posts_to_the_backend(backend):
    server = backend()
    _reporter.start({"url": server.url, "token": "t", "app_name": "shop", "flush_timeout": 10})
    _reporter.report(_events.auth_event(True, user={"email": "a@b.c", "password": "pw"}))
    assert _reporter.flush(10)
    (event,) = server.events()
    assert event["app_name"] == "shop" and event["user"]["password"] == "[REDACTED]"


def test_a_hung_backend_never_blocks_the_app(backend):
    server = backend(["hold"])
    _reporter.start({"url": server.url, "queue_size": 50, "http_read_timeout": 60})
    _reporter.report(_events.track_event("first"))
    assert server.held.wait(10)  # the reporter thread is stuck in the POST
    for i in range(5000):
        assert _reporter.report(_events.track_event("t", properties={"i": i}))
    assert _reporter.stop(0.3) is False  # bounded, even though the backend never answered
    server.release.set()


def test_importing_the_reporter_does_not_import_requests():
    _, out, _ = run_python(
        """
        import sys
        from sqreen import _reporter
        _reporter.start({"events_file": "/dev/null"})
        print("requests" in sys.modules)
        """
    )
    assert out.strip() == "False"


def test_the_child_of_a_fork_uses_its_own_connections(backend):
    server = backend()
    _, out, _ = run_python(
        """
        import os
        from sqreen import _reporter, _events
        _reporter.start({"url": os.environ["URL"], "flush_timeout": 20})
        _reporter.report(_events.track_event("parent"))
        assert _reporter.flush(20)
        parent_session = _reporter._state.sink.session
        pid = os.fork()
        if pid == 0:
            _reporter.report(_events.track_event("child"))
            ok = _reporter.flush(20) and _reporter._state.sink.session is not parent_session
            os._exit(0 if ok else 3)
        print(os.waitpid(pid, 0)[1])
        """,
        env={"URL": server.url, "NO_PROXY": "127.0.0.1"},
    )
    assert out.strip() == "0"
    events = [e for i in range(len(server.requests)) for e in server.events(i)]
    assert sorted(e["name"] for e in events if e["kind"] == "track") == ["child", "parent"]


def test_env_is_loopback_only():
    assert os.environ["NO_PROXY"].startswith("127.0.0.1")


def test_exit_is_bounded_when_the_backend_hangs(backend, tmp_path):
    server = backend(["hold"])
    in_flight = str(tmp_path / "in-flight")

    def signal():
        if server.held.wait(30):
            open(in_flight, "w").close()

    threading.Thread(target=signal).start()
    _, out, _ = run_python(
        """
        import os, time
        from sqreen import _reporter, _events
        _reporter.start({"url": os.environ["URL"], "flush_timeout": 0.5, "http_read_timeout": 60})
        _reporter.report(_events.track_event("t"))
        for _ in range(2000):  # until the POST hangs in the server
            if os.path.exists(os.environ["IN_FLIGHT"]):
                break
            time.sleep(0.01)
        print(os.path.exists(os.environ["IN_FLIGHT"]))
        """,
        env={"URL": server.url, "NO_PROXY": "127.0.0.1", "IN_FLIGHT": in_flight},
        timeout=60,  # a watchdog: the child must exit by itself, long before this
    )
    assert out.strip() == "True"
