"""The SDK: validation, events in and out of a request, identified users, blocked users, the ATO guard.

The agent is the in-process one of ``tests.web`` (running, configured, its
events collected); requests are real ``Request`` objects made current.
"""
import datetime
import json
import logging

import pytest

import sqreen
from sqreen import _attack_report, _log, _request, _runtime
from sqreen.instrumentation import RequestBlocked
from tests.users.conftest import make_environ


def in_request(remote_addr="198.51.100.10", **headers):
    environ = make_environ("/login", method="POST", remote_addr=remote_addr,
                           headers=dict({"User-Agent": "tests/1"}, **headers))
    request = _request.Request(environ)
    _request.activate(request)
    return request


def test_every_function_does_nothing_while_the_agent_is_not_running(monkeypatch):
    monkeypatch.setitem(_runtime._state, "status", _runtime.DISABLED)
    assert sqreen.auth_track(True, username="bob") is None
    assert sqreen.signup_track(email="bob@example.com") is None
    assert sqreen.identify({"id": 1}) is None
    assert sqreen.track("x", properties={"a": 1}) is None
    assert sqreen.track(None) is None  # not even validated
    assert sqreen.block_user({"id": 1}) is None


BAD_TRACKS = [
    (("",), {}, "name"),
    ((None,), {}, "name"),
    (("x" * 257,), {}, "name"),
    (("ok",), {"properties": dict(("p%d" % i, i) for i in range(17))}, "too-many-properties"),
    (("ok",), {"properties": {"when": datetime.datetime(2024, 1, 1)}}, "properties"),
    (("ok",), {"properties": {"x": float("nan")}}, "properties"),
    (("ok",), {"properties": {1: "a"}}, "properties"),
    (("ok",), {"properties": ["a"]}, "properties"),
    (("ok",), {"user_identifiers": "bob"}, "identifiers"),
    (("ok",), {"timestamp": "yesterday"}, "timestamp"),
    (("ok",), {"timestamp": True}, "timestamp"),
]


@pytest.mark.parametrize("args, kwargs, key", BAD_TRACKS)
def test_a_bad_track_logs_one_warning_and_returns_false(agent, caplog, args, kwargs, key):
    with caplog.at_level(logging.WARNING, logger="sqreen"):
        assert sqreen.track(*args, **kwargs) is False
        assert sqreen.track(*args, **kwargs) is False
    assert agent.events == []
    assert _log.counters()["sdk:track:" + key] == 2
    assert len([r for r in caplog.records if "sqreen.track" in r.getMessage()]) == 1


def test_track_with_16_properties_a_user_and_a_timestamp(agent):
    props = dict(("p%d" % i, i) for i in range(16))
    assert sqreen.track("export", properties=props, user_identifiers={"id": 42},
                        timestamp=datetime.datetime(2024, 12, 4, 8, 14, 20, 500000)) is True
    (event,) = agent.events
    assert event["kind"] == "track" and event["name"] == "export" and event["properties"] == props
    assert event["user"] == {"id": 42} and event["timestamp"] == "2024-12-04T08:14:20.500Z"
    assert "request" not in event  # outside a request: recorded, without request fields
    assert sqreen.track("plain", timestamp=1733300060.25) is True
    assert agent.events[1]["timestamp"] == "2024-12-04T08:14:20.250Z" and agent.events[1]["properties"] == {}


def test_auth_track_outside_a_request_never_carries_the_password(agent):
    assert sqreen.auth_track(False, email="bob@example.com", password="hunter2", id=None) is True
    (event,) = agent.events
    assert event["kind"] == "auth" and event["success"] is False
    assert event["user"] == {"email": "bob@example.com"} and "request" not in event
    assert "hunter2" not in json.dumps(event)


def test_auth_track_in_a_request_carries_ip_and_user_agent(agent):
    in_request()
    assert sqreen.auth_track(True, username="bob") is True
    (event,) = agent.events
    assert event["success"] is True and event["user"] == {"username": "bob"}
    assert event["request"]["client_ip"] == "198.51.100.10" and event["request"]["user_agent"] == "tests/1"


def test_identify_ties_the_request_and_its_later_events_to_the_user(agent):
    request = in_request()
    assert sqreen.identify({"email": "bob@example.com"}, traits={"plan": "pro"}) is True
    (event,) = agent.events
    assert event["kind"] == "identify" and event["user"] == {"email": "bob@example.com"}
    assert event["traits"] == {"plan": "pro"} and event["request"]["path"] == "/login"
    sqreen.track("viewed", properties={"page": 2})
    assert agent.events[1]["user"] == {"email": "bob@example.com"}
    _attack_report.report("sqli", "query", "q", "' OR 1=1", rule="test", request=request)
    assert agent.events[2]["kind"] == "attack" and agent.events[2]["user"] == {"email": "bob@example.com"}
    # an attack the integration defuses itself (XSS escaped in place) carries the user too
    from sqreen.protections._attack import Attack

    _attack_report.defused(Attack("xss", ("query", "q", "<script>"), "tag", {}), request=request)
    assert agent.events[3]["kind"] == "attack" and agent.events[3]["user"] == {"email": "bob@example.com"}
    # a later request is somebody else
    in_request()
    sqreen.track("viewed")
    assert "user" not in agent.events[4]


