"""Pyramid under waitress on loopback, started under the agent (block mode, an IP blocklist).

The app (``tests/frameworks/pyramid_app.py``) runs in its own process on a
free 127.0.0.1 port; the tests read real HTTP responses and the events file.
"""
import os
import uuid

import pytest

from tests.frameworks.test_flask_servers import (BLOCKED_IP, assert_forgotten_after_each_response, attacks,
                                                 start_server)
from tests.helpers import ROOT


@pytest.fixture(scope="module", params=["waitress"])
def server(request, tmpdir_factory):
    pytest.importorskip("pyramid")
    tmpdir = str(tmpdir_factory.mktemp("pyramid"))
    srv = start_server(request.param, "tests.frameworks.pyramid_app", tmpdir)
    try:
        yield srv
    finally:
        srv.stop()


def test_the_agent_comes_before_every_tween(server):
    server.json("GET", "/items/1/first")
    assert ["/items/1/first", True] in server.state()["seen"]["tween"]


def test_route_and_path_params_reach_the_inputs(server):
    data = server.json("GET", "/items/42/caf%C3%A9?x=1")
    assert data["route"] == "/items/{item_id}/{name}"
    assert data["path_params"] == {"item_id": "42", "name": u"caf\xe9"}
    assert ["path", "item_id", "42"] in data["inputs"] and ["path", "name", u"caf\xe9"] in data["inputs"]
    assert ["query", "x", "1"] in data["inputs"]


def test_block_deep_in_a_view_gives_a_403_past_excview(server):
    request_id = uuid.uuid4().hex
    status, headers, body = server.request("GET", "/block?q=attack", headers={"X-Request-Id": request_id})
    events = attacks(server, request_id)
    assert status == 403 and len(events) == 1, (status, body, events)
    assert events[0]["event_id"].encode() in body and b"error page" not in body
    assert events[0]["request"]["route"] == "/block"
    assert server.state()["swallowed"] == []


def test_not_blocked_without_attack(server):
    assert server.request("GET", "/block?q=fine")[::2] == (200, b"not blocked: fine")


def test_blocklisted_ip_gets_a_403_before_any_tween(server):
    request_id = uuid.uuid4().hex
    status, _, body = server.request("GET", "/items/7/blocked-ip",
                                     headers={"X-Real-IP": BLOCKED_IP, "X-Request-Id": request_id})
    events = attacks(server, request_id)
    assert status == 403 and len(events) == 1 and events[0]["rule"] == "ip_blocklist", (status, events)
    assert "/items/7/blocked-ip" not in [path for path, _ in server.state()["seen"]["tween"]]


def test_the_request_is_forgotten_after_each_response(server):
    assert_forgotten_after_each_response(server)


def test_streaming_sees_its_request_to_the_last_chunk(server):
    status, _, body = server.request("GET", "/stream")
    assert (status, body) == (200, b"".join(b"%d /stream\n" % n for n in range(3)))


def test_file_response(server):
    status, _, body = server.request("GET", "/file")
    with open(os.path.join(ROOT, "tests", "frameworks", "flask_app_serve.py"), "rb") as f:
        assert (status, body) == (200, f.read())


def test_an_error_in_the_view_gives_the_apps_own_500(server):
    status, _, body = server.request("GET", "/error")
    assert (status, body) == (500, b"the app's own error page: ValueError")


def test_404(server):
    assert server.request("GET", "/nowhere")[0] == 404
