"""Django under real WSGI servers on loopback, the agent started by the project's ``wsgi.py``.

The project (``tests/frameworks/django_app``) serves Django's own
``get_wsgi_application()`` under gunicorn (sync worker, also launched by
``sqreen-start``) and wsgiref, with the agent in block mode, an IP blocklist and allowlist, and a hook that
blocks ``sensitive("attack")``; on Django 1.11 it also runs with old-style
``MIDDLEWARE_CLASSES``. The tests talk HTTP to it and read its events file.
"""
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from six.moves import http_client

from tests.helpers import ROOT, require_service
from tests.runtime.test_bootstrap import LAUNCHER
from tests.web.test_servers import Server, free_port

django = pytest.importorskip("django")

KINDS = ["wsgiref", "gunicorn-sync", "sqreen-start-gunicorn-sync"]
if django.VERSION < (2, 0):
    KINDS.append("wsgiref-legacy")  # MIDDLEWARE_CLASSES (old-style middleware) exists up to Django 1.11
MODERN_ROUTES = django.VERSION >= (2, 2)  # ResolverMatch.route


def command(kind, port):
    if kind.startswith("sqreen-start-"):
        return [sys.executable, "-c", LAUNCHER] + command(kind[len("sqreen-start-"):], port)
    if kind.startswith("gunicorn"):
        return [sys.executable, "-c", "import sys; from gunicorn.app.wsgiapp import run; sys.exit(run())",
                "-w", "1", "-k", "sync", "-b", "127.0.0.1:%d" % port, "--log-level", "warning",
                "tests.frameworks.django_app.wsgi:application"]
    return [sys.executable, "-m", "tests.frameworks.django_app.wsgi", str(port)]


class DjangoServer(Server):
    """The Django test project in a server process (``Server``'s client side, tests/web)."""

    def __init__(self, kind, tmpdir):  # not Server.__init__, which starts the generic app
        self.kind = kind
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "DJANGO_")))
        env.update(SQREEN_FORCE_START="1", SQREEN_EVENTS_FILE=self.events_file, SQREEN_MODE="block",
                   SQREEN_IP_BLOCKLIST="203.0.113.0/24", SQREEN_IP_ALLOWLIST="198.51.100.7",
                   DJANGO_SETTINGS_MODULE="tests.frameworks.django_app.settings",
                   DJANGO_APP_DB=os.path.join(tmpdir, "db.sqlite3"),
                   DJANGO_APP_LEGACY="1" if kind.endswith("-legacy") else "0", PYTHONPATH=ROOT)
        self.port = free_port()
        self.proc = subprocess.Popen(command(kind, self.port), cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def seen(self, request_id):
        """What the project's first middleware saw of that request: ``[[agent current, route]]``."""
        return [entry[1:] for entry in self.state()["seen"] if entry[0] == request_id]


@pytest.fixture(scope="module", params=KINDS)
def server(request, tmpdir_factory):
    kind = request.param
    if "gunicorn" in kind:
        try:
            __import__("gunicorn")
        except ImportError:
            require_service("gunicorn is not installed in this environment")
    srv = DjangoServer(kind, str(tmpdir_factory.mktemp(kind)))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_how_the_agent_was_started(server):
    state = server.state()
    assert state["startup"] == {"agent_before_app": server.kind.startswith("sqreen-start-")}
    assert state["legacy_middleware"] is server.kind.endswith("-legacy")


def test_the_agent_runs_before_the_projects_first_middleware(server):
    request_id = uuid.uuid4().hex
    data = server.json("GET", "/ctx", headers={"X-Request-Id": request_id})
    assert data["same_environ"] is True  # the request the generic middleware built, not another
    expected_route = "^ctx$" if MODERN_ROUTES else "ctx"
    # The request was current when the project's middleware ran, and the route already set
    # when its process_view ran: the agent's process_view comes first.
    assert server.seen(request_id) == [[True, expected_route]]
    assert data["route"] == expected_route


def test_route_and_named_path_params_reach_the_inputs(server):
    data = server.json("GET", "/items/12/bob/?x=1")
    if MODERN_ROUTES:
        assert data["route"] == "items/<int:item_id>/<slug:name>/"
        assert data["path_params"] == {"item_id": 12, "name": "bob"}  # as the converters give them
        assert ["path", "item_id", 12] in data["inputs"]
    else:
        assert data["route"] == "item"  # Django 1.11 has no route: the pattern's name
        assert data["path_params"] == {"item_id": "12", "name": "bob"}
        assert ["path", "item_id", "12"] in data["inputs"]
    assert ["path", "name", "bob"] in data["inputs"] and ["query", "x", "1"] in data["inputs"]


def test_positional_path_params_are_named_by_index(server):
    data = server.json("GET", "/files/42/")
    assert data["route"] == (r"^files/(\d+)/$" if MODERN_ROUTES else "file")
    assert data["path_params"] == {"0": "42"}
    assert ["path", "0", "42"] in data["inputs"]


@pytest.mark.parametrize("as_json", [False, True])
def test_block_inside_a_view_gives_the_403_page(server, as_json):
    accept = "application/json" if as_json else "text/html,application/xhtml+xml,*/*;q=0.8"
    content_type = "application/json" if as_json else "text/html; charset=utf-8"
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/block?q=attack",
                                           headers={"Accept": accept, "X-Request-Id": request_id})
    assert status == 403, (body, server.output())
    assert headers["content-type"] == content_type and headers["cache-control"] == "no-store"
    # Nothing of the view's response nor of the project's middleware: the agent is outermost.
    assert "x-app" not in headers and "x-project" not in headers and "set-cookie" not in headers
    assert b"not blocked" not in body
    (event,) = server.events(request_id)  # exactly one: the protection's
    assert event["kind"] == "attack" and event["blocked"] is True
    assert event["event_id"].encode() in body
    if as_json:
        assert json.loads(body.decode())["event_id"] == event["event_id"]
    assert server.state()["swallowed"] == []  # the view's `except Exception` never saw it
    assert ["/block", False] in server.after("/block")