def test_identify_and_signup_need_identifiers(agent):
    assert sqreen.identify({}) is False
    assert sqreen.identify({"password": "x"}) is False  # secrets are no identifiers
    assert sqreen.identify("bob") is False
    assert sqreen.signup_track() is False
    assert sqreen.signup_track(email="alice@example.com") is True
    assert sqreen.identify({"id": 7}) is True  # outside a request: recorded, tied to nothing
    assert [e["kind"] for e in agent.events] == ["signup", "identify"]
    assert agent.events[0]["user"] == {"email": "alice@example.com"}
    assert agent.events[1]["user"] == {"id": 7} and "request" not in agent.events[1]


@pytest.mark.parametrize("how", ["identify", "auth_track", "config"])
def test_a_blocked_user_is_refused_in_block_mode(agent, how):
    if how == "config":
        agent.configure(mode="block", user_blocklist="email=eve@example.com")
    else:
        agent.configure(mode="block")
        assert sqreen.block_user({"email": "Eve@Example.com"}) is True
    in_request()
    assert sqreen.identify({"email": "alice@example.com"}) is True  # others go on
    in_request()
    with pytest.raises(RequestBlocked) as info:
        if how == "auth_track":
            sqreen.auth_track(True, email="eve@example.com", username="eve")
        else:
            sqreen.identify({"email": "eve@example.com ", "username": "eve"})
    (attack,) = agent.attacks()
    assert attack["attack_type"] == "blocked_user" and attack["rule"] == "user_blocklist"
    assert attack["blocked"] is True and info.value.event_id == attack["event_id"]
    assert attack["input"] == {"source": "user", "name": "email", "value": "eve@example.com"}
    assert attack["user"] == {"email": "eve@example.com" + (" " if how != "auth_track" else ""),
                              "username": "eve"}


def test_a_blocked_user_in_monitor_mode_is_reported_only(agent):
    sqreen.block_user({"username": "eve", "tenant": "a"})  # both pairs must match
    in_request()
    assert sqreen.identify({"username": "eve", "tenant": "b"}) is True
    assert agent.attacks() == []
    assert sqreen.identify({"username": "eve", "tenant": "a"}) is True
    (attack,) = agent.attacks()
    assert attack["blocked"] is False and attack["attack_type"] == "blocked_user"


def test_ato_flags_then_refuses_the_ip_in_block_mode(agent):
    agent.configure(mode="block", ato_max_failures_per_ip="3")
    for i in range(3):
        in_request()
        assert sqreen.auth_track(False, username="user%d" % i) is True
    (flag,) = agent.attacks()
    assert flag["rule"] == "ato-ip-failures" and flag["blocked"] is False
    assert flag["detail"]["ip_blocked"] is True and flag["detail"]["failures"] == 3
    assert flag["input"]["value"] == "198.51.100.10"
    in_request()
    with pytest.raises(RequestBlocked):
        sqreen.auth_track(True, username="user9")
    refused = agent.attacks()[1]
    assert refused["rule"] == "ato-blocked-ip" and refused["blocked"] is True
    assert len([e for e in agent.events if e["kind"] == "auth"]) == 3  # the refused attempt: no auth event
    in_request(remote_addr="198.51.100.11")  # another IP still logs in
    assert sqreen.auth_track(True, username="user9") is True


def test_ato_in_monitor_mode_reports_once_and_refuses_nothing(agent):
    agent.configure(ato_max_failures_per_ip="2")
    for i in range(5):
        in_request()
        assert sqreen.auth_track(False, username="user%d" % i) is True
    (flag,) = agent.attacks()
    assert flag["detail"]["ip_blocked"] is False


def test_allowlisted_and_requestless_attempts_are_not_counted(agent):
    agent.configure(mode="block", ato_max_failures_per_ip="1")
    request = in_request()
    request.allowlisted = True
    sqreen.auth_track(False, username="a")
    _request.deactivate()
    sqreen.auth_track(False, username="a")
    assert agent.attacks() == [] and len(agent.events) == 2


def test_an_error_inside_the_sdk_never_reaches_the_app(agent, monkeypatch):
    from sqreen import _reporter

    def broken(event):
        raise RuntimeError("sink down")

    monkeypatch.setattr(_reporter, "report", broken)
    assert sqreen.track("x") is False
    assert _log.counters()["sdk:track:error"] == 1
