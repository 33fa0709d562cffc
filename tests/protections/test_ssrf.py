"""SSRF: payload URLs given whole or as the host part, and public URLs a naive check would flag.

Names go through a fake resolver table; nothing is resolved or contacted.
"""
import socket

import pytest

from sqreen import _log
from sqreen.protections._ssrf import check_url

TABLE = {
    "internal.corp": ["10.1.2.3"],
    "db.internal.corp": ["172.20.0.7"],
    "localtest.me": ["127.0.0.1"],
    "rebind.attacker.net": ["93.184.215.14", "127.0.0.1"],
    "v6only.attacker.net": ["::1"],
    "meta.attacker.net": ["169.254.169.254"],
    "acme.svc.cluster.local": ["10.96.0.10"],
    "example.com": ["93.184.215.14"],
    "api.example.com": ["93.184.215.14"],
    "127.0.0.1.example.com": ["93.184.215.14"],
    "10.0.0.1.example.com": ["93.184.215.14"],
    "localhost.example.com": ["93.184.215.14"],
    "metadata.example.com": ["93.184.215.14"],
    "2130706433.example.com": ["93.184.215.14"],
    "dual.example.com": ["93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946"],
}


class FakeResolver(object):
    """getaddrinfo over TABLE, recording the names asked."""

    def __init__(self):
        self.asked = []

    def __call__(self, host, port, *args):
        self.asked.append(host)
        if host not in TABLE:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (address, port))
            for address in TABLE[host]
        ]


def inputs(value):
    return [("query", "url", value), ("header", "accept", "text/html"), ("cookie", "lang", "en")]


def check(template, value, resolver=None):
    return check_url(template % value, inputs(value), resolve=resolver or FakeResolver())


WHOLE_URL_ATTACKS = [
    "http://127.0.0.1/admin", "http://localhost/admin", "http://LOCALHOST:8080/", "http://foo.localhost/",
    "http://0/", "http://0.0.0.0:8080/", "http://[::]/", "http://[::1]:22/", "http://127.0.0.1:6379/",
    "http://10.0.0.5/", "http://192.168.1.1/", "http://172.16.0.1/", "http://172.31.255.255/",
    "http://100.64.1.1/", "http://[fe80::1%25eth0]/", "http://[fc00::1]/",
    "http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/", "http://2130706433/", "http://017700000001/", "http://0x7f000001/",
    "http://0x7f.1/", "http://127.1/", "http://127.0.1/", "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:169.254.169.254]/", "http://[64:ff9b::a9fe:a9fe]/",
    "http://127.0.0.1./", "http://user:pass@127.0.0.1/", "http://good.com@127.0.0.1/",
    "http://good.com\\@127.0.0.1/", "http://127.0.0.1\\@good.com/", "http:\\\\127.0.0.1\\x",
    "http:/127.0.0.1/", "http:127.0.0.1/", "  http://127.0.0.1/", "http://127.0.\t0.1/",
    "http://%31%32%37.0.0.1/", u"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
    u"http://127\u30020\u30020\u30021/",
    "file:///etc/passwd", "FILE:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO", "dict://127.0.0.1:11211/stat",
    "ftp://ftp.example.com/", "http://internal.corp/", "http://localtest.me/", "http://rebind.attacker.net/",
    "http://v6only.attacker.net/", "https://meta.attacker.net/latest/",
]

HOST_PART_ATTACKS = [
    ("http://%s/api", "127.0.0.1"),
    ("https://%s:8443/", "10.0.0.1"),
    ("http://%s/status", "internal.corp"),
    ("http://%s/status", "db.internal.corp"),
    ("http://127.0.0.1:%s/", "6379"),
    ("https://api.example.com%s", "@127.0.0.1/"),
    ("https://%s.example.com/", "127.0.0.1#"),
    ("https://%s.example.com/", "127.0.0.1/"),
    ("%s://internal.corp/", "gopher"),
]


@pytest.mark.parametrize("url", WHOLE_URL_ATTACKS)
def test_whole_url_from_input(url):
    attack = check("%s", url)
    assert attack is not None and attack.attack_type == "ssrf"
    assert attack.input == ("query", "url", url)


@pytest.mark.parametrize("template,value", HOST_PART_ATTACKS)
def test_host_part_from_input(template, value):
    assert check(template, value) is not None


