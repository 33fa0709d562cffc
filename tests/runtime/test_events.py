import json
import os
import re
import socket

import pytest

from sqreen import _events, _reporter
from sqreen._redact import REDACTED

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUEST = {
    "method": "POST", "path": "/login", "route": "/login", "client_ip": "203.0.113.7",
    "user_agent": "curl/8", "request_id": "r-1",
}
ENVELOPE = {"schema_version", "kind", "event_id", "timestamp", "app_name", "host", "pid"}


def all_kinds():
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = _events.agent_error_event("callbacks.sqli", exc=exc)
    return [
        _events.attack_event("sqli", request=REQUEST, rule="sqli-1", blocked=True, source="body", name="q",
                             value="1' OR 1=1", detail={"db": "sqlite"}),
        _events.auth_event(False, user={"email": "a@example.com"}, request=REQUEST, reason="bad password"),
        _events.signup_event({"email": "a@example.com"}, request=REQUEST),
        _events.track_event("export", properties={"rows": 3}, user={"id": 1}),
        error,
        _events.metrics_event(0.0, 60.5, events={"attack": 1}, dropped=2, errors={"callback.x": 1},
                              callback_errors=1, budget_overruns=3, agent_time_ms=1.5),
        _events.identify_event({"username": "bob"}, traits={"plan": "pro"}, request=REQUEST),
    ]


def test_every_kind_has_a_constructor_and_the_envelope():
    events = all_kinds()
    assert [e["kind"] for e in events] == list(_events.KINDS)
    for event in events:
        assert ENVELOPE <= set(event)
        assert event["schema_version"] == _events.SCHEMA_VERSION
        assert TIMESTAMP.match(event["timestamp"]), event["timestamp"]
        assert event["host"] == socket.gethostname()
        assert event["pid"] == os.getpid()
        assert re.match(r"^[0-9a-f]{32}$", event["event_id"])
        json.dumps(event)  # plain data only


def test_event_ids_are_unique():
    ids = {_events.track_event("x")["event_id"] for _ in range(1000)}
    assert len(ids) == 1000


def test_timestamp_is_utc_with_milliseconds():
    assert _events.utc_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert _events.utc_timestamp(1700000000.1234) == "2023-11-14T22:13:20.123Z"


def test_request_is_copied_when_given_and_absent_otherwise():
    request = dict(REQUEST)
    event = _events.attack_event("xss", request=request)
    request["path"] = "/changed"
    assert event["request"] == REQUEST
    assert set(event["request"]) == set(_events.REQUEST_KEYS)
    assert "request" not in _events.track_event("x")


def test_app_name_default_and_override():
    _events.set_app_name("shop")
    try:
        assert _events.track_event("x")["app_name"] == "shop"
        assert _events.track_event("x", app_name="other")["app_name"] == "other"
    finally:
        _events.set_app_name(None)
    assert _events.track_event("x")["app_name"]  # falls back to the program's name


def test_attack_fields():
    event = all_kinds()[0]
    assert event["attack_type"] == "sqli" and event["rule"] == "sqli-1" and event["blocked"] is True
    assert event["input"] == {"source": "body", "name": "q", "value": "1' OR 1=1"}
    assert event["detail"] == {"db": "sqlite"}


def test_attack_input_named_like_a_secret_is_blanked():
    event = _events.attack_event("sqli", source="body", name="password", value="' OR 1=1 --")
    assert event["input"]["value"] == REDACTED


def test_attack_input_value_is_clipped():
    event = _events.attack_event("xss", source="query", name="q", value="<" * 10000)
    assert len(event["input"]["value"]) < 5000 and event["input"]["value"].endswith("[10000 chars]")


def test_auth_signup_track_fields():
    auth, signup, track = all_kinds()[1:4]
    assert auth["success"] is False and auth["user"] == {"email": "a@example.com"}
    assert auth["reason"] == "bad password"
    assert _events.auth_event(True)["success"] is True
    assert signup["user"] == {"email": "a@example.com"}
    assert track["name"] == "export" and track["properties"] == {"rows": 3} and track["user"] == {"id": 1}


def test_agent_error_carries_type_message_and_traceback():
    error = all_kinds()[4]["error"]
    assert error["where"] == "callbacks.sqli"
    assert error["type"] == "ValueError" and error["message"] == "boom"
    assert "ValueError: boom" in error["traceback"]
    plain = _events.agent_error_event("reporter", message="disk full")["error"]
    assert plain == {"where": "reporter", "message": "disk full"}


def test_metrics_fields():
    event = all_kinds()[5]
    assert event["period"] == {"start": "1970-01-01T00:00:00.000Z", "end": "1970-01-01T00:01:00.500Z"}
    assert event["counts"] == {"events": {"attack": 1}, "dropped": 2, "errors": {"callback.x": 1},
                               "callback_errors": 1, "budget_overruns": 3}
    assert event["agent_time_ms"] == 1.5


@pytest.mark.parametrize("event", all_kinds(), ids=lambda e: e["kind"])
def test_schema_keys_survive_redaction(event):
    """No field name of the schema is mistaken for a secret by the redactor."""
    line = _reporter.encode(event)
    assert REDACTED.encode() not in line
    assert json.loads(line.decode("ascii"))["kind"] == event["kind"]


def test_secrets_in_caller_data_are_redacted_on_encoding():
    request = dict(REQUEST, headers={"Cookie": "sid=1", "Authorization": "Basic x"},
                   query="card=4111111111111111&token=abc")
    event = _events.auth_event(True, user={"login": "bob", "password": "pw"}, request=request)
    out = json.loads(_reporter.encode(event).decode("ascii"))
    assert out["user"] == {"login": "bob", "password": REDACTED}
    assert out["request"]["headers"] == {"Cookie": REDACTED, "Authorization": REDACTED}
    assert out["request"]["query"] == "card=%s&token=%s" % (REDACTED, REDACTED)


def test_schema_doc_examples_match_the_constructors():
    """docs/events.md shows one example per kind, with exactly the fields the code produces."""
    from tests.helpers import ROOT

    with open(os.path.join(ROOT, "docs", "events.md")) as f:
        doc = f.read()
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.S)]
    built = dict((e["kind"], e) for e in all_kinds())
    assert sorted(e["kind"] for e in examples) == sorted(_events.KINDS)
    for example in examples:
        expected = built[example["kind"]]
        assert set(example) == set(expected), example["kind"]
        for key, value in expected.items():
            if isinstance(value, dict) and key not in ("request", "detail", "user", "properties"):
                assert set(example[key]) == set(value), (example["kind"], key)
    for key in _events.REQUEST_KEYS:
        assert "| `%s` |" % key in doc


def test_envelope_is_never_redacted():
    event = _events.track_event("t", app_name="4111 1111 1111 1111")
    event["event_id"] = "4111111111111111"
    out = json.loads(_reporter.encode(event).decode("ascii"))
    assert out["event_id"] == "4111111111111111" and out["app_name"] == "4111 1111 1111 1111"
