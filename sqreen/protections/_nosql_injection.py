"""NoSQL (MongoDB) injection: a request input that changes the structure of a filter, update or pipeline.

Two ways an input bends a MongoDB operation:

* an **operator from the request**: the app meant a value, the attacker sent
  an object (``{"$ne": null}`` in a JSON body, ``username[$ne]=x`` in a query
  or form that the app parses into nested dicts) and that operator, with the
  same value, reaches the filter, update or pipeline. The request's operators
  are the keys of its JSON body that are operator names (``$`` then letters
  and digits) and the ``$name`` segments of query, form and cookie names
  (``a[$ne]``, ``a.$ne``); the operation's operators are its dict keys. A
  plain value equal to an input is never an attack, nor a ``$`` inside a
  string (``"price: $5"``), nor an operator the app wrote itself: the
  request must have sent that operator with that value;
* **JavaScript** the server runs (``$where``, ``$function``'s ``body``,
  ``$accumulator``'s functions, ``mapReduce``'s ``map`` / ``reduce`` /
  ``finalize``) that contains an input which is not held by one string,
  number or name of the code (:mod:`~sqreen.protections._js_lexer`): the
  input closed a string, added operators or statements.

Without any operator in the request and without JavaScript in the
operation, the check is a walk over the operation's documents.
"""
from __future__ import unicode_literals

import bisect
import json

import six

from sqreen import _log
from sqreen.protections import _js_lexer as lexer
from sqreen.protections import _matching
from sqreen.protections._attack import Attack

ATTACK_TYPE = "nosqli"
#: Bounds on the walk of an operation and of a JSON body (an attacker-shaped document cannot make it spin).
MAX_DEPTH = 64
MAX_NODES = 20000
#: The JavaScript-holding keys of ``$function`` and ``$accumulator``, and of the mapReduce command.
_JS_FIELDS = {"$function": ("body",), "$accumulator": ("init", "accumulate", "merge", "finalize")}
_MAP_REDUCE = ("map", "reduce", "finalize")
#: Sources whose input names may spell an operator (``user[$ne]``).
_NAMED_SOURCES = ("query", "form", "cookie")


def is_operator(key):
    """True for a MongoDB operator name: ``$`` followed by letters and digits."""
    return (isinstance(key, six.string_types) and len(key) > 1 and key[0] == "$"
            and key[1:].isalnum() and key[1].isalpha())


def _name_operator(name):
    """The last operator segment of an input name (``user[$ne]``, ``user.$ne``), else None."""
    if "$" not in name:
        return None
    found = None
    for part in name.replace("]", "[").replace(".", "[").split("["):
        if is_operator(part):
            found = part
    return found


def request_operators(inputs, body=None):
    """``[(source, name, operator, value, from_json)]``: each operator the request sent.

    ``inputs`` are the request's ``(source, name, value)``; ``body`` its
    parsed JSON body (None when there is none), walked for operator keys
    whatever their value (``null`` included, which the inputs leave out).
    """
    found = []
    for source, name, value in inputs:
        if source in _NAMED_SOURCES and isinstance(name, six.string_types):
            operator = _name_operator(name)
            if operator is not None:
                found.append((source, name, operator, value, False))
    if isinstance(body, (dict, list)):
        _json_operators(body, found)
    return found


def _json_operators(body, found):
    for key, value, _, node in _walk([body]):
        if is_operator(key):
            found.append(("json", dotted(node), key, value, True))


def _same_text(value, text):
    return _matching.as_text(value) == text


def _matches(value, sent, from_json):
    """True when an operation's operator value is the one the request sent."""
    if from_json:
        return value == sent and (type(value) is bool) == (type(sent) is bool)
    text = _matching.as_text(sent)
    if text is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(_same_text(v, text) for v in value)
    if isinstance(value, dict):
        return any(_same_text(v, text) for v in value.values())
    return _same_text(value, text)


def _walk(docs):
    """``(key, value, parent, node)`` for every dict item in ``docs``, depth first, bounded.

    ``node`` is ``(parent's node, key)``, turned into a dotted path by :func:`dotted` only when needed.
    """
    containers = (dict, list, tuple)
    stack, nodes = [(doc, None, 0) for doc in reversed(docs) if isinstance(doc, containers)], 0
    while stack and nodes < MAX_NODES:
        item, node, depth = stack.pop()
        nodes += 1
        if depth >= MAX_DEPTH:
            continue
        if isinstance(item, dict):
            children = []
            for key, value in item.items():
                child = (node, key)
                yield key, value, item, child
                if isinstance(value, containers):
                    children.append((value, child, depth + 1))
            stack.extend(reversed(children))
        else:
            stack.extend(reversed([(v, (node, i), depth + 1) for i, v in enumerate(item)
                                   if isinstance(v, containers)]))


def dotted(node):
    """The dotted path (``a.$in.0``) of a :func:`_walk` node."""
    parts = []
    while node is not None:
        node, key = node
        parts.append(six.text_type(key))
    return ".".join(reversed(parts))


def javascript(key, value, parent, command=False):
    """``[(operator, code)]``: the JavaScript held by the dict item ``key: value``."""
    if key == "$where" and isinstance(value, six.string_types):
        return [(key, value)]
    fields = _JS_FIELDS.get(key)
    if fields and isinstance(value, dict):
        return [(key, value[f]) for f in fields if isinstance(value.get(f), six.string_types)]
    if command and key in _MAP_REDUCE and isinstance(value, six.string_types):
        return [("mapReduce", value)]
    return []


