"""IP address literals read the way resolvers and URL parsers read them, and where they point.

An SSRF payload rarely spells 127.0.0.1 plainly: ``inet_aton`` (which
``getaddrinfo`` uses for numeric hosts) and the WHATWG URL parser both take
``2130706433``, ``0x7f.1``, ``0177.0.0.1`` or ``127.1``, and IPv6 embeds IPv4
addresses in several ways. This module parses all of those into integers
without the ``ipaddress`` module (missing on Python 2.7) and names the
internal range an address falls in. Parsers return None for what is not an
address; nothing here raises on text.
"""

from sqreen import _ipparse

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DEC_DIGITS = frozenset("0123456789")
_OCT_DIGITS = frozenset("01234567")


def _ipv4_part(text):
    """One inet_aton part: decimal, octal (leading 0) or hex (0x); None if malformed."""
    if not text or len(text.lstrip("0xX")) > 11:  # above 2**32 anyway (and int() of huge text is slow)
        return None
    if text[:2] in ("0x", "0X"):
        digits = text[2:]
        return int(digits, 16) if digits and set(digits) <= _HEX_DIGITS else None
    if text[0] == "0" and len(text) > 1:
        return int(text, 8) if set(text) <= _OCT_DIGITS else None
    return int(text) if set(text) <= _DEC_DIGITS else None


def parse_ipv4(host):
    """The address ``host`` spells as an int (every inet_aton form), else None.

    One trailing dot is allowed, as URL hosts allow it.
    """
    if host.endswith("."):
        host = host[:-1]
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        value = _ipv4_part(part)
        if value is None:
            return None
        values.append(value)
    last = values.pop()
    for value in values:
        if value > 0xFF:
            return None
    if last >= 1 << (8 * (4 - len(values))):
        return None
    address = 0
    for value in values:
        address = (address << 8) | value
    return (address << (8 * (4 - len(values)))) | last


def parse_ipv6(host):
    """The address ``host`` spells as an int (brackets and a ``%zone`` allowed), else None."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return _ipparse.ipv6(host.split("%", 1)[0])


def _v4(a, b, c, d, bits):
    return ((a << 24) | (b << 16) | (c << 8) | d, 32 - bits)


# (network, host bits, label); the first match wins, so single addresses come first.
_IPV4_RANGES = (
    (_v4(169, 254, 169, 254, 32), "metadata"),
    (_v4(100, 100, 100, 200, 32), "metadata"),
    (_v4(0, 0, 0, 0, 8), "unspecified"),
    (_v4(127, 0, 0, 0, 8), "loopback"),
    (_v4(10, 0, 0, 0, 8), "private"),
    (_v4(172, 16, 0, 0, 12), "private"),
    (_v4(192, 168, 0, 0, 16), "private"),
    (_v4(100, 64, 0, 0, 10), "shared"),
    (_v4(169, 254, 0, 0, 16), "link-local"),
    (_v4(255, 255, 255, 255, 32), "broadcast"),
)

_IPV6_METADATA = parse_ipv6("fd00:ec2::254")


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), else None."""
    high96 = address >> 32
    if high96 in (0xFFFF, 0) and address > 1:  # ::ffff:a.b.c.d and the old ::a.b.c.d
        return address & 0xFFFFFFFF
    if high96 == 0x0064FF9B << 64:  # 64:ff9b::/96, NAT64
        return address & 0xFFFFFFFF
    if address >> 112 == 0x2002:  # 2002:aabb:ccdd::/48, 6to4
        return (address >> 80) & 0xFFFFFFFF
    return None


def classify_ipv4(address):
    """The internal range label of an IPv4 int (e.g. "loopback"), or None for a public one."""
    for (network, host_bits), label in _IPV4_RANGES:
        if address >> host_bits == network >> host_bits:
            return label
    return None


def classify_ipv6(address):
    """The internal range label of an IPv6 int, judging an embedded IPv4 by its own ranges."""
    if address == 0:
        return "unspecified"
    if address == 1:
        return "loopback"
    if address == _IPV6_METADATA:
        return "metadata"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify_ipv4(embedded)
    if address >> 118 == 0x3FA:  # fe80::/10
        return "link-local"
    if address >> 118 == 0x3FB:  # fec0::/10, the old site-local
        return "private"
    if address >> 121 == 0x7E:  # fc00::/7
        return "unique-local"
    return None


def classify_literal(host):
    """``(label, address_text)`` when ``host`` is an IP literal, else None.

    The label is None for a public address. ``address_text`` is the literal
    as given, for the attack report.
    """
    v4 = parse_ipv4(host)
    if v4 is not None:
        return classify_ipv4(v4), host
    v6 = parse_ipv6(host)
    if v6 is not None:
        return classify_ipv6(v6), host
    return None
