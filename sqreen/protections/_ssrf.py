"""Server-side request forgery: a request input that points an outgoing request inside the network.

The app fetches a URL; the input is an attack when it decides where the
request goes (it spells the scheme, the port, or the host up to its end:
the whole URL, or the host part) and that place is internal: a loopback,
private, shared, link-local or unique-local address, a cloud metadata
endpoint, or the unspecified address. A scheme other than http and https
coming from an input (``file:``, ``gopher:``, ``dict:``) is flagged
whatever the host.

Parsers disagree on URLs, and attackers use the disagreement, so the host
is taken both as RFC 3986 reads it (urllib3, ``urllib``) and as the WHATWG
standard does (backslashes are slashes, any number of them), after tabs
and newlines are dropped and leading and trailing blanks stripped. Each
host is judged in its given, percent-decoded and NFKC forms, trailing dots
off; IP literals in every spelling ``inet_aton`` accepts are judged
without resolving, names by what the injected ``resolve`` function
(``socket.getaddrinfo`` by default) returns, any internal address
sufficing. The check resolves the name separately from the client that
will connect, so a name whose records change between the two (DNS
rebinding) can slip through here; the HTTP client integrations judge the
address actually connected where the client lets them
(``sqreen.integrations._ssrf_fetch``).
"""
import collections
import re
import socket
import unicodedata

import six
from six.moves.urllib.parse import unquote

from sqreen import _log
from sqreen.protections import _ipaddr
from sqreen.protections import _matching
from sqreen.protections._attack import Attack

ATTACK_TYPE = "ssrf"


#: Where a URL points, with the spans (start, end) in the URL as given.
Target = collections.namedtuple("Target", "scheme scheme_span host host_span port port_span")

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_WEB_SCHEMES = frozenset(("http", "https"))
#: Schemes the WHATWG parser gives an authority even without "//".
_SPECIAL_SCHEMES = frozenset(("http", "https", "ws", "wss", "ftp", "file"))
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_INTERNAL_NAMES = {"localhost": "loopback", "metadata.google.internal": "metadata", "metadata": "metadata"}
_FULL_STOPS = {0x3002: u".", 0xFF0E: u".", 0xFF61: u"."}


def _url_text(url):
    if isinstance(url, six.text_type):
        return url
    if isinstance(url, bytes):
        return url.decode("utf-8", "replace")
    return six.text_type(url)


def _cleaned(url):
    """The URL as parsers read it, and the position in ``url`` of each of its characters (and its end)."""
    start, end = 0, len(url)
    while start < end and url[start] <= u" ":
        start += 1
    while end > start and url[end - 1] <= u" ":
        end -= 1
    positions = [i for i in range(start, end) if url[i] not in u"\t\r\n"]
    positions.append(end)
    return u"".join(url[i] for i in positions[:-1]), positions


def _authority(clean, begin, stops):
    """Host and port spans of the authority starting at ``begin`` (in ``clean``)."""
    end = len(clean)
    for stop in stops:
        found = clean.find(stop, begin)
        if 0 <= found < end:
            end = found
    host_start = clean.rfind(u"@", begin, end) + 1 or begin
    if clean.startswith(u"[", host_start):
        close = clean.find(u"]", host_start, end)
        host_end = close + 1 if close >= 0 else end
    else:
        colon = clean.find(u":", host_start, end)
        host_end = colon if colon >= 0 else end
    port_start = host_end + 1 if host_end < end and clean[host_end] == u":" else end
    return (host_start, host_end), (port_start, end)


def targets(url):
    """The places ``url`` may point to, one per way of reading it (deduplicated). Never raises on text."""
    clean, positions = _cleaned(_url_text(url))
    match = _SCHEME.match(clean)
    if match is None:
        return []
    scheme = clean[:match.end() - 1].lower()
    rest = match.end()
    authorities = []
    if clean.startswith(u"//", rest):
        authorities.append(_authority(clean, rest + 2, u"/?#"))
    slashes = rest
    while slashes < len(clean) and clean[slashes] in u"/\\":
        slashes += 1
    if slashes - rest >= 2 or scheme in _SPECIAL_SCHEMES:
        authorities.append(_authority(clean, slashes, u"/\\?#"))

    def span(a, b):
        return (positions[a], positions[b - 1] + 1) if b > a else (positions[a], positions[a])

    out = []
    for (hs, he), (ps, pe) in authorities:
        port_text = clean[ps:pe]
        port = int(port_text) if port_text.isdigit() and len(port_text) <= 5 else _DEFAULT_PORTS.get(scheme)
        target = Target(scheme, span(0, match.end() - 1), clean[hs:he], span(hs, he), port, span(ps, pe))
        if target not in out:
            out.append(target)
    return out