def test_reasons_name_the_range():
    assert check("%s", "http://0x7f.1/").reason == "internal address (loopback)"
    assert check("%s", "http://[fd00:ec2::254]/").reason == "internal address (metadata)"
    assert check("%s", "http://internal.corp/").detail["address"] == "10.1.2.3"
    assert check("%s", "gopher://example.com/").reason == "scheme gopher"


PUBLIC_URLS = [
    "https://example.com/", "http://93.184.215.14/", "https://8.8.8.8/", "http://[2606:4700::1111]/",
    "https://example.com/?redirect=http://localhost/", "https://example.com/localhost",
    "https://example.com/#127.0.0.1", "https://example.com/?ip=127.0.0.1&h=169.254.169.254",
    "https://example.com/169.254.169.254",
    "https://127.0.0.1@example.com/", "https://localhost:pw@example.com/",
    "https://example.com:8080/", "http://1.1.1.1/", "http://2130706433.example.com/",
    "http://127.0.0.1.example.com/", "http://10.0.0.1.example.com/", "https://localhost.example.com/",
    "https://metadata.example.com/", "http://172.32.0.1/", "http://11.0.0.1/", "http://100.128.0.1/",
    "http://169.255.1.1/", "http://[2002:808:808::]/",
    "http://[::ffff:8.8.8.8]/", "http://[64:ff9b::808:808]/",
    "http://134744072/", "http://0x08080808/", "http://[2001:db8::1]/", "https://dual.example.com/",
    "http://nonexistent.invalid/", "https://example.com/path?x=@127.0.0.1", "HTTPS://EXAMPLE.COM/",
    "https://example.com./", "http://0x7f.example.invalid/",
]

APP_BUILT = [
    ("https://api.example.com/search?q=%s", "localhost"),
    ("https://api.example.com/search?q=%s", "127.0.0.1"),
    ("https://api.example.com/search?q=%s", "http://169.254.169.254/"),
    ("https://api.example.com/search?q=%s", "file:///etc/passwd"),
    ("https://api.example.com/search?q=%s", "gopher://x"),
    ("https://api.example.com/users/%s", "127.0.0.1"),
    ("https://api.example.com/users/%s", "..@127.0.0.1"),
    ("http://localhost:8080/internal?user=%s", "alice@example.com"),
    ("http://127.0.0.1:9200/index/_search?q=%s", "name:bob"),
    ("http://%s.svc.cluster.local/", "acme"),
    ("https://example.com/%s", "localhost"),
    ("%s://example.com/", "https"),
    ("https://%s/", "example.com"),
    ("https://%s/", "api.example.com"),
    ("https://api.example.com/%s", "#@127.0.0.1"),
]


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_url_from_input(url):
    assert check("%s", url) is None


@pytest.mark.parametrize("template,value", APP_BUILT)
def test_input_outside_scheme_host_and_port(template, value):
    assert check(template, value) is None


def test_literals_are_never_resolved_and_quiet_urls_not_at_all():
    resolver = FakeResolver()
    literals = (
        "http://127.0.0.1/", "http://0x7f.1/", "http://[::1]/", "http://8.8.8.8/", "http://localhost/")
    for url in literals:
        check("%s", url, resolver)
    check("https://example.com/?q=%s", "internal.corp", resolver)
    assert resolver.asked == []


def test_default_resolver_is_getaddrinfo_at_call_time(monkeypatch):
    resolver = FakeResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    assert check_url("http://internal.corp/", inputs("http://internal.corp/")) is not None
    assert resolver.asked == ["internal.corp"]


def test_no_inputs_or_no_occurrence():
    assert check_url("http://127.0.0.1/", [], resolve=FakeResolver()) is None
    assert check_url("http://127.0.0.1/", inputs("unrelated"), resolve=FakeResolver()) is None


def test_bytes_url():
    assert check_url(b"http://127.0.0.1/", inputs("http://127.0.0.1/"), resolve=FakeResolver()) is not None


def test_resolver_errors_are_logged_once_and_never_raised():
    def broken(host, port, *args):
        raise RuntimeError("boom")

    _log.reset()
    assert check_url("http://internal.corp/", inputs("http://internal.corp/"), resolve=broken) is None
    assert _log.counters().get("protections.ssrf") == 1