def check(docs, inputs, body=None, operators=None):
    """None, or the :class:`~sqreen.protections._attack.Attack` of an input that bends ``docs``.

    ``docs`` are the operation's documents (filter, update, pipeline stages,
    a command), ``inputs`` the request's ``(source, name, value)`` and
    ``body`` its parsed JSON body (``operators``: :func:`request_operators` of
    both, when the caller kept them). Never raises: an error is logged once
    and the operation is let through.
    """
    try:
        if operators is None:
            operators = request_operators(inputs, body)
        return _check(docs, inputs, operators)
    except Exception:
        _log.log_once("protections.nosql_injection", "NoSQL injection check failed; operation let through",
                      exc_info=True)
        return None


def _check(docs, inputs, operators):
    by_name = {}
    for sent in operators:
        by_name.setdefault(sent[2], []).append(sent)
    commands = set(id(doc) for doc in docs if isinstance(doc, dict) and _is_map_reduce(doc))
    for key, value, parent, node in _walk(docs):
        if not isinstance(key, six.string_types):
            continue
        if key[:1] != "$" and not (commands and key in _MAP_REDUCE):
            continue
        for sent in by_name.get(key, ()):
            if _matches(value, sent[3], sent[4]):
                return _operator_attack(sent, dotted(node))
        for operator, code in javascript(key, value, parent, id(parent) in commands):
            attack = check_javascript(code, inputs, operator, dotted(node))
            if attack is not None:
                return attack
    return None


def _is_map_reduce(doc):
    """True for a mapReduce command (its name is the first key; plain dicts on 2.7 have no order)."""
    return "mapReduce" in doc or "mapreduce" in doc


def _operator_attack(sent, path):
    source, name, operator, value, from_json = sent
    shown = json.dumps({operator: value}, default=repr, sort_keys=True) if from_json else value
    return Attack(ATTACK_TYPE, (source, name, shown), "operator from the request",
                  {"operator": operator, "path": path})


BENDS, IN_LITERAL, DATA = "bends", "in_literal", "data"
_DELIMITERS = ("'", '"', "`", "$", "/")


def check_javascript(code, inputs, operator="$where", path=None):
    """The Attack of the first input that bends the JavaScript ``code``, else None.

    A value made of letters, digits and underscores only is left out before
    lexing: wherever it occurs, it is inside one name, number, string or
    comment, never across two tokens.
    """
    occurrences = [o for o in _matching.find_occurrences(code, inputs)
                   if not code[o[1]:o[2]].replace("_", "a").isalnum()]
    if not occurrences:
        return None
    tokens = lexer.tokenize(code)
    starts = [t[1] for t in tokens]
    flagged, cleared = [], set()
    for item, start, end in occurrences:
        key = id(item)
        if key in cleared:
            continue
        verdict = judge(code, tokens, start, end, starts)
        if verdict == IN_LITERAL:
            cleared.add(key)
        elif verdict == BENDS:
            flagged.append((item, start, end))
    for item, start, end in flagged:
        if id(item) not in cleared:
            detail = {"operator": operator, "span": [start, end],
                      "javascript": lexer.mask(code, tokens=tokens)}
            if path:
                detail["path"] = path
            return Attack(ATTACK_TYPE, item, "input bends server-side JavaScript", detail)
    return None


def judge(code, tokens, start, end, starts=None):
    """How ``code[start:end]`` sits among ``tokens``: ``BENDS``, ``IN_LITERAL`` or ``DATA``.

    ``starts`` (the tokens' start offsets) lets it look at the tokens the span touches only.
    """
    first = bisect.bisect_right(starts if starts is not None else [t[1] for t in tokens], start) - 1
    touched = []
    for tok in tokens[max(first, 0):]:
        if tok[1] >= end:
            break
        if tok[2] > start and tok[0] != lexer.WS:
            touched.append(tok)
    if not touched:
        return DATA
    if len(touched) == 1:
        kind, _, tok_end, body_start, body_end = touched[0]
        if kind in (lexer.NUMBER, lexer.IDENT):
            return DATA
        if kind in (lexer.STRING, lexer.TEMPLATE, lexer.REGEX):
            if body_start <= start and end <= body_end and not _open_escape(code, touched[0], end):
                return IN_LITERAL
            return BENDS
        if kind == lexer.COMMENT:
            return DATA if body_start <= start and end <= body_end and "*/" not in code[start:end] else BENDS
        return BENDS
    if _signed_number(code, touched, start) or _dotted_name(code, touched):
        return DATA
    return BENDS


def _open_escape(code, tok, end):
    """True when the input ends with a backslash that escapes the code's closing delimiter."""
    if code[end:end + 1] not in _DELIMITERS:
        return False
    run = end
    while run > tok[3] and code[run - 1] == "\\":
        run -= 1
    return (end - run) % 2 == 1


def _signed_number(code, touched, start):
    if len(touched) != 2:
        return False
    sign, number = touched
    return (sign[0] == lexer.PUNCT and number[0] == lexer.NUMBER and sign[2] == number[1]
            and start == sign[1] and code[start] in "+-")


def _dotted_name(code, touched):
    if len(touched) % 2 == 0:
        return False
    for i, tok in enumerate(touched):
        if i % 2 == 0 and tok[0] != lexer.IDENT:
            return False
        if i % 2 == 1 and (tok[0] != lexer.PUNCT or code[tok[1]:tok[2]] != "."):
            return False
        if i and touched[i - 1][2] != tok[1]:
            return False
    return True