def host_forms(host):
    """The spellings a client may end up resolving for ``host``: lowercase, trailing dots off."""
    forms = []
    decoded = unquote(host)
    normal = unicodedata.normalize("NFKC", decoded).translate(_FULL_STOPS)
    for form in (host, decoded, normal):
        form = form.lower().rstrip(u".")
        if form and form not in forms:
            forms.append(form)
    return forms


def _resolved_internal(name, port, resolve):
    try:
        infos = resolve(name, port)
    except (socket.error, UnicodeError, ValueError):
        return None  # a name that does not resolve cannot be fetched either
    for info in infos:
        address = info[4][0]
        literal = _ipaddr.classify_literal(address)
        if literal is not None and literal[0] is not None:
            return literal
    return None


def internal_address(host, port, resolve):
    """``(range label, address)`` when ``host`` points inside the network, else None."""
    forms = host_forms(host)
    names = []
    for form in forms:
        label = _INTERNAL_NAMES.get(form) or ("loopback" if form.endswith(u".localhost") else None)
        if label is not None:
            return label, form
        literal = _ipaddr.classify_literal(form)
        if literal is None:
            names.append(form)
        elif literal[0] is not None:
            return literal
    for name in names:
        if name.startswith(u"["):
            continue  # a broken IPv6 literal; no resolver takes it
        found = _resolved_internal(name, port, resolve)
        if found is not None:
            return found
    return None


def _overlaps(start, end, span):
    return start < span[1] and end > span[0]


def _decides(target, start, end):
    """True when the input at ``[start, end)`` spells the scheme, the port, or the host up to its end."""
    host_span = target.host_span
    return (
        (_overlaps(start, end, host_span) and end >= host_span[1])
        or _overlaps(start, end, target.port_span)
        or _overlaps(start, end, target.scheme_span)
    )


def _judge(target, start, end, resolve):
    """Why the input at ``[start, end)`` sends ``target`` somewhere it must not go, or None."""
    if _overlaps(start, end, target.scheme_span) and target.scheme not in _WEB_SCHEMES:
        return "scheme %s" % target.scheme, None
    if not _decides(target, start, end) or not target.host:
        return None
    found = internal_address(target.host, target.port, resolve)
    if found is None:
        return None
    return "internal address (%s)" % found[0], found[1]


def _placed(url, inputs):
    """``(input, start, end, target)`` for each place an input occurs in ``url`` (text), per reading."""
    occurrences = _matching.find_occurrences(url, inputs)
    if not occurrences:
        return
    found = targets(url)
    for item, start, end in occurrences:
        for target in found:
            yield item, start, end, target


def check_url(url, inputs, resolve=None):
    """An :class:`Attack` when a request input points ``url`` inside the network, else None.

    ``resolve(host, port)`` returns ``getaddrinfo``-shaped entries (default
    ``socket.getaddrinfo``); it is called only for names in a part of the
    URL an input spelled. Never raises.
    """
    if not inputs:
        return None
    try:
        resolve = resolve or socket.getaddrinfo
        url = _url_text(url)
        for item, start, end, target in _placed(url, inputs):
            verdict = _judge(target, start, end, resolve)
            if verdict is not None:
                detail = {"url": url, "host": target.host, "address": verdict[1]}
                return Attack(ATTACK_TYPE, item, verdict[0], detail)
        return None
    except Exception:
        _log.log_once("protections.ssrf", "SSRF check failed", exc_info=True)
        return None


def steering_input(url, inputs):
    """The request input that decides where ``url`` goes (see :func:`check_url`), else None.

    For the HTTP client integrations: a fetch an input steered to a public
    place is watched through its redirects and connections. Never raises.
    """
    if not inputs:
        return None
    try:
        for item, start, end, target in _placed(_url_text(url), inputs):
            if target.host and _decides(target, start, end):
                return item
        return None
    except Exception:
        _log.log_once("protections.ssrf.steering", "SSRF steering check failed", exc_info=True)
        return None
