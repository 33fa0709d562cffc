"""The SQL injection decision: did one of the request's inputs bend the structure of a query?

An input is an injection when its value occurs in the query's text and
that occurrence is not held by one token the app meant to be data: it is
neither strictly inside one string literal or quoted identifier, nor within
one number, bare word or placeholder. An occurrence that spans several
tokens (``1 OR 1=1``), leaves a string (``' OR '1'='1``), opens a comment or
a second statement bends the query. Three shapes spanning tokens stay
innocent because an app concatenating data legitimately produces them: a
signed number (``-1``), a dotted name (``schema.table``), and whitespace
around a single operator or punctuation mark.

Escaped or bound values never trigger: a bound value is not in the text,
and an escaped one (``O'Brien`` as ``O''Brien``) no longer occurs as it was
received. Inside a literal, an input that ends with an open escape (a
trailing backslash, or a quote that pairs with the app's closing quote)
swallowed the app's delimiter and is an injection too.

The common case costs one substring search per input; the query is lexed
only on an occurrence, in full only around it.
"""
from __future__ import unicode_literals

import six

from sqreen import _log
from sqreen.protections import _matching
from sqreen.protections import _sql_lexer as lexer


class Attack(object):
    """An injection: the dialect, the input's source and name, where its value
    occurs in the query (``start``, ``end``), and the query with its literal values masked.

    :func:`check` leaves the masked query to be made on first use of
    ``query``: the decision never pays for it, only the event that shows it.
    """

    __slots__ = ("dialect", "source", "name", "start", "end", "_query", "_unmasked")
    _fields = ("dialect", "source", "name", "start", "end", "query")

    def __init__(self, dialect, source, name, start, end, query):
        self.dialect = dialect
        self.source = source
        self.name = name
        self.start = start
        self.end = end
        self._query = query
        self._unmasked = None

    @classmethod
    def unmasked(cls, d, source, name, start, end, query):
        """The Attack on ``query`` (raw) under Dialect ``d``, its masked text made when first read."""
        attack = cls(d.name, source, name, start, end, None)
        attack._unmasked = (query, d)
        return attack

    @property
    def query(self):
        if self._query is None and self._unmasked is not None:
            query, d = self._unmasked
            self._query = lexer.mask(query, d, MASK)
            self._unmasked = None
        return self._query

    def _astuple(self):
        return (self.dialect, self.source, self.name, self.start, self.end, self.query)

    def _asdict(self):
        return dict(zip(self._fields, self._astuple()))

    def __eq__(self, other):
        if not isinstance(other, Attack):
            return NotImplemented
        return self._astuple() == other._astuple()

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self._astuple())

    def __repr__(self):
        return "Attack(%s)" % ", ".join("%s=%r" % kv for kv in zip(self._fields, self._astuple()))


_DATA = (lexer.NUMBER, lexer.IDENT, lexer.PARAM, lexer.OP)
_QUOTED = (lexer.STRING, lexer.QIDENT)
_NAME = (lexer.IDENT, lexer.QIDENT)
MASK = "?"


def check(query, dialect, inputs, **options):
    """None, or the :class:`Attack` of the first input that bends ``query``.

    ``dialect`` is "sqlite", "postgresql", "mysql" (or "mariadb") or a
    :class:`~sqreen.protections._sql_lexer.Dialect`; ``options`` are those of
    :func:`~sqreen.protections._sql_lexer.dialect`. ``inputs`` is an iterable
    of ``(source, name, value)``. Never raises: an error is logged once and
    counted, and the query is let through.
    """
    try:
        if isinstance(query, bytes) and not isinstance(query, six.text_type):
            query = query.decode("utf-8", "replace")
        if not _matching.candidates(query, inputs):  # the common case: no input occurs in the query
            return None
        occurrences = _matching.find_occurrences(query, inputs)
        d = dialect if isinstance(dialect, lexer.Dialect) else lexer.dialect(dialect, **options)
        return _first_attack(query, d, occurrences)
    except Exception:
        _log.log_once("protections.sql_injection", "SQL injection check failed; query let through",
                      exc_info=True)
        return None


