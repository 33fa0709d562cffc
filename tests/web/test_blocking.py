"""The 403 page and how the event id travels from the protection to it."""
import json

import pytest

from sqreen import _blocking, _events, _reporter
from sqreen.instrumentation import RequestBlocked


@pytest.mark.parametrize("accept, wants_json", [
    (None, False),
    ("", False),
    ("*/*", False),
    ("text/html", False),
    ("application/json", True),
    ("application/problem+json", True),
    ("text/html, application/json", False),  # a tie goes to HTML
    ("text/html;q=0.9, application/json", True),
    ("application/json;q=0.5, text/html;q=0.8", False),
    ("application/json;q=0.5, */*;q=0.1", True),
    ("application/json; q=bogus, text/html;q=0.1", False),
    ("APPLICATION/JSON", True),
    ("text/*;q=0.2, application/*;q=0.5, application/json", True),
])
def test_prefers_json(accept, wants_json):
    assert _blocking.prefers_json(accept) is wants_json


def test_html_page():
    status, headers, body = _blocking.response("0123456789abcdef0123456789abcdef", "text/html")
    headers = dict(headers)
    assert status == "403 Forbidden"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Length"] == str(len(body))
    assert headers["Cache-Control"] == "no-store"
    assert b"0123456789abcdef0123456789abcdef" in body and body.startswith(b"<!DOCTYPE html>")


def test_json_page():
    status, headers, body = _blocking.response("0123456789abcdef0123456789abcdef", "application/json")
    assert dict(headers)["Content-Type"] == "application/json"
    assert json.loads(body.decode()) == {"status": 403, "error": "request blocked for security reasons",
                                         "event_id": "0123456789abcdef0123456789abcdef"}


def test_the_page_escapes_what_it_shows():
    body = _blocking.response('<script>"x"</script>&')[2]
    assert b"<script>" not in body and b"&lt;script&gt;&quot;x&quot;&lt;/script&gt;&amp;" in body


def test_page_without_event_id():
    assert b"Reference: <code>-</code>" in _blocking.response(None)[2]
    assert json.loads(_blocking.response(None, "application/json")[2].decode())["event_id"] is None


def test_event_id_of():
    exc = RequestBlocked()
    assert _blocking.event_id_of(exc) is None
    exc.event_id = "abc"
    assert _blocking.event_id_of(exc) == "abc"
    assert _blocking.event_id_of(RequestBlocked({"event_id": "e1", "kind": "attack"})) == "e1"
    assert _blocking.event_id_of(RequestBlocked("0123456789abcdef0123456789abcdef")) == \
        "0123456789abcdef0123456789abcdef"
    assert _blocking.event_id_of(RequestBlocked("blocked: sqli")) is None


def test_raise_blocked_reports_once_and_carries_the_id(monkeypatch):
    reported = []
    monkeypatch.setattr(_reporter, "report", reported.append)
    event = _events.attack_event("sqli", blocked=True)
    with pytest.raises(RequestBlocked) as info:
        _blocking.raise_blocked(event)
    assert reported == [event]
    assert _blocking.event_id_of(info.value) == event["event_id"]
    assert not isinstance(info.value, Exception)
