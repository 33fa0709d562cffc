"""A JavaScript lexer, just enough to tell data from structure in server-side MongoDB JavaScript.

The NoSQL protection reads the JavaScript an app sends MongoDB
(``$where``, ``$function``, ``$accumulator``, ``mapReduce``) to see whether a
request input that occurs in it stays inside one string, number or name.
Tokens are ``(kind, start, end, body_start, body_end)``: the body of a string
or template part is its text between the delimiters, of a comment its text
after ``//`` or between ``/*`` and ``*/``; for other kinds the body is the
token. Template literals are cut into their text parts and the ``${...}``
code between them. A ``/`` starts a regular expression where an operand is
expected, as a JavaScript parser decides. The lexer never fails (an
unterminated string or comment runs to the end) and runs in linear time
(one pass; a regular expression literal is looked for over a bounded
length), with no regular expression of its own.
"""
from __future__ import unicode_literals

WS, COMMENT, STRING, TEMPLATE, NUMBER, IDENT, REGEX, PUNCT = (
    "ws", "comment", "string", "template", "number", "ident", "regex", "punct")

_SPACE = frozenset(" \t\r\n\x0b\x0c\xa0\u2028\u2029\ufeff")
_PUNCTUATORS = (">>>=", "===", "!==", "**=", "<<=", ">>=", ">>>", "...", "&&=", "||=", "??=",
                "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=",
                "%=", "&=", "|=", "^=", "<<", ">>", "**")
#: First character -> the punctuators of two or more characters it starts, longest first.
_LONG_PUNCT = {}
for _op in _PUNCTUATORS:
    _LONG_PUNCT.setdefault(_op[0], []).append(_op)
_IDENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
#: After these words an operand follows, so ``/`` starts a regular expression.
_KEYWORDS_BEFORE_OPERAND = frozenset(("return", "typeof", "instanceof", "in", "of", "new", "delete",
                                      "void", "throw", "case", "do", "else", "yield", "await"))


#: The class of a character: "i" starts a name, "d" a number, "s" is a blank, "q" a quote, "p" anything else.
_CLASS = dict([(c, "i") for c in _IDENT if not c.isdigit()] + [(c, "d") for c in "0123456789"]
              + [(c, "s") for c in _SPACE] + [("'", "q"), ('"', "q")])


def _class(char):
    if ord(char) > 127 and char.isdigit():
        return "d"
    return "i" if ord(char) > 127 and char.isalnum() else "p"


def _ident_char(char):
    return char in _IDENT or (ord(char) > 127 and char.isalnum())


#: The longest regular expression literal recognised (a longer one reads as division).
MAX_REGEX = 512


def _regex_allowed(prev, text):
    if prev is None:
        return True
    kind, start, end = prev[0], prev[1], prev[2]
    if kind == PUNCT:
        return text[start:end] not in (")", "]", "}")
    if kind == IDENT:
        return text[start:end] in _KEYWORDS_BEFORE_OPERAND
    return False


def _quoted(text, i, quote, size):
    """End of the string whose quote is at ``i`` (past its closing quote, or the end of line / text)."""
    j = i + 1
    while j < size:
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char == quote:
            return min(j + 1, size), j
        if char in "\r\n":
            return j, j
        j += 1
    return size, size


def _template_part(text, j, size):
    """``(end of token, end of body, opens code)`` of template text from ``j``."""
    while j < size:
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char == "`":
            return j + 1, j, False
        if char == "$" and text[j + 1:j + 2] == "{":
            return j + 2, j, True
        j += 1
    return size, size, False


def _regex(text, i, size):
    """``(end, body end)`` of the regular expression literal at ``i``, or None when the line ends first.

    A literal is looked for over :data:`MAX_REGEX` characters at most, so that a line of many
    slashes that open none costs linear time, not quadratic.
    """
    j, in_class = i + 1, False
    size = min(size, i + MAX_REGEX)
    while j < size:
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char in "\r\n":
            return None
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            body_end = j
            j += 1
            while j < size and _ident_char(text[j]):
                j += 1
            return j, body_end
        j += 1
    return None


def _number(text, i, size):
    j = i + 1
    while j < size and (text[j].isalnum() or text[j] in "._" or
                        (text[j] in "+-" and text[j - 1] in "eE" and not text[i:i + 2].lower() == "0x")):
        j += 1
    return j


def tokenize(text):
    """The list of tokens of ``text`` (see the module's docstring)."""
    tokens = []
    braces = []  # for each open ``{``: True when it opened a template's ``${``
    prev = None
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        cls = _CLASS.get(char) or _class(char)
        if cls == "i":
            j = i + 1
            while j < size and (text[j] in _IDENT or _ident_char(text[j])):
                j += 1
            tok = (IDENT, i, j, i, j)
        elif cls == "s":
            j = i + 1
            while j < size and text[j] in _SPACE:
                j += 1
            tokens.append((WS, i, j, i, j))
            i = j
            continue
        elif cls == "q":
            j, body_end = _quoted(text, i, char, size)
            tok = (STRING, i, j, i + 1, body_end)
        elif cls == "d" or (char == "." and text[i + 1:i + 2].isdigit()):
            j = _number(text, i, size)
            tok = (NUMBER, i, j, i, j)
        elif char == "`" or (char == "}" and braces and braces[-1]):
            if char == "}":
                braces.pop()
            j, body_end, opens = _template_part(text, i + 1, size)
            if opens:
                braces.append(True)
            tok = (TEMPLATE, i, j, i + 1, body_end)
        elif char == "/" and text[i + 1:i + 2] == "/":
            j = i + 2
            while j < size and text[j] not in "\r\n":
                j += 1
            tok = (COMMENT, i, j, i + 2, j)
        elif char == "/" and text[i + 1:i + 2] == "*":
            close = text.find("*/", i + 2)
            j, body_end = (size, size) if close < 0 else (close + 2, close)
            tok = (COMMENT, i, j, i + 2, body_end)
        else:
            found = _regex(text, i, size) if char == "/" and _regex_allowed(prev, text) else None
            if found is not None:
                j = found[0]
                tok = (REGEX, i, j, i + 1, found[1])
            else:
                j = i + 1
                for op in _LONG_PUNCT.get(char, ()):
                    if text.startswith(op, i):
                        j = i + len(op)
                        break
                if char == "{":
                    braces.append(False)
                elif char == "}" and braces:
                    braces.pop()
                tok = (PUNCT, i, j, i, j)
        tokens.append(tok)
        prev = tok
        i = j
    return tokens


def mask(text, replacement="?", tokens=None):
    """``text`` with the body of each string, template part and number replaced by ``replacement``.

    ``tokens`` are those of ``text`` when the caller has them already."""
    out, last = [], 0
    for kind, start, end, body_start, body_end in tokens if tokens is not None else tokenize(text):
        if kind in (STRING, TEMPLATE) and body_end > body_start:
            out.append(text[last:body_start])
            out.append(replacement)
            last = body_end
        elif kind == NUMBER:
            out.append(text[last:start])
            out.append(replacement)
            last = end
    out.append(text[last:])
    return "".join(out)
