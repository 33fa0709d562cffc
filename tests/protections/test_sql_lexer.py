# -*- coding: utf-8 -*-
"""The SQL lexer: dialect rules, exact coverage, coarse/fine agreement, and linear work (fuzzed)."""
from __future__ import unicode_literals

import pytest
from hypothesis import given, settings, strategies as st

from sqreen.protections import _sql_lexer as lexer

DIALECTS = [
    lexer.dialect("sqlite"), lexer.dialect("postgresql"), lexer.dialect("mysql"),
    lexer.dialect("mysql", ansi_quotes=True), lexer.dialect("mysql", backslash_escapes=False),
    lexer.dialect("postgresql", standard_conforming_strings=False),
]


def kinds(query, d):
    return [(t[0], query[t[1]:t[2]]) for t in lexer.tokenize(query, d) if t[0] != lexer.WS]


@pytest.mark.parametrize("d, query, expected", [
    ("sqlite", "a'b''c'", [("ident", "a"), ("string", "'b''c'")]),
    ("sqlite", "[x y] \"q\"\"\" `b`", [("qident", "[x y]"), ("qident", '"q"""'), ("qident", "`b`")]),
    ("sqlite", "X'41' 0x1F 1.5e-3 .5", [("string", "X'41'"), ("number", "0x1F"), ("number", "1.5e-3"),
                                        ("number", ".5")]),
    ("sqlite", "? ?3 :n @n $n", [("param", "?"), ("param", "?3"), ("param", ":n"), ("param", "@n"),
                                 ("param", "$n")]),
    ("sqlite", "'a\\' b", [("string", "'a\\'"), ("ident", "b")]),
    ("sqlite", "--x\ny /* a /* b */ c",
     [("comment", "--x"), ("ident", "y"), ("comment", "/* a /* b */"), ("ident", "c")]),
    ("postgresql", "/* a /* b */ c */ d", [("comment", "/* a /* b */ c */"), ("ident", "d")]),
    ("postgresql", "E'a\\'b' 'a\\' b", [("string", "E'a\\'b'"), ("string", "'a\\'"), ("ident", "b")]),
    ("postgresql", "$$it's$$ $q$a$$b$q$ $1 a$b",
     [("string", "$$it's$$"), ("string", "$q$a$$b$q$"), ("param", "$1"), ("ident", "a$b")]),
    ("postgresql", "x::int B'01' \"A\"\"b\"",
     [("ident", "x"), ("op", "::"), ("ident", "int"), ("string", "B'01'"), ("qident", '"A""b"')]),
    ("postgresql", "%s %(name)s %%", [("param", "%s"), ("param", "%(name)s"), ("op", "%"), ("op", "%")]),
    ("mysql", "'a\\'b' \"c\\\"d\" `t``u`",
     [("string", "'a\\'b'"), ("string", '"c\\"d"'), ("qident", "`t``u`")]),
    ("mysql", "# c\n--x -- y\nz", [("comment", "# c"), ("op", "-"), ("op", "-"), ("ident", "x"),
                                   ("comment", "-- y"), ("ident", "z")]),
    ("mysql", "/* a /* b */ c */", [("comment", "/* a /* b */"), ("ident", "c"), ("op", "*"), ("op", "/")]),
    ("mysql", "/*!50001 UNION */ /*M! x */", [("exec_open", "/*!50001"), ("ident", "UNION"),
                                              ("exec_close", "*/"), ("exec_open", "/*M!"), ("ident", "x"),
                                              ("exec_close", "*/")]),
    ("mysql", "0b101 b'1' X'ff' N'é'", [("number", "0b101"), ("string", "b'1'"), ("string", "X'ff'"),
                                        ("string", "N'é'")]),
    ("mysql", "@v @@global.x :=", [("param", "@v"), ("param", "@@global"), ("op", "."), ("ident", "x"),
                                   ("op", ":=")]),
])
def test_dialect_rules(d, query, expected):
    assert kinds(query, d) == expected


def test_mysql_options():
    assert kinds('"a"', lexer.dialect("mysql", ansi_quotes=True)) == [("qident", '"a"')]
    no_backslash = lexer.dialect("mysql", backslash_escapes=False)
    assert kinds("'a\\' b", no_backslash) == [("string", "'a\\'"), ("ident", "b")]
    assert kinds("'a\\' b", lexer.dialect("postgresql", standard_conforming_strings=False)) == [
        ("string", "'a\\' b")]


