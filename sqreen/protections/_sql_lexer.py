"""A dialect-aware SQL lexer for SQLite, PostgreSQL and MySQL / MariaDB, made to judge injections.

It splits a query into tokens ``(kind, start, end, body_start, body_end)``
whose texts, put together, give back the query exactly; ``body`` is the
part inside a literal's or a comment's delimiters (the whole token for the
other kinds). It never raises and takes linear time: each construct is
matched by one regular expression whose alternatives start with different
characters (so it never backtracks) or found with ``str.find``; an
unterminated string, identifier or comment becomes one token to the end.

Besides full lexing, :func:`tokenize` can run *coarse* before a position:
the code between literals and comments is then one ``CODE`` token, found
with a single search for the next opening delimiter. The literals and
comments are the same in both modes, which is what lets the decision lex in
full only the few tokens around an input's occurrence in a long query.
"""
from __future__ import unicode_literals

import re

WS = "ws"
COMMENT = "comment"
STRING = "string"
IDENT = "ident"  # a bare word: identifier or keyword
QIDENT = "qident"  # a quoted identifier
NUMBER = "number"
PARAM = "param"  # a placeholder or a variable
OP = "op"
EXEC_OPEN = "exec_open"  # MySQL /*! ... opening an executable comment
EXEC_CLOSE = "exec_close"
CODE = "code"  # coarse mode only

# Identifier characters: ASCII letters, digits, "_" and "$", and anything beyond ASCII.
_ID_CHAR = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_ID_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
_TAG_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_ID_CHAR_RE = re.compile(_ID_CHAR)
_NOT_PREFIX_AFTER = re.compile(r"%s|[:@$]" % _ID_CHAR)
_NUMBER = r"0[xX][0-9A-Fa-f]+|0[bB][01]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

_CODE = re.compile(
    r"(?P<ws>[ \t\n\r\f\v]+)"
    r"|(?P<number>{number})"
    r"|(?P<ident>{start}{char}*)"
    r"|(?P<op2>::|:=)"
    r"|(?P<param>\?\d*|%(?:\([A-Za-z0-9_]*\))?[sbt]|[:@$]{char}+|@@{char}+)"
    r"|(?P<op>[\s\S])".format(start=_ID_START, char=_ID_CHAR, number=_NUMBER)
)
# Code without literals, cut as _CODE cuts it: a run of tokens other than numbers (each
# alternative refuses what a number would take), or one number.
_CODE_NUMBERS = re.compile(
    r"(?:[ \t\n\r\f\v]+|(?!\d){start}{char}*|::|:=|\?\d*|%(?:\([A-Za-z0-9_]*\))?[sbt]|[:@$]{char}+"
    r"|@@{char}+|(?!\.\d)\D)+"
    r"|(?P<number>{number})".format(start=_ID_START, char=_ID_CHAR, number=_NUMBER)
)
_KINDS = {"ws": WS, "number": NUMBER, "ident": IDENT, "op2": OP, "param": PARAM, "op": OP}


def _quoted_re(quote, backslash):
    """One quoted construct: doubled quotes escape, and backslashes when asked."""
    q = re.escape(quote)
    if backslash:
        body = r"(?:[^{q}\\]+|\\[\s\S]|\\\Z|{q}{q})*".format(q=q)
    else:
        body = r"(?:[^{q}]+|{q}{q})*".format(q=q)
    return re.compile(r"{q}{body}(?:({q})|\Z)".format(q=q, body=body))


_SINGLE = _quoted_re("'", False)
_SINGLE_BS = _quoted_re("'", True)
_DOUBLE = _quoted_re('"', False)
_DOUBLE_BS = _quoted_re('"', True)
_BACKTICK = _quoted_re("`", False)
_BRACKET = re.compile(r"\[[^\]]*(?:\]|\Z)")
_DOLLAR_TAG = re.compile(r"\$(?:%s%s*)?\$" % (_ID_START.replace("\\x40", "\\x40\\x24"), _TAG_CHAR))
_EXEC_OPEN = re.compile(r"/\*M?!\d*")


