# -*- coding: utf-8 -*-
"""The shared input-matching step: which inputs occur where, and which are never looked for.

Every test runs with both first tests: the compiled ``candidates`` (where it
was built) and the Python one.
"""
from __future__ import unicode_literals

import random

import pytest

from sqreen.protections import _matching
from tests.helpers import require_compiled

VERSIONS = {"python": _matching._py_candidates}
try:
    from sqreen.protections import _candidates
except ImportError:  # not built (no C compiler)
    _candidates = None
else:
    VERSIONS["compiled"] = _candidates.candidates


@pytest.fixture(autouse=True, params=["compiled", "python"])
def version(request, monkeypatch):
    if request.param not in VERSIONS:
        require_compiled("sqreen.protections._candidates")
    monkeypatch.setattr(_matching, "candidates", VERSIONS[request.param])
    return request.param


def test_the_compiled_version_serves_when_built():
    if _candidates is not None:
        assert _matching._compiled_candidates() is _candidates.candidates


def test_text_subclasses_are_text():
    class Markup(type("")):
        pass

    item = ("query", "q", Markup("<b>"))
    assert _matching.candidates(Markup("x <b> y"), [item]) == [(item, "<b>")]


def test_both_versions_agree_on_random_inputs():
    rng = random.Random(5)
    alphabet = "ab' =-@x1é"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 260)))
        items = tuple(("query", str(i), rng.choice([
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))),
            rng.randint(0, 99), b"a=", None, True, 1.5])) for i in range(rng.randint(0, 8)))
        for version in VERSIONS.values():
            for min_length in (1, 2, 3):
                expected = _matching._py_candidates(text, list(items), min_length)
                assert version(text, items, min_length) == expected


def test_no_input_occurs():
    inputs = [("query", "id", "42"), ("form", "name", "alice")]
    assert _matching.find_occurrences("SELECT * FROM t WHERE id = 7", inputs) == []
    assert not _matching.occurs("SELECT * FROM t WHERE id = 7", inputs)


def test_reports_input_tuple_and_span():
    item = ("query", "id", "1 OR 1=1")
    text = "SELECT * FROM t WHERE id = 1 OR 1=1"
    assert _matching.find_occurrences(text, [item]) == [(item, 27, 35)]
    assert _matching.occurs(text, [item])


def test_every_occurrence_including_overlapping_ones():
    item = ("query", "q", "aba")
    assert _matching.find_occurrences("ababa--aba", [item]) == [(item, 0, 3), (item, 2, 5), (item, 7, 10)]


def test_order_is_inputs_then_position():
    a, b = ("query", "a", "xy"), ("form", "b", "zz")
    assert _matching.find_occurrences("zz xy zz xy", [a, b]) == [(a, 3, 5), (a, 9, 11), (b, 0, 2), (b, 6, 8)]


def test_short_values_are_never_looked_for():
    items = [("query", "a", ""), ("query", "b", "'"), ("query", "c", "1")]
    assert _matching.find_occurrences("' OR 1 = 1", items) == []
    assert _matching.find_occurrences("' OR 1 = 1", items, min_length=1) != []


def test_values_longer_than_the_text_cost_nothing():
    assert _matching.find_occurrences("ab", [("body", "x", "abc")]) == []


def test_value_types():
    items = [
        ("json", "n", 12345), ("json", "f", 1.5), ("json", "flag", True), ("json", "none", None),
        ("body", "raw", b"caf\xc3\xa9"), ("json", "list", ["12345"]),
    ]
    found = _matching.find_occurrences("x = 12345 AND y = 1.5 AND z = 'café' AND True", items)
    spans = [(item[1], start, end) for item, start, end in found]
    assert spans == [("n", 4, 9), ("f", 18, 21), ("raw", 31, 35)]


def test_bytes_text_is_decoded():
    item = ("query", "name", "é'x")
    assert _matching.find_occurrences("SELECT 'é'x'".encode("utf-8"), [item]) == [(item, 8, 11)]


def test_occurrences_per_input_are_bounded():
    item = ("query", "q", "ab")
    found = _matching.find_occurrences("ab" * 1000, [item])
    assert len(found) == _matching.MAX_OCCURRENCES
    assert found[-1][1] == 2 * (_matching.MAX_OCCURRENCES - 1)


def test_unicode_value():
    item = ("query", "q", "日本語")
    assert _matching.find_occurrences("SELECT '日本語'", [item]) == [(item, 8, 11)]


def test_generator_of_inputs_is_consumed_once():
    items = iter([("query", "a", "zz")])
    assert len(_matching.find_occurrences("zz", items)) == 1


def test_as_text():
    assert _matching.as_text("x") == "x"
    assert _matching.as_text(b"x") == "x"
    assert _matching.as_text(7) == "7"
    assert _matching.as_text(False) is None
    assert _matching.as_text({"a": 1}) is None


def test_long_texts_rule_values_out_by_a_character_first():
    # Past PROBE_FROM characters a value is first tested by its uncommon characters: same answers.
    text = "SELECT name FROM t WHERE " + " OR ".join("id = %d" % i for i in range(40)) + " -- a@b"
    assert len(text) >= _matching.PROBE_FROM
    items = [("query", "v", "value-1"), ("query", "e", "a@b"), ("query", "w", "id = 3 OR"),
             ("query", "c", "ORDER"), ("query", "m", "x@b"), ("query", "n", "39 -")]
    spans = [(item[1], start) for item, start, _ in _matching.find_occurrences(text, items)]
    assert spans == [("e", text.index("a@b")), ("w", text.index("id = 3 OR")), ("n", text.index("39 -"))]
    assert _matching.occurs(text, items[1:2]) and not _matching.occurs(text, items[:1] + items[3:5])