def test_unterminated_constructs_run_to_the_end():
    for d in DIALECTS:
        for query in ["'abc", '"abc', "/* abc", "-- abc", "'a\\", "/* /* */"]:
            toks = lexer.tokenize(query, d)
            assert toks[-1][2] == len(query)
            assert len([t for t in toks if t[0] != lexer.WS]) == 1 or d.name == "mysql"


def test_bodies():
    query = "E'ab' $t$xy$t$ /*c*/ 'd"
    toks = [t for t in lexer.tokenize(query, "postgresql") if t[0] != lexer.WS]
    assert [query[t[3]:t[4]] for t in toks] == ["ab", "xy", "c", "d"]


def test_unknown_dialect():
    with pytest.raises(ValueError):
        lexer.dialect("oracle")
    assert lexer.dialect("mariadb") is lexer.dialect("mysql")


SQL_CHARS = "'\"`[]$/*-#\\\n\t abeExX01.:?%()!@;M"
sql_text = st.one_of(st.text(alphabet=SQL_CHARS, max_size=60), st.text(max_size=40))


@settings(max_examples=300, deadline=None)
@given(query=sql_text, which=st.integers(0, len(DIALECTS) - 1))
def test_tokens_cover_the_text_exactly(query, which):
    toks = lexer.tokenize(query, DIALECTS[which])
    assert "".join(query[t[1]:t[2]] for t in toks) == query
    assert all(t[1] < t[2] and t[1] <= t[3] <= t[4] <= t[2] for t in toks)
    assert len(toks) <= len(query)


@settings(max_examples=300, deadline=None)
@given(query=sql_text, which=st.integers(0, len(DIALECTS) - 1), cut=st.floats(0, 1))
def test_coarse_prefix_agrees_with_full_lexing(query, which, cut):
    d = DIALECTS[which]
    fine_from = int(len(query) * cut)
    full = lexer.tokenize(query, d)
    mixed = lexer.tokenize(query, d, fine_from=fine_from)
    assert "".join(query[t[1]:t[2]] for t in mixed) == query
    # Literals and comments are the same; after the last CODE run, every token is the same.
    constructs = (lexer.STRING, lexer.QIDENT, lexer.COMMENT, lexer.EXEC_OPEN, lexer.EXEC_CLOSE)
    assert [t for t in mixed if t[0] in constructs] == [t for t in full if t[0] in constructs]
    codes = [i for i, t in enumerate(mixed) if t[0] == lexer.CODE]
    rest = mixed[codes[-1] + 1:] if codes else mixed
    assert all(t in full for t in rest if t[0] != lexer.WS)
    assert all(t[2] <= fine_from for t in mixed if t[0] == lexer.CODE)


@settings(max_examples=200, deadline=None)
@given(query=sql_text, which=st.integers(0, len(DIALECTS) - 1), a=st.floats(0, 1), b=st.floats(0, 1))
def test_stop_gives_a_prefix_reaching_stop(query, which, a, b):
    d = DIALECTS[which]
    stop = int(len(query) * max(a, b))
    toks = lexer.tokenize(query, d, fine_from=int(len(query) * min(a, b)), stop=stop)
    if query:
        assert toks[0][1] == 0 and toks[-1][2] >= stop
        assert all(x[2] == y[1] for x, y in zip(toks, toks[1:]))


class Counter(object):
    """Counts the lexer's steps: one full-mode token or one coarse search each."""

    def __init__(self, monkeypatch):
        self.steps = 0
        real_construct = lexer.construct_at

        def construct_at(*args, **kwargs):
            self.steps += 1
            return real_construct(*args, **kwargs)

        monkeypatch.setattr(lexer, "construct_at", construct_at)


@pytest.mark.parametrize("unit", ["/*", "*/", "$a$", "'\\", "''", "-- ", "\\'", "/*!", "E'", "[", "$"])
def test_work_is_linear_in_the_input(monkeypatch, unit):
    counter = Counter(monkeypatch)
    counts = []
    for d in DIALECTS:
        for k in (100, 1000):
            counter.steps = 0
            toks = lexer.tokenize(unit * k, d)
            counts.append((k, counter.steps, len(toks)))
    for (k1, steps1, n1), (k2, steps2, n2) in zip(counts[::2], counts[1::2]):
        # Ten times the input: at most ten times the steps and tokens (plus a constant).
        assert steps2 <= 10 * steps1 + 2 and n2 <= 10 * n1 + 2
        assert steps2 <= len(unit) * k2