class Dialect(object):
    """The lexical rules of one SQL dialect with its session options."""

    def __init__(self, name, backslash, double_quote_string, backtick, brackets, dollar, e_strings,
                 hash_comment, dash_needs_space, nested_comments, executable_comments):
        self.name = name
        self.backslash = backslash
        self.double_quote_string = double_quote_string
        self.backtick = backtick
        self.brackets = brackets
        self.dollar = dollar
        self.e_strings = e_strings
        self.hash_comment = hash_comment
        self.dash_needs_space = dash_needs_space
        self.nested_comments = nested_comments
        self.executable_comments = executable_comments
        self.line_end = "\r\n" if name == "postgresql" else "\n"
        openers = ["'", '"', r"/\*"]
        openers.append(r"--(?=[\x00-\x20]|\Z)" if dash_needs_space else "--")
        if backtick:
            openers.append("`")
        if brackets:
            openers.append(r"\[")
        if hash_comment:
            openers.append("#")
        if dollar:
            openers.append(r"\$")
        self.opener = re.compile("|".join(openers))
        self.opener_in_exec = re.compile("|".join(openers + [r"\*/"]))
        self.dash = re.compile(openers[3])
        self.skipper = _skipper(self, openers[3])
        # Their absence leaves single quotes the only delimiters: what safe_start counts on.
        self.not_quotes = ['"', "\\"] + [
            c for c, on in (("`", backtick), ("[", brackets), ("#", hash_comment), ("$", dollar)) if on]

    def __repr__(self):
        return "Dialect(%r)" % self.name


def _quoted_body(quote, backslash):
    q = re.escape(quote)
    if backslash:
        return r"{q}(?:[^{q}\\]+|\\[\s\S]|\\\Z|{q}{q})*(?:{q}|\Z)".format(q=q)
    return r"{q}(?:[^{q}]+|{q}{q})*(?:{q}|\Z)".format(q=q)


def _skipper(d, dash):
    """The regular expression that :func:`safe_start` runs: code and plain constructs, in one match.

    It takes runs of code and the literals and comments that need no
    context (group ``c``), and stops before anything else: a quote after a
    possible prefix letter, a dollar tag, an executable or (where they
    nest) any block comment. Every construct it takes ends as the one
    :func:`construct_at` finds.
    """
    special = "'\"/-" + ("`" if d.backtick else "") + ("[" if d.brackets else "") + (
        "#" if d.hash_comment else "") + ("$" if d.dollar else "")
    plain = ["[^%s]+" % "".join("\\" + c for c in special), r"/(?!\*)", r"-(?!%s)" % dash[1:]]
    if d.dollar:
        tag_start = _ID_START.replace("\\x40", "\\x40\\x24")
        plain.append(r"(?<=%s)\$|\$(?!(?:%s%s*)?\$)" % (_ID_CHAR, tag_start, _TAG_CHAR))
    constructs = [r"(?<![eEbBxXnN])" + _quoted_body("'", d.backslash),
                  _quoted_body('"', d.backslash and d.double_quote_string),
                  dash + (r"[^\r\n]*" if d.line_end == "\r\n" else r"[^\n]*")]
    if not d.nested_comments:
        constructs.append(r"/\*%s[\s\S]*?(?:\*/|\Z)" % (r"(?!M?!)" if d.executable_comments else ""))
    if d.backtick:
        constructs.append(_quoted_body("`", False))
    if d.brackets:
        constructs.append(r"\[[^\]]*(?:\]|\Z)")
    if d.hash_comment:
        constructs.append(r"#[^\n]*")
    return re.compile(r"(?:%s|(?P<c>%s))*" % ("|".join(plain), "|".join(constructs)))


_dialects = {}

DIALECTS = ("sqlite", "postgresql", "mysql")


def dialect(name, ansi_quotes=False, backslash_escapes=None, standard_conforming_strings=True):
    """The rules of ``name`` ("sqlite", "postgresql", "mysql"; "mariadb" is "mysql").

    MySQL options: ``ansi_quotes`` (double quotes delimit identifiers) and
    ``backslash_escapes`` (default True; False is ``NO_BACKSLASH_ESCAPES``).
    PostgreSQL: ``standard_conforming_strings`` (default True; when False,
    backslashes escape in every string, not only in ``E''`` ones).
    """
    if name == "mariadb":
        name = "mysql"
    key = (name, bool(ansi_quotes), backslash_escapes, bool(standard_conforming_strings))
    found = _dialects.get(key)
    if found is not None:
        return found
    if name == "sqlite":
        made = Dialect(name, False, False, True, True, False, False, False, False, False, False)
    elif name == "postgresql":
        made = Dialect(name, not standard_conforming_strings, False, False, False, True, True,
                       False, False, True, False)
    elif name == "mysql":
        backslash = True if backslash_escapes is None else bool(backslash_escapes)
        made = Dialect(name, backslash, not ansi_quotes, True, False, False, False, True, True, False, True)
    else:
        raise ValueError("unknown SQL dialect %r" % (name,))
    _dialects[key] = made
    return made


_FORMAT_NAME = re.compile(r"[A-Za-z0-9_]*\)b")


def _ends_format_param(text, b):
    """True when the ``b`` at ``b`` ends a ``%b`` or ``%(name)b`` placeholder (not a prefix then)."""
    if b < 1:
        return False
    if text[b - 1] == "%":
        return True
    if text[b - 1] != ")":
        return False
    opened = text.rfind("(", 0, b)
    return opened > 0 and text[opened - 1] == "%" and _FORMAT_NAME.match(text, opened + 1) is not None and (
        _FORMAT_NAME.match(text, opened + 1).end() == b + 1)


