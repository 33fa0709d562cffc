"""The middleware under real WSGI servers on loopback: wsgiref, waitress, gunicorn (sync and gthread).

Each server runs ``tests/web/_server_app.py`` in its own process with the
agent started (block mode, an IP blocklist and allowlist), on a free
127.0.0.1 port; the tests talk HTTP to it and read its events file.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

import pytest
from six.moves import http_client

from sqreen._demo import stop_process
from tests.helpers import ROOT, require_service

SERVERS = ["wsgiref", "waitress", "gunicorn-sync", "gunicorn-gthread"]
CONCURRENT = ["wsgiref", "waitress", "gunicorn-gthread"]


def free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def command(kind, port):
    if kind.startswith("gunicorn"):
        worker = kind.split("-")[1]
        # gunicorn's entry point, as a -c script: 19.10 (Python 2.7) has no ``python -m gunicorn``
        return [sys.executable, "-c", "import sys; from gunicorn.app.wsgiapp import run; sys.exit(run())",
                "-w", "1", "-k", worker, "--threads", "8",
                "-b", "127.0.0.1:%d" % port, "--log-level", "warning", "tests.web._server_app:application"]
    return [sys.executable, "-m", "tests.web._server_app", kind, str(port)]


class Server(object):
    """A server process on 127.0.0.1; ``request()`` talks to it."""

    def __init__(self, kind, tmpdir):
        self.kind = kind
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("SQREEN_"):
                del env[name]
        env.update(SQREEN_FORCE_START="1", SQREEN_EVENTS_FILE=self.events_file, SQREEN_MODE="block",
                   SQREEN_IP_BLOCKLIST="203.0.113.0/24", SQREEN_IP_ALLOWLIST="198.51.100.7",
                   PYTHONPATH=ROOT)
        self.port = free_port()
        self.proc = subprocess.Popen(command(kind, self.port), cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, attempts=300):
        for _ in range(attempts):  # bounded: 300 tries, 0.1 s apart
            if self.proc.poll() is not None:
                break
            try:
                if self.request("GET", "/ready", timeout=2)[0] == 200:
                    return
            except (socket.error, http_client.HTTPException):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("%s did not start:\n%s" % (self.kind, self.output()))

    def output(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        stop_process(self.proc)
        self.log.close()

    def connection(self, timeout=30):
        return http_client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """``(status, headers dict with lower-case names, body)``."""
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, dict((k.lower(), v) for k, v in response.getheaders()), data
        finally:
            conn.close()

    def json(self, method, path, **kwargs):
        status, headers, body = self.request(method, path, **kwargs)
        assert status == 200, (status, body, self.output())
        return json.loads(body.decode("utf-8"))

    def state(self):
        return self.json("GET", "/state")

    def after(self, path):
        """The closing records of ``path``, waiting (bounded) until there is one."""
        for _ in range(300):
            records = [record for record in self.state()["after"] if record[0] == path]
            if records:
                return records
            time.sleep(0.1)
        raise AssertionError("no record of %s closing:\n%s" % (path, self.output()))

    def events(self, request_id):
        """The events of the request sent with ``X-Request-Id: request_id`` (flushed by /state)."""
        self.state()
        with open(self.events_file) as f:
            events = [json.loads(line) for line in f if line.strip()]
        return [e for e in events if (e.get("request") or {}).get("request_id") == request_id]


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmpdir_factory):
    kind = request.param
    module = kind.split("-")[0]
    try:
        __import__(module)
    except ImportError:
        require_service("%s is not installed in this environment" % module)
    srv = Server(kind, str(tmpdir_factory.mktemp(kind)))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_query_and_request_fields(server):
    data = server.json("GET", "/ctx?id=1%20OR%201%3D1&name=caf%C3%A9", headers={"Host": "example.test"})
    assert data["method"] == "GET" and data["path"] == "/ctx" and data["scheme"] == "http"
    assert data["host"] == "example.test" and data["client_ip"] == "127.0.0.1"
    assert data["query"] == {"id": ["1 OR 1=1"], "name": [u"caf\xe9"]}
    assert ["query", "id", "1 OR 1=1"] in data["inputs"]


def test_client_ip_from_the_proxy_headers(server):
    data = server.json("GET", "/ctx", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.20, 10.0.0.1"})
    assert data["client_ip"] == "198.51.100.20"


@pytest.mark.parametrize("agent_first", [True, False])
def test_json_body(server, agent_first):
    body = json.dumps({"user": {"name": "bob", "tags": ["x", "' OR 1=1"]}}).encode()
    data = server.json("POST", "/ctx" + ("?agent_first" if agent_first else ""), body=body,
                       headers={"Content-Type": "application/json"})
    assert data["json"] == {"user": {"name": "bob", "tags": ["x", "' OR 1=1"]}}
    assert ["json", "user.tags.1", "' OR 1=1"] in data["inputs"]
    assert data["app_body_sha"] == hashlib.sha256(body).hexdigest()  # the app read exactly the same bytes


@pytest.mark.parametrize("agent_first", [True, False])
def test_urlencoded_form(server, agent_first):
    body = b"user=admin&pass=x%27+OR+%271%27%3D%271&note=caf%C3%A9"
    data = server.json("POST", "/ctx?agent_first" if agent_first else "/ctx", body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert data["form"] == {"user": ["admin"], "pass": ["x' OR '1'='1"], "note": [u"caf\xe9"]}
    assert data["app_body_sha"] == hashlib.sha256(body).hexdigest()


def test_multipart_form(server):
    from tests.web.test_request import MULTIPART

    data = server.json("POST", "/ctx?agent_first", body=MULTIPART,
                       headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert data["form"] == {"title": [u"caf\xe9 ' OR 1=1"]}
    assert data["files"] == {"upload": ["../../etc/passwd"], "doc": [u"r\xe9sum\xe9.pdf"]}
    assert ["filename", "upload", "../../etc/passwd"] in data["inputs"]
    assert data["app_body_sha"] == hashlib.sha256(MULTIPART).hexdigest()


def test_chunked_body_reaches_the_app_whole(server):
    if server.kind == "wsgiref":
        pytest.skip("not applicable: wsgiref has no support for chunked request bodies")
    body = b'{"a": "chunked"}'
    raw = (b"POST /ctx?agent_first HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"5\r\n" + body[:5] + b"\r\n"
           + ("%x" % (len(body) - 5)).encode() + b"\r\n" + body[5:] + b"\r\n0\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(raw)
        response = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    finally:
        sock.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response
    if b"chunked" in head.lower():
        payload = _dechunk(payload)
    data = json.loads(payload.decode())
    assert data["app_body_sha"] == hashlib.sha256(body).hexdigest()
    # Servers that buffer the body give it a length (the agent may read it then); others do not.
    assert data["json"] == ({"a": "chunked"} if data["agent_body_read"] else None)


def _dechunk(payload):
    out = b""
    while payload:
        size, _, payload = payload.partition(b"\r\n")
        size = int(size, 16)
        if not size:
            break
        out += payload[:size]
        payload = payload[size + 2:]
    return out


def test_streamed_response_sees_its_request_until_the_end(server):
    status, _, body = server.request("GET", "/stream?n=4")
    assert status == 200
    assert body.decode().splitlines() == ["0 /stream", "1 /stream", "2 /stream", "3 /stream"]
    assert server.after("/stream") == [["/stream", False]]


def test_exception_in_the_app_clears_the_request(server):
    status = server.request("GET", "/error")[0]
    assert status == 500
    assert server.after("/error") == [["/error", False]]


def test_exception_mid_stream_clears_the_request(server):
    try:
        server.request("GET", "/error-stream")
    except (socket.error, http_client.HTTPException):
        pass  # some servers cut the connection, others end the chunked body
    assert server.after("/error-stream") == [["/error-stream", False]]


def test_client_disconnecting_mid_stream_clears_the_request(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(b"GET /stream-big HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    finally:
        sock.close()
    assert server.after("/stream-big") == [["/stream-big", False]]


@pytest.mark.parametrize("accept, content_type", [
    ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8"),
    ("application/json", "application/json"),
])
def test_block_inside_the_app_gives_a_403_with_the_event_id(server, accept, content_type):
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/block?q=attack",
                                           headers={"Accept": accept, "X-Request-Id": request_id})
    assert status == 403
    assert headers["content-type"] == content_type and "x-app" not in headers
    assert b"not blocked" not in body and b"sqli" not in body
    (event,) = server.events(request_id)  # exactly one: the protection's
    assert event["kind"] == "attack" and event["blocked"] is True
    assert event["event_id"].encode() in body
    if content_type == "application/json":
        assert json.loads(body.decode())["event_id"] == event["event_id"]
    assert server.state()["swallowed"] == []
    assert ["/block", False] in server.after("/block")


def test_block_after_the_response_started_cuts_it(server):
    conn = server.connection()
    try:
        conn.request("GET", "/block-late")
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises((http_client.IncompleteRead, socket.error)):
            response.read()
    finally:
        conn.close()
    assert server.after("/block-late") == [["/block-late", False]]


def test_blocklisted_ip_gets_a_403_before_the_app(server):
    request_id = uuid.uuid4().hex
    status, _, body = server.request("GET", "/ctx", headers={"X-Forwarded-For": "203.0.113.66",
                                                             "X-Request-Id": request_id})
    assert status == 403
    (event,) = server.events(request_id)
    assert event["rule"] == "ip_blocklist" and event["request"]["client_ip"] == "203.0.113.66"
    assert event["event_id"].encode() in body


def test_allowlisted_ip_is_not_blocked(server):
    status, _, body = server.request("GET", "/block", headers={"X-Forwarded-For": "198.51.100.7"})
    assert status == 200 and body == b"not blocked: attack"


def test_concurrent_requests_see_their_own_request(server):
    if server.kind not in CONCURRENT:
        pytest.skip("not applicable: gunicorn's sync worker serves one request at a time")
    n = 4
    results = {}

    def fetch(index):
        results[index] = server.json("GET", "/slow?id=%d&n=%d" % (index, n))

    threads = [threading.Thread(target=fetch, args=(index,)) for index in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == list(range(n))
    for index, data in results.items():
        assert data == {"id": str(index), "same": True, "all_arrived": True}
