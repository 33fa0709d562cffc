"""The SDK in a Flask app under a real server (wsgiref), block mode: events, blocked users, ATO.

Thresholds lowered for speed (5 failures per IP); ``username=mallory`` in
``user_blocklist``, ``eve`` blocked by the app through ``sqreen.block_user``.
"""
import json
import sys
import uuid

import pytest

from tests.users._servers import AppServer

flask = pytest.importorskip("flask")

ARGV = [sys.executable, "-m", "tests.users.flask_sdk_app"]


@pytest.fixture(scope="module")
def server(tmpdir_factory):
    srv = AppServer(ARGV, str(tmpdir_factory.mktemp("flask-sdk")),
                    {"SQREEN_MODE": "block", "SQREEN_USER_BLOCKLIST": "username=mallory",
                     "SQREEN_ATO_MAX_FAILURES_PER_IP": "5"})
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def call(server, method, path, fields=None, client_ip=None):
    request_id = uuid.uuid4().hex
    headers = {"X-Request-Id": request_id, "User-Agent": "users-tests/1"}
    if client_ip:
        headers["X-Forwarded-For"] = client_ip
    if fields is not None:
        status, _, body = server.post_form(path, fields, headers=headers)
    else:
        status, _, body = server.request(method, path, headers=headers)
    return status, body, server.events(request_id)


def test_block_user_was_accepted_at_start_up(server):
    assert server.state()["startup"] == {"block_user": True}


def test_auth_track_reports_the_attempt_without_the_password(server):
    status, body, events = call(server, "POST", "/login", {"handle": "alice", "password": "alice-password"},
                                client_ip="198.51.100.21")
    assert status == 200
    (event,) = events
    assert event["kind"] == "auth" and event["success"] is True and event["user"] == {"username": "alice"}
    assert event["request"]["client_ip"] == "198.51.100.21" and event["request"]["path"] == "/login"
    with open(server.events_file) as f:
        assert "alice-password" not in f.read()


def test_signup_track(server):
    status, body, events = call(server, "POST", "/signup", {"email": "new@example.com"})
    assert json.loads(body.decode()) == {"recorded": True}
    assert [(e["kind"], e["user"]) for e in events] == [("signup", {"email": "new@example.com"})]


def test_identify_and_track_tie_the_request_and_its_attack_to_the_user(server):
    status, body, events = call(server, "GET", "/order?user=bob&sku=A1")
    assert status == 200
    assert [e["kind"] for e in events] == ["identify", "track"]
    assert events[0]["user"] == {"username": "bob"} and events[0]["traits"] == {"plan": "pro"}
    assert events[1]["name"] == "order" and events[1]["properties"] == {"sku": "A1"}
    assert events[1]["user"] == {"username": "bob"}
    status, body, events = call(server, "GET", "/order?user=bob&sku=%27%20OR%20%271%27%3D%271")
    assert status == 403
    attack = events[-1]
    assert attack["attack_type"] == "sqli" and attack["user"] == {"username": "bob"}


@pytest.mark.parametrize("user", ["mallory", "eve"])
def test_a_blocked_user_gets_the_403(server, user):
    status, body, events = call(server, "GET", "/order?user=%s&sku=A1" % user)
    assert status == 403
    identify, attack = events  # refused at identify: no track event, no query
    assert identify["kind"] == "identify"
    assert attack["attack_type"] == "blocked_user" and attack["event_id"].encode() in body


def test_a_bad_track_call_is_false_and_the_request_goes_on(server):
    status, body, events = call(server, "GET", "/bad-track")
    assert status == 200 and json.loads(body.decode()) == {"recorded": False} and events == []


def test_credential_stuffing_through_auth_track(server):
    attacker = "203.0.113.60"
    for i in range(5):
        status, body, events = call(server, "POST", "/login", {"handle": "user%d" % i, "password": "x"},
                                    client_ip=attacker)
        assert status == 401
    assert [e["detail"]["failures"] for e in events if e["kind"] == "attack"] == [5]
    status, body, events = call(server, "POST", "/login", {"handle": "alice", "password": "alice-password"},
                                client_ip=attacker)
    assert status == 403 and [e["rule"] for e in events] == ["ato-blocked-ip"]
    status, body, events = call(server, "POST", "/login", {"handle": "alice", "password": "alice-password"},
                                client_ip="203.0.113.61")
    assert status == 200