def string_start(text, q, d):
    """Where the string whose quote is at ``q`` starts, and whether backslashes escape in it."""
    if q > 0:
        prefix = text[q - 1]
        if prefix in "eEbBxXnN" and (q < 2 or not _NOT_PREFIX_AFTER.match(text, q - 2)) and not (
                prefix == "b" and _ends_format_param(text, q - 1)):
            if prefix in "bBxX":
                return q - 1, False
            if prefix in "eE" and d.e_strings:
                return q - 1, True
            return q - 1, d.backslash
    return q, d.backslash


def _block_comment_end(text, pos, nested):
    """``(end, closed)`` of the block comment opened at ``pos`` (unterminated: the text's end)."""
    if not nested:
        close = text.find("*/", pos + 2)
        return (len(text), False) if close < 0 else (close + 2, True)
    depth = 1
    i = pos + 2
    next_open = text.find("/*", i)
    while True:
        close = text.find("*/", i)
        if close < 0:
            return len(text), False
        if 0 <= next_open < close:
            depth += 1
            i = next_open + 2
            next_open = text.find("/*", i)
            continue
        depth -= 1
        i = close + 2
        if depth == 0:
            return i, True
        if 0 <= next_open < i:
            next_open = text.find("/*", i)


def _line_comment(text, pos, skip, d):
    ends = [text.find(c, pos) for c in d.line_end]
    ends = [e for e in ends if e >= 0]
    end = min(ends) if ends else len(text)
    return (COMMENT, pos, end, pos + skip, end)


def _quoted(text, start, q, regex, kind):
    m = regex.match(text, q)
    end = m.end()
    return (kind, start, end, q + 1, end - 1 if m.group(1) else end)


def construct_at(text, pos, d, in_exec=False):
    """The literal, quoted identifier or comment starting at ``pos``, or None."""
    c = text[pos]
    if c == "'":
        start, backslash = string_start(text, pos, d)
        return _quoted(text, start, pos, _SINGLE_BS if backslash else _SINGLE, STRING)
    if c == '"':
        if d.double_quote_string:
            return _quoted(text, pos, pos, _DOUBLE_BS if d.backslash else _DOUBLE, STRING)
        return _quoted(text, pos, pos, _DOUBLE, QIDENT)
    if c == "`" and d.backtick:
        return _quoted(text, pos, pos, _BACKTICK, QIDENT)
    if c == "[" and d.brackets:
        end = _BRACKET.match(text, pos).end()
        return (QIDENT, pos, end, pos + 1, end - 1 if text[end - 1] == "]" else end)
    if c == "/" and text.startswith("/*", pos):
        if d.executable_comments and not in_exec:
            m = _EXEC_OPEN.match(text, pos)
            if m:
                return (EXEC_OPEN, pos, m.end(), pos, m.end())
        end, closed = _block_comment_end(text, pos, d.nested_comments)
        return (COMMENT, pos, end, pos + 2, end - 2 if closed else end)
    if c == "-" and d.dash.match(text, pos):
        return _line_comment(text, pos, 2, d)
    if c == "#" and d.hash_comment:
        return _line_comment(text, pos, 1, d)
    if c == "$" and d.dollar and not (pos and _ID_CHAR_RE.match(text, pos - 1)):
        m = _DOLLAR_TAG.match(text, pos)
        if m:
            tag = m.group()
            close = text.find(tag, m.end())
            end = len(text) if close < 0 else close + len(tag)
            return (STRING, pos, end, m.end(), close if close >= 0 else end)
    if c == "*" and in_exec and text.startswith("*/", pos):
        return (EXEC_CLOSE, pos, pos + 2, pos, pos + 2)
    return None


def safe_start(text, d, pos):
    """A token boundary at or before ``pos`` from which lexing gives the same tokens as from 0.

    One match of the dialect's skipper over ``text[:pos]``, in C: the end
    of the last literal or comment it took whole, or the start of one that
    ``pos`` cuts (its end is not known yet). Lexing from there, out of any
    MySQL executable comment, costs only what lies between it and ``pos``.
    """
    if not isinstance(d, Dialect):
        d = dialect(d)
    found = _by_quote_count(text, d, pos)
    return _by_skipper(text, d, pos) if found is None else found


def _by_skipper(text, d, pos):
    m = d.skipper.match(text, 0, pos)
    c_start, c_end = m.span("c")
    if c_start < 0:
        return 0
    return c_start if c_end >= pos else c_end