def test_a_request_not_blocked_gets_the_views_response(server):
    status, headers, body = server.request("GET", "/block?q=fine")
    assert status == 200 and body == b"not blocked: fine"
    assert headers["x-app"] == "1" and headers["x-project"] == "1"


def test_a_blocked_view_rolls_its_atomic_request_back(server):
    kept, dropped = uuid.uuid4().hex, uuid.uuid4().hex
    assert server.request("GET", "/write-then-block?text=%s&q=attack" % dropped)[0] == 403
    assert server.request("GET", "/write-then-block?text=%s&q=fine" % kept)[0] == 200
    notes = server.json("GET", "/notes")["notes"]
    assert kept in notes and dropped not in notes


def test_blocklisted_ip_gets_a_403_before_django(server):
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/ctx", headers={"X-Forwarded-For": "203.0.113.66",
                                                                   "X-Request-Id": request_id})
    assert status == 403 and "x-project" not in headers
    (event,) = server.events(request_id)
    assert event["rule"] == "ip_blocklist" and event["request"]["client_ip"] == "203.0.113.66"
    assert event["event_id"].encode() in body
    assert server.seen(request_id) == []  # no middleware of the project ran


def test_allowlisted_ip_is_not_blocked(server):
    status, _, body = server.request("GET", "/block?q=attack", headers={"X-Forwarded-For": "198.51.100.7"})
    assert status == 200 and body == b"not blocked: attack"


def test_the_request_is_forgotten_after_each_response(server):
    server.json("GET", "/ctx?forget")
    assert server.after("/ctx") and all(still is False for _, still in server.after("/ctx"))


def test_streaming_response_keeps_its_request_until_the_end(server):
    status, _, body = server.request("GET", "/stream?n=4")
    assert status == 200
    route = "^stream$" if MODERN_ROUTES else "stream"
    assert body.decode().splitlines() == ["%d %s" % (n, route) for n in range(4)]
    assert all(still is False for _, still in server.after("/stream"))


def test_block_before_the_first_streamed_chunk_gives_the_403_page(server):
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/stream?n=3&block_at=0",
                                           headers={"X-Request-Id": request_id})
    assert status == 403 and "x-project" not in headers
    (event,) = server.events(request_id)
    assert event["event_id"].encode() in body


def test_block_after_streaming_started_cuts_the_response(server):
    request_id = uuid.uuid4().hex
    conn = server.connection()
    try:
        conn.request("GET", "/stream?n=3&block_at=1", headers={"X-Request-Id": request_id})
        response = conn.getresponse()
        assert response.status == 200
        try:
            body = response.read()
        except (http_client.IncompleteRead, socket.error):
            body = None  # chunked or sized: the client can tell the response is cut
    finally:
        conn.close()
    route = "^stream$" if MODERN_ROUTES else "stream"
    assert body in (None, ("0 %s\n" % route).encode())  # HTTP/1.0 without a length: just shorter
    assert len(server.events(request_id)) == 1


def test_an_error_in_a_view_still_gives_djangos_own_500(server):
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/error", headers={"X-Request-Id": request_id})
    assert status == 500
    assert b"Server Error (500)" in body and headers["x-project"] == "1"  # Django's page, through the chain
    assert server.events(request_id) == []
    assert all(still is False for _, still in server.after("/error"))