def _first_attack(query, d, occurrences):
    """The Attack of the first input with an occurrence that bends and none held in a literal."""
    flagged = {}
    cleared = set()
    for item, start, end in occurrences:
        key = id(item)
        if key in cleared:
            continue
        verdict = judge(query, d, start, end)
        if verdict == IN_LITERAL:
            cleared.add(key)
        elif verdict == BENDS:
            flagged.setdefault(key, start)
    for item, start, end in occurrences:
        key = id(item)
        if key not in cleared and flagged.get(key) == start:
            return Attack.unmasked(d, item[0], item[1], start, end, query)
    return None


BENDS = "bends"
IN_LITERAL = "in_literal"
DATA = "data"


def bends(query, d, start, end):
    """True when ``query[start:end]`` is not held by one data token of ``query``."""
    return judge(query, d, start, end) == BENDS


def judge(query, d, start, end):
    """How ``query[start:end]`` sits in the query: ``BENDS``, ``IN_LITERAL`` or ``DATA``."""
    tokens = lexer.tokenize(query, d, fine_from=start, stop=end, begin=lexer.safe_start(query, d, start))
    touched = [t for t in tokens if t[2] > start and t[1] < end and t[0] != lexer.WS]
    if not touched:
        return DATA
    if len(touched) == 1:
        return _judge_one(query, touched[0], start, end, d)
    if len(touched) == 2 and _signed_number(query, touched, start):
        return DATA
    return DATA if _dotted_name(query, touched) else BENDS


def _judge_one(query, tok, start, end, d):
    kind, _, tok_end, body_start, body_end = tok
    if kind in _DATA:
        return DATA
    if kind in _QUOTED:
        # Within the literal, delimiters included (a value may itself be a whole literal).
        if (body_start <= start and end < tok_end and not _mid_escape(query, tok, start, d)
                and _open_escape(query, tok, end, d)):
            return BENDS
        return IN_LITERAL
    if kind == lexer.COMMENT:
        if start < body_start or end > body_end or (d.nested_comments and "/*" in query[start:end]):
            return BENDS
        return DATA
    return BENDS


def _open_escape(query, tok, end, d):
    """True when the input ending at ``end`` inside ``tok`` escapes the app's next character."""
    quote_at = tok[3] - 1
    quote = query[quote_at]
    if quote not in "'\"`]":
        return False
    if query[end - 1] == "\\" and query[end] == quote and _backslashes(query, tok, d):
        return (end - _run_start(query, tok, end, "\\")) % 2 == 1
    if query[end - 1] == quote and query[end] == quote:
        # Quotes pair from the start of their run: does the input's last quote pair with the next one?
        return (end - 1 - _run_start(query, tok, end - 1, quote)) % 2 == 0
    return False


def _run_start(query, tok, pos, char):
    """Where the run of ``char`` ending just before ``pos`` starts, within ``tok``'s body."""
    run = pos
    while run > tok[3] and query[run - 1] == char:
        run -= 1
    return run


def _mid_escape(query, tok, start, d):
    """True when ``start`` falls inside an escape sequence: the occurrence is not where the app put it."""
    quote = query[tok[3] - 1]
    if start > tok[3] and query[start] == quote and query[start - 1] == quote:
        return (start - _run_start(query, tok, start, quote)) % 2 == 1
    if start > tok[3] and query[start - 1] == "\\" and _backslashes(query, tok, d):
        return (start - _run_start(query, tok, start, "\\")) % 2 == 1
    return False


def _backslashes(query, tok, d):
    """Whether backslashes escape in the quoted token ``tok``."""
    quote_at = tok[3] - 1
    if tok[0] != lexer.STRING:
        return False
    if query[quote_at] == "'":
        return lexer.string_start(query, quote_at, d)[1]
    return query[quote_at] == '"' and d.backslash


def _signed_number(query, touched, start):
    sign, number = touched
    return (sign[0] == lexer.OP and number[0] == lexer.NUMBER and sign[2] == number[1]
            and start == sign[2] - 1 and query[start] in "+-")


def _dotted_name(query, touched):
    for i, tok in enumerate(touched):
        if i % 2 == 0:
            if tok[0] not in _NAME:
                return False
        elif tok[0] != lexer.OP or query[tok[1]:tok[2]] != ".":
            return False
        if i and touched[i - 1][2] != tok[1]:
            return False
    return len(touched) % 2 == 1


def masked(query, d):
    """``query`` with each string and number literal replaced by ``?``."""
    return lexer.mask(query, d, MASK)