def _by_quote_count(text, d, pos):
    """safe_start when single quotes are the only delimiters before ``pos``, else None.

    Then a quote count tells inside from outside, as long as ``pos`` is not
    within a run of quotes: even, the last quote closed a string; odd
    with the quote just before ``pos``, that run opened the string.
    """
    for c in d.not_quotes:
        if text.find(c, 0, pos) >= 0:
            return None
    for pair in ("/*", "--"):
        if text.find(pair[0], 0, pos) >= 0 and text.find(pair, 0, pos) >= 0:
            return None
    last = text.rfind("'", 0, pos)
    if last < 0:
        return 0
    if last + 1 < pos:
        return last + 1 if text.count("'", 0, pos) % 2 == 0 else None
    run = last
    while run > 0 and text[run - 1] == "'":
        run -= 1
    if run > 0 and text[run - 1] in "eEbBxXnN" or text.count("'", 0, run) % 2:
        return None
    return run


def tokenize(text, d, fine_from=0, stop=None, begin=0):
    """The tokens of ``text`` under dialect ``d`` (a :class:`Dialect` or a name).

    Code before ``fine_from`` is lexed coarsely (``CODE`` tokens between
    the literals and comments); lexing stops after the first token that
    reaches ``stop`` (None: the end). ``begin``, when given, is where to
    start, a point :func:`safe_start` gave. Never raises on any text.
    """
    if not isinstance(d, Dialect):
        d = dialect(d)
    n = len(text)
    stop = n if stop is None else min(stop, n)
    tokens = []
    append = tokens.append
    pos = begin
    in_exec = False
    while pos < n and (pos < stop or not tokens):
        if pos < fine_from:
            pos, in_exec, coarse_done = _coarse(text, pos, d, in_exec, fine_from, append)
            if coarse_done:
                fine_from = 0
            continue
        c = text[pos]
        tok = None
        if c in "'\"`[/-#$*":
            tok = construct_at(text, pos, d, in_exec)
        elif c in "eEbBxXnN" and pos + 1 < n and text[pos + 1] == "'":
            if string_start(text, pos + 1, d)[0] == pos:
                tok = construct_at(text, pos + 1, d, in_exec)
        if tok is None:
            m = _CODE.match(text, pos)
            tok = (_KINDS[m.lastgroup], pos, m.end(), pos, m.end())
        elif tok[0] == EXEC_OPEN:
            in_exec = True
        elif tok[0] == EXEC_CLOSE:
            in_exec = False
        append(tok)
        pos = tok[2]
    return tokens


_WS_CHARS = " \t\n\r\f\v"


def _coarse(text, pos, d, in_exec, fine_from, append):
    """One coarse step from ``pos``: a CODE run and the construct after it.

    Returns ``(pos, in_exec, done)``; done once the next construct lies at
    or beyond ``fine_from``: the CODE run then stops after its last
    whitespace before ``fine_from`` (a token boundary) and full lexing
    takes over from there.
    """
    opener = d.opener_in_exec if in_exec else d.opener
    search_from = pos
    while True:
        m = opener.search(text, search_from)
        q = m.start() if m else len(text)
        if q >= fine_from:
            switch = max(max(text.rfind(c, pos, fine_from) for c in _WS_CHARS) + 1, pos)
            if switch > pos:
                append((CODE, pos, switch, pos, switch))
            return switch, in_exec, True
        tok = construct_at(text, q, d, in_exec)
        if tok is None:
            search_from = q + 1
            continue
        if tok[1] > pos:
            append((CODE, pos, tok[1], pos, tok[1]))
        append(tok)
        if tok[0] == EXEC_OPEN:
            in_exec = True
        elif tok[0] == EXEC_CLOSE:
            in_exec = False
        return tok[2], in_exec, False


def masked_comment(text, replacement="?"):
    """A comment token's marker with its body replaced: a comment can hold the rest of a
    truncated query (``name = 'admin' --' AND password = 'x'``), literals included."""
    if text.startswith("/*"):
        return "/*" + replacement + ("*/" if len(text) >= 4 and text.endswith("*/") else "")
    return ("--" if text.startswith("--") else text[:1]) + replacement


def mask(text, d, replacement="?"):
    """``text`` with each string and number token, and each comment's body, replaced by ``replacement``.

    The same text as joining the full lexing's tokens, at the cost of the
    coarse lexing: the numbers between literals are found by one regular
    expression per run of code.
    """
    if not isinstance(d, Dialect):
        d = dialect(d)

    def number(m):
        return replacement if m.group("number") is not None else m.group()

    parts = []
    for kind, start, end, _, _ in tokenize(text, d, fine_from=len(text)):
        if kind == CODE:
            parts.append(_CODE_NUMBERS.sub(number, text[start:end]))
        else:
            if kind in (STRING, NUMBER):
                parts.append(replacement)
            elif kind == COMMENT:
                parts.append(masked_comment(text[start:end], replacement))
            else:
                parts.append(text[start:end])
    return "".join(parts)
