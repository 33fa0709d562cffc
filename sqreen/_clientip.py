"""The client's IP address, from the peer address and the proxy headers.

A proxy appends the address it received the request from, so a chain of
addresses is read from the right: the peer address first, then each
header entry leftwards, skipping the proxies we trust; the first untrusted
address is the client. Everything left of it was written by that client and
may be forged, so a spoofed left-most entry never wins. When the peer
itself is not a trusted proxy, the headers are not read at all.

Headers, first present one wins: the configured ``ip_header`` (then the only
one read), else ``Forwarded`` (RFC 7239, ``for=`` parameters), else
``X-Forwarded-For``, else ``X-Real-IP``. IPv4 and IPv6, with the brackets
and ports proxies add. Pure functions over plain values.
"""
from sqreen._config import ConfigError, parse_network

#: Loopback, private, link-local and unique-local ranges: the default trusted proxies.
DEFAULT_TRUSTED = tuple(parse_network(text) for text in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10",
))

#: WSGI keys of the standard headers, in order of preference.
STANDARD_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")


def parse_ip(text):
    """``(version, int)`` for an address as proxies write it, or None when it is not one.

    Accepts ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]``, ``[::1]:80`` and
    quoted forms; an IPv4-mapped IPv6 address counts as the IPv4 address.
    """
    text = address_text(text)
    if not text:
        return None
    try:
        version, value, _ = parse_network(text)
    except ConfigError:
        return None
    if version == 6 and value >> 32 == 0xFFFF:
        return 4, value & 0xFFFFFFFF
    return version, value


def address_text(text):
    """The bare address in ``text`` (quotes, brackets, port and zone removed), or "" if none."""
    text = text.strip().strip('"').strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return ""
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    return text.partition("%")[0] if ":" in text else text


def in_networks(ip, networks):
    """True when the parsed ``ip`` lies in one of ``networks`` (``(version, int, prefix)`` triples)."""
    version, value = ip
    for net_version, net, length in networks:
        if net_version != version:
            continue
        shift = (32 if version == 4 else 128) - length
        if value >> shift == net >> shift:
            return True
    return False


def split_forwarded(value):
    """The ``for=`` values of a ``Forwarded`` header, left to right (unknown or hidden ones kept)."""
    found = []
    for element in _split_outside_quotes(value, ","):
        for pair in _split_outside_quotes(element, ";"):
            name, sep, param = pair.partition("=")
            if sep and name.strip().lower() == "for":
                found.append(param.strip().strip('"'))
    return found


def _split_outside_quotes(text, sep):
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def header_chain(environ, ip_header=""):
    """The addresses the proxy headers list, left to right (``[]`` when none is present)."""
    if ip_header:
        keys = ("HTTP_" + ip_header.upper().replace("-", "_"),)
    else:
        keys = STANDARD_HEADERS
    for key in keys:
        value = environ.get(key)
        if not value:
            continue
        if key == "HTTP_FORWARDED":
            return split_forwarded(value)
        return [item.strip() for item in value.split(",")]
    return []


def pick(chain, trusted):
    """The client's address in ``chain`` (left to right, the peer last), as text, or None.

    Walks from the right past trusted addresses; stops at the first
    untrusted one. An entry that is not an address ends the walk too (what is
    left of it cannot be trusted): the last good address seen then wins.
    When every address is trusted the left-most one is the client.
    """
    best = None
    for entry in reversed(chain):
        ip = parse_ip(entry)
        if ip is None:
            break
        best = address_text(entry).lower()
        if not in_networks(ip, trusted):
            break
    return best


def client_ip(environ, ip_header="", trusted=None):
    """The client's IP address for the WSGI ``environ``, as text, or None when unknown.

    ``trusted`` is a list of ``(version, int, prefix)`` networks (default:
    :data:`DEFAULT_TRUSTED`); ``ip_header`` the configured header, if any.
    """
    if not trusted:
        trusted = DEFAULT_TRUSTED
    peer = environ.get("REMOTE_ADDR") or ""
    peer_ip = parse_ip(peer) if peer else None
    if peer_ip is not None and not in_networks(peer_ip, trusted):
        return address_text(peer).lower()
    chain = header_chain(environ, ip_header)
    if peer_ip is not None:
        chain.append(peer)
    return pick(chain, trusted)
