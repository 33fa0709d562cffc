"""Client IP resolution: pure functions over environ dicts."""
import pytest

from sqreen import _clientip
from sqreen._config import parse_networks


def resolve(remote_addr="127.0.0.1", ip_header="", trusted="", **headers):
    environ = {"REMOTE_ADDR": remote_addr} if remote_addr is not None else {}
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    return _clientip.client_ip(environ, ip_header, parse_networks(trusted) if trusted else None)


@pytest.mark.parametrize("text, expected", [
    ("1.2.3.4", (4, 0x01020304)),
    (" 1.2.3.4 ", (4, 0x01020304)),
    ("1.2.3.4:8080", (4, 0x01020304)),
    ('"1.2.3.4"', (4, 0x01020304)),
    ("::1", (6, 1)),
    ("[::1]", (6, 1)),
    ("[::1]:443", (6, 1)),
    ('"[2001:db8::7]:4711"', (6, 0x20010DB8 << 96 | 7)),
    ("2001:DB8::7", (6, 0x20010DB8 << 96 | 7)),
    ("fe80::1%eth0", (6, 0xFE80 << 112 | 1)),
    ("::ffff:10.0.0.1", (4, 0x0A000001)),  # IPv4-mapped: counts as the IPv4 address
    ("", None),
    ("unknown", None),
    ("_hidden", None),
    ("1.2.3", None),
    ("1.2.3.256", None),
    ("[::1", None),
    ("2001:db8::1::2", None),
    ("example.com", None),
])
def test_parse_ip(text, expected):
    assert _clientip.parse_ip(text) == expected


@pytest.mark.parametrize("text, trusted", [
    ("127.0.0.1", True), ("127.255.0.9", True), ("10.1.2.3", True), ("172.16.0.1", True),
    ("172.31.255.255", True), ("172.32.0.1", False), ("192.168.1.1", True), ("192.169.1.1", False),
    ("169.254.1.1", True), ("8.8.8.8", False), ("::1", True), ("fd00::1", True), ("fe80::1", True),
    ("2001:db8::1", False), ("::ffff:192.168.0.1", True), ("::ffff:8.8.8.8", False),
])
def test_default_trusted_ranges(text, trusted):
    assert _clientip.in_networks(_clientip.parse_ip(text), _clientip.DEFAULT_TRUSTED) is trusted


def test_peer_address_without_headers():
    assert resolve("203.0.113.9") == "203.0.113.9"
    assert resolve("127.0.0.1") == "127.0.0.1"
    assert resolve("[2001:db8::1]") == "2001:db8::1"


def test_headers_from_an_untrusted_peer_are_ignored():
    assert resolve("203.0.113.9", X_FORWARDED_FOR="198.51.100.1") == "203.0.113.9"
    assert resolve("203.0.113.9", X_REAL_IP="198.51.100.1") == "203.0.113.9"


def test_x_forwarded_for_is_read_from_the_right():
    assert resolve(X_FORWARDED_FOR="198.51.100.1") == "198.51.100.1"
    assert resolve(X_FORWARDED_FOR="198.51.100.1, 10.0.0.2, 192.168.0.3") == "198.51.100.1"


def test_a_spoofed_left_most_entry_never_wins():
    # The client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the real address.
    assert resolve(X_FORWARDED_FOR="1.1.1.1, 198.51.100.1") == "198.51.100.1"
    assert resolve(X_FORWARDED_FOR="1.1.1.1, 198.51.100.1, 10.0.0.1") == "198.51.100.1"
    assert resolve(X_FORWARDED_FOR="127.0.0.1, 198.51.100.1") == "198.51.100.1"


def test_garbage_in_the_chain_stops_the_walk():
    assert resolve(X_FORWARDED_FOR="1.1.1.1, not-an-ip, 10.0.0.1") == "10.0.0.1"
    assert resolve(X_FORWARDED_FOR="not-an-ip") == "127.0.0.1"
    assert resolve(X_FORWARDED_FOR="") == "127.0.0.1"


def test_every_address_trusted_gives_the_left_most():
    assert resolve(X_FORWARDED_FOR="10.0.0.5, 10.0.0.6") == "10.0.0.5"


def test_forwarded_header():
    assert resolve(FORWARDED="for=198.51.100.17;proto=https;by=10.0.0.1") == "198.51.100.17"
    assert resolve(FORWARDED='for=1.1.1.1, for="[2001:db8:cafe::17]:4711"') == "2001:db8:cafe::17"
    assert resolve(FORWARDED='For="198.51.100.17:80", for=10.0.0.1') == "198.51.100.17"
    assert resolve(FORWARDED="for=unknown, for=10.0.0.1") == "10.0.0.1"
    assert resolve(FORWARDED='for="_secret", for=198.51.100.2') == "198.51.100.2"
    assert resolve(FORWARDED='proto=https;host="a;b,c";for=198.51.100.3') == "198.51.100.3"


def test_forwarded_wins_over_x_forwarded_for_which_wins_over_x_real_ip():
    assert resolve(FORWARDED="for=198.51.100.1", X_FORWARDED_FOR="198.51.100.2",
                   X_REAL_IP="198.51.100.3") == "198.51.100.1"
    assert resolve(X_FORWARDED_FOR="198.51.100.2", X_REAL_IP="198.51.100.3") == "198.51.100.2"
    assert resolve(X_REAL_IP="198.51.100.3") == "198.51.100.3"
    assert resolve(X_REAL_IP="[2001:db8::3]:99") == "2001:db8::3"


def test_configured_header_is_the_only_one_read():
    assert resolve(ip_header="CF-Connecting-IP", CF_CONNECTING_IP="198.51.100.9",
                   X_FORWARDED_FOR="198.51.100.2") == "198.51.100.9"
    assert resolve(ip_header="cf-connecting-ip", X_FORWARDED_FOR="198.51.100.2") == "127.0.0.1"


def test_configured_trusted_proxies_replace_the_defaults():
    # A public load balancer range is trusted; private addresses no longer are.
    assert resolve("203.0.113.10", trusted="203.0.113.0/24",
                   X_FORWARDED_FOR="198.51.100.4, 203.0.113.11") == "198.51.100.4"
    assert resolve("203.0.113.10", trusted="203.0.113.0/24",
                   X_FORWARDED_FOR="198.51.100.4, 10.0.0.1") == "10.0.0.1"
    assert resolve("127.0.0.1", trusted="203.0.113.0/24", X_FORWARDED_FOR="198.51.100.4") == "127.0.0.1"


def test_ipv6_chain():
    assert resolve("::1", X_FORWARDED_FOR="2001:db8::66, fd00::1") == "2001:db8::66"
    assert resolve("::1", X_FORWARDED_FOR="2001:DB8::66") == "2001:db8::66"


def test_no_peer_address():
    assert resolve(None, X_FORWARDED_FOR="198.51.100.1") == "198.51.100.1"
    assert resolve(None) is None
    assert resolve("") is None


def test_unparseable_peer_falls_back_to_the_headers_walk():
    # Unix sockets: some servers give an empty or a path REMOTE_ADDR.
    assert resolve("/run/app.sock", X_FORWARDED_FOR="198.51.100.1, 10.0.0.1") == "198.51.100.1"


def test_split_forwarded():
    assert _clientip.split_forwarded('for=a;by=b, FOR="c,d", proto=http') == ["a", "c,d"]
    assert _clientip.split_forwarded("") == []
