import pytest

from sqreen import _redact
from sqreen._redact import REDACTED, TOO_DEEP, redact, redact_text
from tests.helpers import run_python

SECRET_KEYS = [
    "password", "Password", "PASSWD", "pwd", "user_pwd", "secret", "client_secret", "token", "access_token",
    "refreshToken", "api_key", "apikey", "X-Api-Key", "apiKey", "auth", "x-auth", "Authorization",
    "Proxy-Authorization", "HTTP_AUTHORIZATION", "cookie", "Cookie", "Set-Cookie", "HTTP_COOKIE", "session",
    "sessionid", "PHPSESSID", "csrf", "csrfmiddlewaretoken", "X-CSRF-Token", "credit_card", "creditCard",
    "card_number", "cvv", "pin", "private_key", "aws_secret_access_key", "passphrase", "jwt",
]
PLAIN_KEYS = [
    "username", "email", "author", "authors", "path", "method", "user_agent", "client_ip", "shipping",
    "event_id", "kind", "pid", "name", "q", "passenger", "keyboard", "route", "request_id",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_key_names_are_recognised(key):
    assert _redact.is_secret_key(key)


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_plain_key_names_are_kept(key):
    assert not _redact.is_secret_key(key)


def test_non_string_keys_are_not_secret():
    assert not _redact.is_secret_key(42)
    assert redact({42: "x"}) == {42: "x"}


def test_secret_values_are_redacted_at_any_depth():
    event = {
        "user": {"login": "bob", "Password": "hunter2"},
        "request": {"headers": {"Authorization": "Bearer abc", "Accept": "*/*"}},
        "list": [{"deep": [{"api_key": "k", "ok": 1}]}],
        "session": {"anything": "inside"},
    }
    out = redact(event)
    assert out["user"] == {"login": "bob", "Password": REDACTED}
    assert out["request"]["headers"] == {"Authorization": REDACTED, "Accept": "*/*"}
    assert out["list"] == [{"deep": [{"api_key": REDACTED, "ok": 1}]}]
    assert out["session"] == REDACTED


def test_input_is_not_modified():
    event = {"user": {"password": "x"}, "t": ("a", "b")}
    redact(event)
    assert event == {"user": {"password": "x"}, "t": ("a", "b")}


def test_named_values_whose_name_is_secret_are_redacted():
    # An attack event's input: the field's name says what its value is.
    event = {"input": {"source": "form", "name": "password", "value": "' OR '1'='1"},
             "other": {"source": "form", "name": "username", "value": "' OR '1'='1"}}
    out = _redact.redact(event)
    assert out["input"] == {"source": "form", "name": "password", "value": _redact.REDACTED}
    assert out["other"] == event["other"]
    assert _redact.redact({"name": "api_token"}) == {"name": "api_token"}  # no value to hide


def test_header_pair_lists_are_redacted():
    headers = [("Cookie", "sid=1"), ("Set-Cookie", "a=b"), ("Host", "example"), ["X-Csrf-Token", "t"]]
    assert redact(headers) == [["Cookie", REDACTED], ["Set-Cookie", REDACTED], ["Host", "example"],
                               ["X-Csrf-Token", REDACTED]]


VALID_CARDS = [
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5500 0000 0000 0004",
    "378282246310005", "4222222222222", "6011000990139424",
    "6011 0009 9013 9424 009",  # a 19-digit number passing Luhn
]


@pytest.mark.parametrize("card", VALID_CARDS)
def test_card_numbers_in_text_are_redacted(card):
    assert redact_text("paid with %s today" % card) == "paid with %s today" % REDACTED
    assert redact_text(card) == REDACTED


@pytest.mark.parametrize("text", [
    "4111111111111112",  # fails Luhn
    "order 123456789012",  # 12 digits: too short
    "41111111111111111111111",  # 23 digits: not a card
    "2024-01-01 12:00:00",
    "phone +33 6 12 34 56 78",
])
def test_other_numbers_are_kept(text):
    assert redact_text(text) == text


def test_secret_pairs_in_free_text_are_redacted():
    text = "GET /login?user=bob&password=hunter2&next=/ Cookie: sessionid=abc; theme=dark"
    assert redact_text(text) == (
        "GET /login?user=bob&password=[REDACTED]&next=/ Cookie: sessionid=[REDACTED]; theme=dark"
    )


def test_bytes_are_reported_as_redacted_text():
    out = redact({"body": b"card=x 4111111111111111"})
    assert out == {"body": "card=x " + REDACTED}


def test_cycles_and_depth_are_bounded():
    loop = {"a": 1}
    loop["self"] = loop
    assert redact(loop) == {"a": 1, "self": TOO_DEEP}
    deep = current = {}
    for _ in range(100):
        current["x"] = {}
        current = current["x"]
    out = redact(deep)
    depth = 0
    while isinstance(out, dict):
        out = out["x"]
        depth += 1
    assert out == TOO_DEEP and depth == _redact.MAX_DEPTH


def test_shared_subobjects_are_not_mistaken_for_cycles():
    shared = {"k": "v"}
    assert redact([shared, shared]) == [{"k": "v"}, {"k": "v"}]


def test_adversarial_inputs_finish():
    """Inputs built to make backtracking regexes explode finish (watchdog: the timeout)."""
    run_python(
        """
        from sqreen._redact import redact_text
        n = 200000
        for text in ["1 " * n, "1-" * n, "1" * n + "x", "4" * 18 + " " + "a" * n, "a=" * n, "a" * n + "=",
                     ("x" * 127 + "=") * (n // 128), "password=" + "x" * n]:
            redact_text(text)
        print("done")
        """,
        timeout=60,
    )


@pytest.mark.parametrize("text", [
    "ccb4f369ea4111111111111111",  # digits inside a hex id
    "4111111111111111abc",
    "id-a4111111111111111",
])
def test_card_like_digits_inside_words_are_kept(text):
    assert redact_text(text) == text


def test_redact_fields_keeps_the_listed_keys():
    event = {"event_id": "4111111111111111", "token": "t", "note": "4111111111111111"}
    assert _redact.redact_fields(event, keep=("event_id",)) == {
        "event_id": "4111111111111111", "token": REDACTED, "note": REDACTED}
