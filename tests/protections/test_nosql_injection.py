"""The NoSQL injection decision and the JavaScript lexer, on documents as pymongo gets them."""
from __future__ import unicode_literals

import json

import pytest

from sqreen.protections import _js_lexer as lexer
from sqreen.protections import _nosql_injection as nosql


def check(doc, inputs=(), body=None):
    return nosql.check([doc], list(inputs), body)


def where(code):
    return {"$where": code}


# (document the app sends, request inputs, JSON body): each one an injection.
OPERATOR_ATTACKS = [
    ({"username": {"$ne": None}}, [], {"username": {"$ne": None}}),
    ({"username": "admin", "password": {"$ne": None}}, [("json", "username", "admin")],
     {"username": "admin", "password": {"$ne": None}}),
    ({"password": {"$gt": ""}}, [("json", "password.$gt", "")], {"password": {"$gt": ""}}),
    ({"username": {"$regex": "^a"}}, [("json", "username.$regex", "^a")], {"username": {"$regex": "^a"}}),
    ({"u": {"$in": ["admin", "root"]}}, [], {"u": {"$in": ["admin", "root"]}}),
    ({"u": {"$exists": True}}, [], {"u": {"$exists": True}}),
    ({"$expr": {"$eq": [1, 1]}}, [], {"$expr": {"$eq": [1, 1]}}),
    ({"$where": "sleep(100)"}, [("json", "$where", "sleep(100)")], {"$where": "sleep(100)"}),
    ({"$or": [{"a": 1}, {}]}, [], {"$or": [{"a": 1}, {}]}),
    ([{"$match": {"team": {"$ne": "x"}}}], [], {"team": {"$ne": "x"}}),
    ({"username": {"$ne": "x"}}, [("query", "username[$ne]", "x")], None),
    ({"username": {"$gt": ""}}, [("form", "username[$gt]", "")], None),
    ({"username": {"$regex": ".*"}}, [("query", "username[$regex]", ".*")], None),
    ({"username": {"$in": ["a", "b"]}},
     [("query", "username[$in][]", "a"), ("query", "username[$in][]", "b")], None),
    ({"profile": {"age": {"$lt": "99"}}}, [("query", "profile[age][$lt]", "99")], None),
    ({"username": {"$ne": "x"}}, [("query", "username.$ne", "x")], None),
    ({"session": {"$ne": "1"}}, [("cookie", "session[$ne]", "1")], None),
]

JS_ATTACKS = [
    ("this.username == '%s'", "' || '1'=='1"),
    ("this.username == '%s'", "x' || true || '"),
    ("this.username == '%s'", "'; return true; var a='"),
    ("this.username == '%s'", "x' + '' == 'x"),
    ('this.username == "%s"', '" || this.role == "admin'),
    ("this.username == '%s'", "x\\"),
    ("this.n > %s", "0 || 1==1"),
    ("this.n > %s", "0; sleep(5000)"),
    ("this.n > %s", "1 //"),
    ("this.name.match(/%s/)", "a/) || (/b"),
    ("this.a == `%s`", "${this.password}"),
    ("this.username == '%s' /* by name */", "' /* x"),
]

BENIGN_JS = [
    ("this.username == '%s'", "alice"),
    ("this.username == %s", json.dumps("O'Brien")),
    ("this.username == %s", json.dumps("x' || '1'=='1")),
    ("this.n > %s", "42"),
    ("this.n > %s", "-5"),
    ("this.n > %s", "3.14e10"),
    ("this.%s == 1", "profile.age"),
    ("this.username == '%s'", "hello world"),
    ("this.username == '%s'", "price $5 {braces}"),
    ("this.a == `%s`", "plain text"),
    ("this.username == '%s' // by name", "bob"),
]

# A document the app sends and the request's inputs: never an injection.
BENIGN = [
    ({"username": "alice", "password": "pw"}, [("form", "username", "alice"), ("form", "password", "pw")],
     None),
    ({"username": "$ne"}, [("query", "username", "$ne")], None),
    ({"username": "{\"$ne\": null}"}, [("query", "username", "{\"$ne\": null}")], None),
    ({"note": "costs $5"}, [("json", "note", "costs $5")], {"note": "costs $5"}),
    ({"age": {"$gt": 18}}, [("query", "min_age", "18")], None),
    ({"name": {"$regex": "^O\\'B"}}, [("query", "q", "O'B")], None),
    ({"tags": {"$in": ["a", "b"]}}, [("json", "tags.0", "a"), ("json", "tags.1", "b")], {"tags": ["a", "b"]}),
    ({"price": {"$lt": 5}}, [("json", "filter.$gt", 5)], {"filter": {"$gt": 5}}),  # other operator
    ({"u": {"$ne": "y"}}, [("query", "u[$ne]", "x")], None),  # the app's own $ne, another value
    ({"$currency": "USD"}, [("json", "$", "USD")], {"$": "USD"}),
    ([{"$match": {"team": "dev"}}, {"$group": {"_id": "$team"}}], [("json", "team", "dev")], {"team": "dev"}),
]


