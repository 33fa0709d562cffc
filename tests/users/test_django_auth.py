"""Django's ``authenticate`` under a real server: auth events, blocked users and credential stuffing.

The project (``tests/users/django_project``) has contrib.auth with a custom
user model (``USERNAME_FIELD = "handle"``) and a backend raising
``PermissionDenied``; its login view calls an ``authenticate`` imported
before the agent started (Python 3). It runs under wsgiref in block mode
with ``handle=mallory`` blocklisted and the default account-takeover
thresholds. Each test logs in from its own client address (X-Forwarded-For
from the loopback proxy, which is trusted) so that counters do not mix.
"""
import sys
import uuid

import pytest

from tests.users._servers import AppServer

django = pytest.importorskip("django")

ARGV = [sys.executable, "-m", "tests.users.django_project.wsgi"]


@pytest.fixture(scope="module")
def server(tmpdir_factory):
    srv = AppServer(ARGV, str(tmpdir_factory.mktemp("django-users")),
                    {"SQREEN_MODE": "block", "SQREEN_USER_BLOCKLIST": "handle=mallory"})
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def login(server, handle, password, client_ip=None, source=None):
    request_id = uuid.uuid4().hex
    status, headers, body = server.post_form("/login", {"handle": handle, "password": password},
                                             client_ip=client_ip, source=source,
                                             headers={"X-Request-Id": request_id})
    return status, body, request_id


def test_the_view_took_its_authenticate_before_the_agent_started_on_python_3(server):
    assert server.state()["startup"] == {"views_before_agent": sys.version_info[0] >= 3}


def test_a_successful_login_is_one_auth_event(server):
    status, body, request_id = login(server, "alice", "alice-password", client_ip="198.51.100.1")
    assert status == 200, body
    (event,) = server.events(request_id)
    assert event["kind"] == "auth" and event["success"] is True
    assert event["user"] == {"handle": "alice"}  # the USERNAME_FIELD; never the password
    assert event["request"]["client_ip"] == "198.51.100.1"
    assert event["request"]["user_agent"] == "users-tests/1"


def test_a_failed_login_is_one_auth_event_without_the_password(server):
    status, body, request_id = login(server, "alice", "Secret-guess-1", client_ip="198.51.100.2")
    assert status == 401
    (event,) = server.events(request_id)
    assert event["success"] is False and event["user"] == {"handle": "alice"}
    with open(server.events_file) as f:
        assert "Secret-guess-1" not in f.read()


def test_a_backend_raising_permission_denied_is_a_failure(server):
    status, body, request_id = login(server, "denied", "whatever", client_ip="198.51.100.3")
    assert status == 401
    (event,) = server.events(request_id)
    assert event["kind"] == "auth" and event["success"] is False and event["user"] == {"handle": "denied"}


def test_a_blocked_user_logging_in_gets_the_403(server):
    status, body, request_id = login(server, "mallory", "mallory-password", client_ip="198.51.100.4")
    assert status == 403
    auth, attack = server.events(request_id)
    assert auth["kind"] == "auth" and auth["success"] is True
    assert attack["attack_type"] == "blocked_user" and attack["blocked"] is True
    assert attack["user"] == {"handle": "mallory"} and attack["event_id"].encode() in body
    # a failed login as mallory is only a failure
    status, body, request_id = login(server, "mallory", "wrong", client_ip="198.51.100.4")
    assert status == 401 and [e["kind"] for e in server.events(request_id)] == ["auth"]


def test_credential_stuffing_blocks_the_ip_and_only_that_ip(server):
    attacker = "203.0.113.50"
    for i in range(50):
        status, body, request_id = login(server, "victim%d" % i, "password%d" % i, client_ip=attacker)
        assert status == 401, (i, body)
    flags = [e for e in server.events(request_id) if e["kind"] == "attack"]
    assert [(e["rule"], e["detail"]["failures"], e["detail"]["ip_blocked"]) for e in flags] == [
        ("ato-ip-failures", 50, True)]
    # the next attempt is refused before the password is checked, even a right one
    status, body, request_id = login(server, "alice", "alice-password", client_ip=attacker)
    assert status == 403
    (refused,) = server.events(request_id)
    assert refused["rule"] == "ato-blocked-ip" and refused["blocked"] is True
    assert refused["input"]["value"] == attacker and refused["event_id"].encode() in body
    # the rest of the site is still open to that IP
    assert server.request("GET", "/ready", headers={"X-Forwarded-For": attacker})[0] == 200
    # another client logs in: from another loopback address, and behind the proxy
    status, body, request_id = login(server, "alice", "alice-password", source="127.0.0.2")
    assert status == 200
    assert server.events(request_id)[0]["request"]["client_ip"] == "127.0.0.2"
    assert login(server, "alice", "alice-password", client_ip="203.0.113.51")[0] == 200
