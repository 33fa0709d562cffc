"""The IP blocklist and allowlist at request start, with IPv6 ranges: the lists user monitoring relies on."""
import pytest

import sqreen
from sqreen import wsgi
from tests.web.conftest import make_environ, serve


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.mark.parametrize("client, blocked", [
    ("2001:db8:1::42", True),
    ("[2001:db8:1:ffff::1]:443", True),
    ("2001:db8:2::1", False),
    ("::ffff:192.0.2.77", True),  # IPv4-mapped: the IPv4 range applies
    ("192.0.2.77", True),
    ("192.0.3.1", False),
])
def test_cidr_blocklist_v4_and_v6(agent, client, blocked):
    agent.configure(mode="block", ip_blocklist="2001:db8:1::/48, 192.0.2.0/24")
    served = serve(wsgi.middleware(hello), make_environ(headers={"X-Forwarded-For": client}))
    assert served.status == ("403 Forbidden" if blocked else "200 OK")
    assert len(agent.attacks()) == (1 if blocked else 0)


def test_an_ipv6_allowlisted_client_is_neither_counted_nor_refused_at_login(agent):
    agent.configure(mode="block", ip_allowlist="2001:db8:9::/64", ato_max_failures_per_ip="1")
    results = []

    def login(environ, start_response):
        results.append(sqreen.auth_track(False, username="bob"))
        return hello(environ, start_response)

    for _ in range(3):
        served = serve(wsgi.middleware(login), make_environ(headers={"X-Forwarded-For": "2001:db8:9::5"}))
        assert served.status == "200 OK"
    assert results == [True] * 3
    assert [e["kind"] for e in agent.events] == ["auth"] * 3  # recorded, never flagged
