"""What the template integrations share: a rendered page checked for reflected XSS, defused in block mode.

:func:`check_page` takes what an engine rendered inside a request, asks
``protections._xss`` whether an input carrying markup reached it unescaped
and, if so, reports one event per input and request (the first attack
found; an included template's page is checked again in its parent's) and,
in block mode, returns the page with each offending input escaped in place
(the page still renders). The markup-carrying inputs of a request are
worked out once; a request with none (the common case) costs one lookup
per render.

Never raises: an error is logged once and the page goes out unchanged.
"""
import six

from sqreen import _attack_report, _log, _request
from sqreen.protections import _matching, _xss

_INPUTS_KEY = "xss_inputs"
_REPORTED_KEY = "xss_reported"


def candidates(request):
    """The request's inputs that carry markup (computed once per request and set of inputs)."""
    inputs = request.inputs()
    cached = request._cache.get(_INPUTS_KEY)
    if cached is None or cached[0] is not inputs:
        cached = request._cache[_INPUTS_KEY] = (inputs, _xss.markup_inputs(inputs))
    return cached[1]


def _report(request, attacks):
    reported = request._cache.setdefault(_REPORTED_KEY, set())
    for attack in attacks:
        if attack.input not in reported:
            reported.add(attack.input)
            _attack_report.defused(attack, request=request)
            return


def check_page(page, literals, since=0):
    """None when ``page`` goes out as it is; else the page to send instead (block mode).

    ``literals`` is a callable returning the templates' literal texts (called
    only on a suspicious find); only inputs found at or after ``since`` are
    judged (a streamed page: what was sent already cannot be changed).
    """
    try:
        request = _request.current()
        if request is None or not isinstance(page, (six.text_type, bytes)):
            return None
        markup = candidates(request)
        if not markup or not _matching.occurs(page[since:] if since else page, markup):
            return None
        attacks = [attack for attack in _xss.find_attacks(page, markup, literals)
                   if attack.detail["span"][0] >= since]
        if not attacks:
            return None
        _report(request, attacks)
        if not _attack_report.blocking():
            return None
        return _xss.neutralize(page, attacks)
    except Exception:
        _log.log_once("xss:check", "sqreen: XSS check of a rendered template failed; the page goes out",
                      exc_info=True)
        return None


def markup_now():
    """The current request's markup-carrying inputs (see :func:`candidates`); None outside a request."""
    try:
        request = _request.current()
        if request is None:
            return None
        inputs = request.inputs()  # candidates() inlined: a render hook asks on every render
        cached = request._cache.get(_INPUTS_KEY)
        if cached is None or cached[0] is not inputs:
            cached = request._cache[_INPUTS_KEY] = (inputs, _xss.markup_inputs(inputs))
        return cached[1]
    except Exception:
        _log.log_once("xss:inputs", "sqreen: cannot read the request's inputs for the XSS check",
                      exc_info=True)
        return None


def _checked_piece(sent, size, piece, markup, literals):
    try:
        if _matching.occurs(piece, markup):
            fixed = check_page(u"".join(sent + [piece]), literals, since=size)
            if fixed is not None:
                return type(piece)(fixed[size:])
    except Exception:
        _log.log_once("xss:stream", "sqreen: XSS check of a streamed template failed; the page goes out",
                      exc_info=True)
    return piece


def check_stream(pieces, literals):
    """Yield a streamed page's pieces, each checked with what was sent before it (see :func:`check_page`).

    Only a piece in which a markup-carrying input occurs costs more than a
    substring test; an input split across two pieces is not seen.
    """
    markup = markup_now()
    sent = []
    size = 0
    try:
        for piece in pieces:
            if markup and isinstance(piece, six.text_type):
                piece = _checked_piece(sent, size, piece, markup, literals)
                sent.append(piece)
                size += len(piece)
            yield piece
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