def full_mask(query, d):
    """The masked text from the full lexing, token by token (what mask() must give)."""
    def masked(token):
        text = query[token[1]:token[2]]
        if token[0] == lexer.COMMENT:
            return lexer.masked_comment(text)
        return "?" if token[0] in (lexer.STRING, lexer.NUMBER) else text

    return "".join(masked(t) for t in lexer.tokenize(query, d))


@pytest.mark.parametrize("query, d, expected", [
    ("SELECT name FROM users WHERE name = 'admin' --' AND password = 'hunter2'", "sqlite",
     "SELECT name FROM users WHERE name = ? --?"),
    ("SELECT 1 # password = 'hunter2'\n, 2", "mysql", "SELECT ? #?\n, ?"),
    ("SELECT 1 /* 'hunter2' /* nested */ 'x' */ FROM t", "postgresql", "SELECT ? /*?*/ FROM t"),
    ("SELECT 1 /* unterminated 'hunter2'", "mysql", "SELECT ? /*?"),
])
def test_mask_hides_what_comments_hold(query, d, expected):
    assert lexer.mask(query, d) == expected


@pytest.mark.parametrize("query", [
    "SELECT a1, 1.5e3, .5, 0x1F, 0b10, 1e, x.5, ?3, $1, :n1, @@v1, %(p1)s, 'a1' FROM t9 WHERE b = -2",
    "1.5.6 1..2 12abc 0xg 1e-3 1e--3 a$1 N'x' x'1' E'a\\'b' \"q1\" `b1` [c1] /* 1 */ -- 1\n2",
    "SELECT 1 /*!50001 , 2 */ #3\n, 4 $$5$$ $t$6$t$ 7",
    "١٢ x١ 'é' 3",
])
def test_mask_matches_full_lexing(query):
    for d in DIALECTS:
        assert lexer.mask(query, d) == full_mask(query, d)


NUMBER_CHARS = SQL_CHARS + "0123456789eExXbB+-.%st_$:@?\u0661"


@settings(max_examples=400, deadline=None)
@given(query=st.one_of(sql_text, st.text(alphabet=NUMBER_CHARS, max_size=60)),
       which=st.integers(0, len(DIALECTS) - 1))
def test_mask_matches_full_lexing_fuzzed(query, which):
    d = DIALECTS[which]
    assert lexer.mask(query, d) == full_mask(query, d)


def assert_safe_start(query, d, pos, begin):
    assert 0 <= begin <= pos
    full = lexer.tokenize(query, d)
    assert lexer.tokenize(query, d, begin=begin) == [t for t in full if t[1] >= begin]


@settings(max_examples=400, deadline=None)
@given(query=st.one_of(sql_text, st.text(alphabet="'abeE1 =-/*", max_size=60)),
       which=st.integers(0, len(DIALECTS) - 1), cut=st.floats(0, 1))
def test_safe_start_is_a_boundary_of_the_full_lexing(query, which, cut):
    d = DIALECTS[which]
    pos = int(len(query) * cut)
    assert_safe_start(query, d, pos, lexer.safe_start(query, d, pos))


@settings(max_examples=300, deadline=None)
@given(query=sql_text, which=st.integers(0, len(DIALECTS) - 1), cut=st.floats(0, 1))
def test_safe_start_by_the_skipper_alone(query, which, cut):
    d = DIALECTS[which]
    pos = int(len(query) * cut)
    assert_safe_start(query, d, pos, lexer._by_skipper(query, d, pos))


@pytest.mark.parametrize("query, pos, begin", [
    ("SELECT 'a' || 'b''c' AND x", 24, 20), ("SELECT 'a' || 'b''c' AND x", 17, None),
    ("a = '' OR '1'='1'", 5, 4), ("a = E'x' OR 1", 7, None), ("SELECT 1", 5, 0), ("a = -- c\n 1", 10, None),
])
def test_safe_start_by_quote_count(query, pos, begin):
    d = lexer.dialect("sqlite")
    assert lexer._by_quote_count(query, d, pos) == begin
    assert_safe_start(query, d, pos, lexer.safe_start(query, d, pos))


@pytest.mark.parametrize("query, expected", [
    ("%b'1'", [("param", "%b"), ("string", "'1'")]),
    ("%(n)b'1'", [("param", "%(n)b"), ("string", "'1'")]),
    ("(n)b'1'", [("op", "("), ("ident", "n"), ("op", ")"), ("string", "b'1'")]),
])
def test_a_format_placeholder_is_not_a_string_prefix(query, expected):
    assert kinds(query, "sqlite") == expected