@pytest.mark.parametrize("doc,inputs,body", OPERATOR_ATTACKS)
def test_an_operator_from_the_request_is_an_injection(doc, inputs, body):
    attack = check(doc, inputs, body)
    assert attack is not None and attack.attack_type == "nosqli"
    assert attack.detail["operator"].startswith("$") and attack.reason == "operator from the request"


def test_the_event_names_the_input_and_shows_the_operator_object():
    attack = check({"username": "admin", "password": {"$ne": None}}, [], {"password": {"$ne": None}})
    assert attack.input == ("json", "password.$ne", '{"$ne": null}')
    assert attack.detail == {"operator": "$ne", "path": "password.$ne"}
    attack = check({"username": {"$ne": "x"}}, [("query", "username[$ne]", "x")])
    assert attack.input == ("query", "username[$ne]", "x")


@pytest.mark.parametrize("template,value", JS_ATTACKS)
def test_an_input_that_bends_javascript_is_an_injection(template, value):
    attack = check({"u": 1, "$where": template % value}, [("query", "name", value)])
    assert attack is not None and attack.input == ("query", "name", value)
    start, end = attack.detail["span"]
    assert attack.detail["operator"] == "$where" and (template % value)[start:end] == value


@pytest.mark.parametrize("template,value", BENIGN_JS)
def test_an_input_held_by_one_literal_or_name_of_javascript_is_not(template, value):
    raw = json.loads(value) if value.startswith('"') else value
    assert check(where(template % value), [("query", "name", raw)]) is None


def test_javascript_in_function_accumulator_and_map_reduce():
    value = "' || 1 || '"
    inputs = [("form", "v", value)]
    code = "function(a) { return a == '%s'; }" % value
    assert check({"$expr": {"$function": {"body": code, "args": ["$a"], "lang": "js"}}}, inputs) is not None
    accumulator = {"init": code, "accumulate": "f", "merge": "g", "lang": "js"}
    assert check([{"$group": {"_id": 1, "x": {"$accumulator": accumulator}}}], inputs) is not None
    assert check({"mapReduce": "c", "map": code, "reduce": "function(k, v) {}"}, inputs) is not None
    assert check({"find": "c", "map": code}, inputs) is None  # "map" is JavaScript in mapReduce only


@pytest.mark.parametrize("doc,inputs,body", BENIGN)
def test_benign_documents(doc, inputs, body):
    assert check(doc, inputs, body) is None


def test_never_raises_and_bounds_the_walk():
    deep = {}
    node = deep
    for _ in range(nosql.MAX_DEPTH * 3):
        node["$and"] = [{}]
        node = node["$and"][0]
    assert check(deep, [], {"x": 1}) is None
    assert nosql.check(object(), [("query", "a", "b")]) is None  # not a document: logged, let through


def test_tokens_cover_the_text():
    text = "var a = 'x\\'y' + \"z\" + `t${b + `u${c}`}v` / 2 + /re[/]g/i.test(s) // end\n/* c */ 0x1F"
    tokens = lexer.tokenize(text)
    assert tokens[0][1] == 0 and tokens[-1][2] == len(text)
    assert all(a[2] == b[1] for a, b in zip(tokens, tokens[1:]))
    kinds = [t[0] for t in tokens if t[0] != lexer.WS]
    assert lexer.STRING in kinds and lexer.TEMPLATE in kinds and lexer.REGEX in kinds
    assert [text[t[1]:t[2]] for t in tokens if t[0] == lexer.REGEX] == ["/re[/]g/i"]
    assert lexer.mask("a == 'secret' && b > 12") == "a == '?' && b > ?"
    slashes = "(/[" * 3000  # each slash may open a regular expression; none closes
    assert [t[0] for t in lexer.tokenize(slashes)] == [lexer.PUNCT] * 9000


def test_lexer_fuzz():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("ab1 .'\"`${}()/\\*\n+-=|&") + ["//", "/*", "*/", "${"])

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.lists(alphabet, max_size=60).map("".join))
    def run(text):
        tokens = lexer.tokenize(text)
        assert "".join(text[t[1]:t[2]] for t in tokens) == text
        for start in range(0, len(text), 7):
            nosql.judge(text, tokens, start, min(len(text), start + 3))

    run()
