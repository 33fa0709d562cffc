"""Strict IP address literals as integers: dotted-quad IPv4 and IPv6 text forms.

Shared by the configuration (CIDR lists), the client-IP reader and the SSRF
protection's address reader. Only ASCII digits count (``str.isdigit`` also
takes other scripts' digits). Nothing here raises on text: what is not an
address gives None. Python 2.7 has no ``ipaddress`` module.
"""

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DEC_DIGITS = frozenset("0123456789")


def dotted_ipv4(text):
    """The address a strict dotted quad spells (four decimal parts of 0-255), else None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    address = 0
    for part in parts:
        if not part or not set(part) <= _DEC_DIGITS or len(part) > 3 or int(part) > 255:
            return None
        address = (address << 8) | int(part)
    return address


def _hextets(text):
    """The 16-bit groups of one side of ``::``; None if malformed."""
    if not text:
        return []
    out = []
    groups = text.split(":")
    for index, group in enumerate(groups):
        if "." in group and index == len(groups) - 1:
            v4 = dotted_ipv4(group)
            if v4 is None:
                return None
            out.extend((v4 >> 16, v4 & 0xFFFF))
        elif 1 <= len(group) <= 4 and set(group) <= _HEX_DIGITS:
            out.append(int(group, 16))
        else:
            return None
    return out


def ipv6(text):
    """The address an IPv6 text form spells (``::`` and a trailing dotted quad allowed), else None."""
    if ":" not in text or text.count("::") > 1:
        return None
    if "::" in text:
        head, tail = text.split("::")
        left, right = _hextets(head), _hextets(tail)
        if left is None or right is None or len(left) + len(right) > 7:
            return None
        groups = left + [0] * (8 - len(left) - len(right)) + right
    else:
        groups = _hextets(text)
        if groups is None or len(groups) != 8:
            return None
    address = 0
    for group in groups:
        address = (address << 16) | group
    return address