def _every_occurrence(text, items, min_length=_matching.MIN_LENGTH):
    """What find_occurrences must answer, found the plainest way (at most MAX_OCCURRENCES each)."""
    found = []
    for item in items:
        value = _matching.as_text(item[2])
        if value is None or len(value) < min_length:
            continue
        spans = [(item, i, i + len(value)) for i in range(len(text) - len(value) + 1)
                 if text[i:i + len(value)] == value]
        found.extend(spans[:_matching.MAX_OCCURRENCES])
    return found


def test_a_tuple_of_inputs_searched_again_gives_the_same_answers():
    # A request's inputs (one tuple) are prepared once from their second search on: short and long
    # texts, in any order, with another tuple searched in between, answer as a list of them does.
    items = (("query", "v", "value-1"), ("query", "e", "a@b"), ("query", "w", "id = 3 OR"),
             ("json", "n", 39), ("query", "c", "ORDER"), ("header", "b", b"x@b"), ("query", "t", True),
             ("query", "s", "OR"), ("query", "u", "日本"))
    other = (("query", "q", "id = 1"),)
    long_text = "SELECT name FROM t WHERE " + " OR ".join("id = %d" % i for i in range(40)) + " -- a@b 日本"
    texts = ["id = 39 OR x@b", long_text, "value-1", long_text.replace("@", "!"), "日本 ORDER", long_text]
    for text in texts + texts[::-1]:
        for inputs in (items, other, items):
            expected = _every_occurrence(text, inputs)
            assert _matching.find_occurrences(text, inputs) == expected, text
            assert _matching.find_occurrences(text, list(inputs)) == expected
            assert _matching.occurs(text, inputs) is bool(expected)
            assert _matching.find_occurrences(text, inputs, min_length=3) == \
                _every_occurrence(text, inputs, min_length=3)


@pytest.fixture
def current_request():
    """Makes a request with the given query string current (the inputs the first test looks at)."""
    import io

    from sqreen import _request

    def make(query=""):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": query,
                   "wsgi.input": io.BytesIO()}
        request = _request.Request(environ)
        _request.activate(request)
        return request

    yield make
    _request.deactivate()


@pytest.mark.skipif(_candidates is None, reason="sqreen.protections._candidates was not built")
def test_could_be_bent_answers_for_the_current_request(current_request):
    from sqreen import _attack_report

    could_be_bent = _attack_report._could_be_bent
    assert could_be_bent is _candidates.could_be_bent
    assert could_be_bent("SELECT 1 WHERE a = 'x'") is False  # no request
    request = current_request("name=alice&id=42&c=x")
    assert could_be_bent("SELECT * FROM users WHERE name = 'bob'") is False
    assert could_be_bent("SELECT * FROM users WHERE name = 'alice'") is True
    assert could_be_bent("SELECT * FROM t WHERE id = 42") is True
    assert could_be_bent("x") is False  # one-character values are never looked for
    assert could_be_bent(b"SELECT 'bob'") is False  # bytes: decoded as the checks decode them
    assert could_be_bent("SELECT 'alice'".encode("utf-8")) is True
    assert could_be_bent(7) is True  # no text: the full check decides
    request._cache["inputs"] = (("header", "h", b"bob"),)  # bytes (Python 2's headers), decoded
    assert could_be_bent("SELECT 'bob'") is True and could_be_bent("SELECT 'al'") is False
    request._cache["inputs"] = (("json", "n", 7),)  # a value that is no text: the full check decides
    assert could_be_bent("SELECT 8") is True


@pytest.mark.skipif(_candidates is None, reason="sqreen.protections._candidates was not built")
def test_the_sql_check_answers_the_same_with_or_without_the_compiled_first_test(current_request, monkeypatch):
    from sqreen import _attack_report

    current_request("q=1' OR '1'='1&name=alice")
    queries = ["SELECT * FROM t WHERE q = '1' OR '1'='1'", "SELECT * FROM t WHERE name = 'alice'",
               "SELECT * FROM t WHERE name = 'bob'", b"SELECT * FROM t WHERE q = '1' OR '1'='1'"]
    reported = []

    def sql_injection(attack, query, **kwargs):
        reported.append((query, attack.source, attack.name))
        return "event"

    monkeypatch.setattr(_attack_report, "sql_injection", sql_injection)
    answers = {}
    for first_test in (_attack_report._could_be_bent, None):
        monkeypatch.setattr(_attack_report, "_could_be_bent", first_test)
        del reported[:]
        answers[first_test is None] = ([_attack_report.check_sql(query, "sqlite") for query in queries],
                                       list(reported))
    assert answers[True] == answers[False]
    assert answers[True][0] == ["event", None, None, "event"]


def test_a_list_of_inputs_changed_while_it_is_searched_is_no_harm():
    items = []

    class Sneaky(int):  # its text form empties the list being searched
        def __str__(self):
            del items[:]
            return "12"

        __unicode__ = __str__

    items.extend([("json", "a", Sneaky(12)), ("query", "b", "zz"), ("query", "c", "yy")])
    found = [item[1] for item, value in _matching.candidates("12 zz yy", items)]
    assert found[0] == "a" and set(found) <= {"a", "b", "c"}
